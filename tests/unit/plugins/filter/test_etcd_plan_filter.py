import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodgrade.kubernetes.plugins.filter.etcd_plan import (
    FilterModule,
    etcd_plan,
)

# What a role passes: node_list-shaped dictionaries plus the etcd variables.
ROLE_HOSTS = [
    {"host": "cp1", "name": "cp-1", "ip": "192.0.2.1", "reliability": 1, "data_dirs": []},
    {"host": "cp2", "name": "cp-2", "ip": "192.0.2.2", "reliability": 9, "failure_domain": "b"},
    {"host": "cp3", "name": "cp-3", "ip": "192.0.2.3", "reliability": 0, "failure_domain": None},
]

HOSTVARS = {
    "cp1": {"prodgrade_node_name": "cp-1", "prodgrade_node_ip": "192.0.2.1"},
    "cp2": {
        "prodgrade_node_name": "cp-2",
        "prodgrade_node_ip": "192.0.2.2",
        "etcd_reliability": 10,
        "etcd_data_dirs": ["/srv/d1/etcd", "/srv/d2/etcd", "/srv/d3/etcd"],
        "failure_domain": "rack2",
    },
    "bare": {"ansible_host": "192.0.2.7"},
}


def test_registered_under_its_name():
    assert FilterModule().filters() == {"etcd_plan": etcd_plan}


def test_role_dictionaries_give_the_plan():
    plan = etcd_plan(ROLE_HOSTS, member_count=None)
    assert plan["member_count"] == 3
    assert plan["topology"] == "spread"
    assert plan["hosts"] == ["cp1", "cp2", "cp3"]
    assert [m["name"] for m in plan["members"]] == ["etcd-cp-1", "etcd-cp-2", "etcd-cp-3"]
    assert plan["initial_cluster"] == (
        "etcd-cp-1=https://192.0.2.1:2380,"
        "etcd-cp-2=https://192.0.2.2:2380,"
        "etcd-cp-3=https://192.0.2.3:2380"
    )
    assert sorted(plan) == sorted(
        [
            "members",
            "member_count",
            "quorum",
            "failure_tolerance",
            "topology",
            "lab_grade",
            "hosts",
            "initial_cluster",
            "reasons",
            "warnings",
        ]
    )


def test_host_names_are_read_from_hostvars():
    plan = etcd_plan(["cp1", "cp2"], HOSTVARS)
    assert plan["topology"] == "two-hosts-one-side"
    assert [(m["name"], m["host"], m["data_dir"]) for m in plan["members"]] == [
        ("etcd-cp-2-1", "cp2", "/srv/d1/etcd"),
        ("etcd-cp-2-2", "cp2", "/srv/d2/etcd"),
        ("etcd-cp-2-3", "cp2", "/srv/d3/etcd"),
    ]
    assert "all 3 members on cp2 (etcd_reliability 10)" in plan["reasons"][1]


def test_whole_numbers_written_as_strings_are_numbers():
    # -e etcd_member_count=1 and INI/extra-var reliabilities arrive as strings.
    hosts = [dict(h, reliability=str(h["reliability"])) for h in ROLE_HOSTS]
    plan = etcd_plan(hosts, member_count=" 1 ")
    assert plan["member_count"] == 1
    assert plan["hosts"] == ["cp2"]


@pytest.mark.parametrize(
    ("member_count", "expected"),
    [
        (4, "4 members need 3 for quorum and survive 1 failure, the same as 3 members"),
        ("4", "Use an odd count: 3 or 5."),
        (9, "etcd recommends at most 7"),
        ("three", "etcd_member_count must be a whole number"),
        (5, "etcd_member_count=5 but there are only 3 etcd hosts"),
    ],
)
def test_refusals_fail_with_the_planner_message(member_count, expected):
    with pytest.raises(AnsibleFilterError, match=expected):
        etcd_plan(ROLE_HOSTS, member_count=member_count)


def test_bad_host_input_fails_with_the_planner_message():
    hosts = [dict(ROLE_HOSTS[0], data_dirs=["relative"])]
    with pytest.raises(AnsibleFilterError, match="etcd_data_dirs entry 'relative' is not an"):
        etcd_plan(hosts)
    with pytest.raises(AnsibleFilterError, match="there are no etcd hosts"):
        etcd_plan([])


def test_host_without_preflight_facts_says_to_run_preflight():
    with pytest.raises(AnsibleFilterError, match=r"run the prodgrade\.kubernetes\.preflight"):
        etcd_plan(["cp1", "bare"], HOSTVARS)


def test_host_names_without_hostvars_say_to_pass_them():
    with pytest.raises(AnsibleFilterError, match=r"etcd_plan\(hostvars\)"):
        etcd_plan(["cp1"])


@pytest.mark.parametrize("hosts", ["cp1", {"host": "cp1"}, None, 3])
def test_input_that_is_not_a_list_is_refused(hosts):
    with pytest.raises(AnsibleFilterError, match="takes a list of etcd hosts"):
        etcd_plan(hosts)
