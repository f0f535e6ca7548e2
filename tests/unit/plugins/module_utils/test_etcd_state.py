import pytest

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import plan_etcd
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (
    EtcdStateError,
    join_settings,
    minor_release,
    parse_inspection,
    start_plan,
)

PLAN = plan_etcd([{"host": f"cp{i}", "name": f"cp-{i}", "ip": f"192.0.2.{i}"} for i in (1, 2, 3)])
NAMES = ["etcd-cp-1", "etcd-cp-2", "etcd-cp-3"]


def inspected(data=(), states=None, release="3.5.16", hosts=("cp1", "cp2", "cp3")):
    """Inspection results: ``data`` names the members with data; ``states`` their config state."""
    states = states or {}
    result = {}
    for member in PLAN["members"]:
        if member["host"] not in hosts:
            continue
        name = member["name"]
        state = states.get(name, "existing" if name in data else "none")
        result[member["host"]] = parse_inspection(
            [f"release {release}", f"member {name} {'yes' if name in data else 'no'} {state}"]
        )
    return result


def listed(*members):
    """An ``etcdctl member list -w json`` document: (name, peer URL, learner) triples."""
    return {
        "members": [
            {"ID": 0x1000 + i, "name": name, "peerURLs": [url], "isLearner": learner}
            for i, (name, url, learner) in enumerate(members)
        ]
    }


def url(i):
    return f"https://192.0.2.{i}:2380"


def test_parse_inspection():
    lines = [
        "release 3.4.23",
        "missing etcdctl",
        "unit etcd@a.service enabled active",
        "member a yes new",
        "member b no none",
        "",
    ]
    assert parse_inspection(lines) == {
        "release": "3.4.23",
        "missing": ["etcdctl"],
        "units": {"etcd@a.service": ("enabled", "active")},
        "members": {"a": {"data": True, "state": "new"}, "b": {"data": False, "state": "none"}},
    }
    assert parse_inspection(["release none"])["release"] is None
    with pytest.raises(EtcdStateError, match="unexpected line"):
        parse_inspection(["sh: etcd: not found"])


def test_minor_release():
    assert minor_release("3.5.16") == "3.5"
    assert minor_release("3.4.23+dfsg") == "3.4"
    assert minor_release(None) is None
    assert minor_release("unknown") is None


def test_fresh_hosts_bootstrap_a_new_cluster_together():
    start = start_plan(PLAN, inspected())
    assert start["mode"] == "bootstrap"
    assert start["bootstrap"] == NAMES
    assert start["states"] == dict.fromkeys(NAMES, "new")
    assert start["join"] == []
    assert start["needs_membership"] is True
    assert start["query_host"] == "cp1"


def test_steady_cluster_needs_nobody_asked():
    start = start_plan(PLAN, inspected(data=NAMES))
    assert start["mode"] == "existing"
    assert start["states"] == dict.fromkeys(NAMES, "existing")
    assert start["bootstrap"] == start["join"] == []
    assert start["needs_membership"] is False


def test_a_wiped_member_joins_the_existing_cluster():
    start = start_plan(PLAN, inspected(data=NAMES[:2]))
    assert start["mode"] == "existing"
    assert start["join"] == ["etcd-cp-3"]
    assert "etcd-cp-3" not in start["states"]
    assert start["needs_membership"] is True


def test_an_unfinished_bootstrap_goes_on_as_a_bootstrap():
    # cp1 started in a first run that failed before the cluster was healthy; nobody answers.
    start = start_plan(PLAN, inspected(data=NAMES[:1], states={"etcd-cp-1": "new"}))
    assert start["mode"] == "bootstrap"
    assert start["states"] == dict.fromkeys(NAMES, "new")
    assert start["bootstrap"] == NAMES


def test_an_unfinished_bootstrap_that_formed_a_cluster_is_joined():
    members = listed(
        ("etcd-cp-1", url(1), False), ("etcd-cp-2", url(2), False), ("", url(3), False)
    )
    start = start_plan(
        PLAN,
        inspected(data=NAMES[:2], states=dict.fromkeys(NAMES[:2], "new")),
        membership=members,
    )
    assert start["mode"] == "existing"
    assert start["states"] == dict.fromkeys(NAMES[:2], "existing")
    assert start["join"] == ["etcd-cp-3"]


def test_a_cluster_that_answers_is_joined_even_by_fresh_hosts():
    # Every host in the play is fresh, but the cluster runs elsewhere (members moved hosts).
    members = listed(("etcd-cp-1", url(1), False))
    start = start_plan(PLAN, inspected(), membership=members)
    assert start["mode"] == "existing"
    assert start["join"] == NAMES


def test_learners_of_the_plan_are_promoted():
    members = listed(("etcd-cp-1", url(1), False), ("etcd-cp-2", url(2), True), ("x", url(9), True))
    start = start_plan(PLAN, inspected(data=NAMES[:2]), membership=members)
    assert start["promote"] == ["etcd-cp-2"]


def test_a_new_cluster_refuses_members_outside_the_play():
    with pytest.raises(EtcdStateError, match=r"etcd-cp-3 are not in this run.*--limit"):
        start_plan(PLAN, inspected(hosts=("cp1", "cp2")))


def test_an_existing_cluster_runs_with_members_outside_the_play():
    start = start_plan(PLAN, inspected(data=NAMES[:2], hosts=("cp1", "cp2")))
    assert start["mode"] == "existing"
    assert start["not_inspected"] == ["etcd-cp-3"]
    assert start["join"] == []


def test_mixed_minor_releases_are_refused():
    found = inspected(data=NAMES)
    found["cp3"]["release"] = "3.4.23"
    expected = r"3\.4: cp3 \(3\.4\.23\); 3\.5: cp1 \(3\.5\.16\), cp2"
    with pytest.raises(EtcdStateError, match=expected):
        start_plan(PLAN, found)


def test_patch_releases_may_differ():
    found = inspected(data=NAMES)
    found["cp3"]["release"] = "3.5.17"
    assert start_plan(PLAN, found)["releases"]["cp3"] == "3.5.17"


def test_join_settings_before_and_after_the_add():
    joiner = PLAN["members"][2]
    before = listed(("etcd-cp-1", url(1), False), ("etcd-cp-2", url(2), False))
    settings = join_settings(joiner, before, PLAN)
    assert settings["present"] is False
    assert settings["member_id"] is None
    assert settings["initial_cluster"] == PLAN["initial_cluster"]

    after = listed(("etcd-cp-1", url(1), False), ("etcd-cp-2", url(2), False), ("", url(3), True))
    settings = join_settings(joiner, after, PLAN)
    assert settings == {
        "present": True,
        "member_id": "1002",
        "is_learner": True,
        "initial_cluster": PLAN["initial_cluster"],
    }


def test_join_initial_cluster_is_the_membership_not_the_plan():
    # Joining the second member of a one-member cluster: the third is not a member yet.
    joiner = PLAN["members"][1]
    membership = listed(("etcd-cp-1", url(1), False), ("", url(2), True))
    assert join_settings(joiner, membership, PLAN)["initial_cluster"] == (
        f"etcd-cp-1={url(1)},etcd-cp-2={url(2)}"
    )


def test_join_refuses_an_unknown_member_that_never_started():
    membership = listed(("etcd-cp-1", url(1), False), ("", "https://198.51.100.9:2380", False))
    with pytest.raises(EtcdStateError, match="member remove"):
        join_settings(PLAN["members"][2], membership, PLAN)
