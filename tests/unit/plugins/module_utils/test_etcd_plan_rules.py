# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the etcd topology rules in plugins/module_utils/etcd_plan.py."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import (
    EtcdPlanError,
    default_member_count,
    failure_tolerance,
    plan_etcd,
    quorum,
    spread,
    url,
)


def inventory(count, **per_host):
    """``count`` valid etcd hosts h0, h1, ... in inventory order; ``per_host`` maps a key to
    a list of values, one per host (None: leave the key out)."""
    hosts = []
    for index in range(count):
        host = {"host": f"h{index}", "name": f"n{index}", "ip": f"192.0.2.{index + 1}"}
        for key, values in per_host.items():
            if values[index] is not None:
                host[key] = values[index]
        hosts.append(host)
    return hosts


def refused(hosts, member_count=None):
    with pytest.raises(EtcdPlanError) as info:
        plan_etcd(hosts, member_count)
    return str(info.value)


def member_hosts(plan):
    return [member["host"] for member in plan["members"]]


# --- arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "needed", "tolerated"),
    [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (6, 4, 2), (7, 4, 3)],
)
def test_quorum_is_a_majority_and_tolerance_what_is_left(count, needed, tolerated):
    assert quorum(count) == needed
    assert failure_tolerance(count) == tolerated


def test_ipv6_urls_have_brackets():
    assert url("192.0.2.1", 2379) == "https://192.0.2.1:2379"
    assert url("2001:db8::1", 2380) == "https://[2001:db8::1]:2380"


# --- default counts by host count --------------------------------------------------------------


def test_no_hosts_is_refused():
    message = refused([])
    assert "there are no etcd hosts" in message
    assert "put at least one host in the etcd group" in message


@pytest.mark.parametrize(
    ("hosts", "count", "topology", "lab_grade", "members_on"),
    [
        (1, 1, "single-member", True, ["h0"]),
        (2, 3, "two-hosts-one-side", False, ["h0", "h0", "h0"]),
        (3, 3, "spread", False, ["h0", "h1", "h2"]),
        (4, 3, "spread", False, ["h0", "h1", "h2"]),
        (5, 5, "spread", False, ["h0", "h1", "h2", "h3", "h4"]),
        (6, 5, "spread", False, ["h0", "h1", "h2", "h3", "h4"]),
        (7, 5, "spread", False, ["h0", "h1", "h2", "h3", "h4"]),
        (9, 5, "spread", False, ["h0", "h1", "h2", "h3", "h4"]),
    ],
)
def test_default_count_and_placement_by_host_count(hosts, count, topology, lab_grade, members_on):
    plan = plan_etcd(inventory(hosts))
    assert default_member_count(hosts) == count
    assert plan["member_count"] == count
    assert plan["quorum"] == count // 2 + 1
    assert plan["failure_tolerance"] == (count - 1) // 2
    assert plan["topology"] == topology
    assert plan["lab_grade"] is lab_grade
    assert member_hosts(plan) == members_on
    assert plan["hosts"] == sorted(set(members_on))


def test_default_count_reasons_name_the_rule():
    assert plan_etcd(inventory(4))["reasons"][0].startswith(
        "3 members: the largest odd count that 4 hosts hold one per host"
    )
    assert plan_etcd(inventory(9))["reasons"][0].startswith("5 members: the best size for 9 hosts")
    assert plan_etcd(inventory(2))["reasons"][0].startswith("3 members: the production minimum")


# --- 1 host ----------------------------------------------------------------------------------


def test_one_host_gets_one_lab_grade_member():
    plan = plan_etcd(inventory(1))
    assert plan["members"] == [
        {
            "name": "etcd-n0",
            "host": "h0",
            "node_name": "n0",
            "ip": "192.0.2.1",
            "client_port": 2379,
            "peer_port": 2380,
            "client_url": "https://192.0.2.1:2379",
            "peer_url": "https://192.0.2.1:2380",
            "data_dir": "/var/lib/etcd/etcd-n0",
        }
    ]
    assert plan["initial_cluster"] == "etcd-n0=https://192.0.2.1:2380"
    (warning,) = plan["warnings"]
    assert warning.startswith("lab-grade: a single etcd member has no fault tolerance")
    assert "This is a lab, not production" in warning
    assert "etcd_member_count=3" in warning


def test_one_host_single_member_uses_its_first_data_dir():
    plan = plan_etcd(inventory(1, data_dirs=[["/srv/a/etcd", "/srv/b/etcd"]]))
    assert plan["members"][0]["data_dir"] == "/srv/a/etcd"


def test_one_host_three_members_on_their_own_disks():
    dirs = ["/srv/disk1/etcd", "/srv/disk2/etcd/", "/srv/disk3/etcd"]
    plan = plan_etcd(inventory(1, data_dirs=[dirs]), 3)
    assert plan["topology"] == "one-host"
    assert plan["lab_grade"] is True
    assert [
        (m["name"], m["client_port"], m["peer_port"], m["data_dir"]) for m in plan["members"]
    ] == [
        ("etcd-n0-1", 2379, 2380, "/srv/disk1/etcd"),
        ("etcd-n0-2", 2479, 2480, "/srv/disk2/etcd"),
        ("etcd-n0-3", 2579, 2580, "/srv/disk3/etcd"),
    ]
    assert plan["initial_cluster"] == (
        "etcd-n0-1=https://192.0.2.1:2380,"
        "etcd-n0-2=https://192.0.2.1:2480,"
        "etcd-n0-3=https://192.0.2.1:2580"
    )
    assert any("use its etcd_data_dirs, one each" in reason for reason in plan["reasons"])
    assert not any("share one disk" in warning for warning in plan["warnings"])
    assert any(w.startswith("lab-grade: all 3 members are on h0") for w in plan["warnings"])


def test_one_host_several_members_without_data_dirs_share_a_disk_with_a_warning():
    plan = plan_etcd(inventory(1), 5)
    assert [m["data_dir"] for m in plan["members"]] == [
        f"/var/lib/etcd/etcd-n0-{i}" for i in range(1, 6)
    ]
    assert [m["client_port"] for m in plan["members"]] == [2379, 2479, 2579, 2679, 2779]
    (shared,) = [w for w in plan["warnings"] if "share one disk" in w]
    assert "one disk failure loses them all" in shared
    assert "compete for fsync latency" in shared


def test_one_host_seven_members_stay_on_distinct_ports():
    plan = plan_etcd(inventory(1), 7)
    ports = [m["client_port"] for m in plan["members"]] + [m["peer_port"] for m in plan["members"]]
    assert len(set(ports)) == 14
    assert max(ports) == 2980


def test_too_few_data_dirs_for_the_members_of_a_host_is_refused():
    message = refused(inventory(1, data_dirs=[["/srv/a", "/srv/b"]]), 3)
    assert message == (
        "3 members on h0 but only 2 etcd_data_dirs (/srv/a, /srv/b): give each member its own "
        "disk and list at least 3 directories, one per disk."
    )


# --- 2 hosts ---------------------------------------------------------------------------------


def test_two_hosts_put_all_three_members_on_the_more_reliable_host():
    plan = plan_etcd(inventory(2, reliability=[1, 10]))
    assert member_hosts(plan) == ["h1", "h1", "h1"]
    assert [m["name"] for m in plan["members"]] == ["etcd-n1-1", "etcd-n1-2", "etcd-n1-3"]
    assert plan["hosts"] == ["h1"]
    assert plan["topology"] == "two-hosts-one-side"
    placement = plan["reasons"][1]
    assert placement.startswith("all 3 members on h1 (etcd_reliability 10), the more reliable")
    assert "a split such as 2+1 gains nothing" in placement
    assert "losing the host with the majority loses quorum either way" in placement
    assert any(
        r.startswith("h0 gets no etcd member: it still runs the control-plane components")
        for r in plan["reasons"]
    )
    assert any(w.startswith("h1 holds every etcd member") for w in plan["warnings"])


def test_two_equally_reliable_hosts_take_the_first_in_the_inventory_and_say_so():
    plan = plan_etcd(inventory(2, reliability=[3, 3]))
    assert member_hosts(plan) == ["h0", "h0", "h0"]
    assert any("equally reliable" in r and "first in the inventory" in r for r in plan["reasons"])


def test_two_hosts_single_member_is_lab_grade():
    plan = plan_etcd(inventory(2, reliability=[None, 2]), 1)
    assert plan["topology"] == "single-member"
    assert plan["lab_grade"] is True
    assert [(m["name"], m["host"]) for m in plan["members"]] == [("etcd-n1", "h1")]
    assert any(w.startswith("lab-grade: a single etcd member") for w in plan["warnings"])
    assert any("leave etcd_member_count unset for 3 members" in w for w in plan["warnings"])


@pytest.mark.parametrize("count", [3, 5, 7])
def test_two_hosts_asked_count_stays_on_one_host(count):
    plan = plan_etcd(inventory(2, reliability=[7, 2]), count)
    assert member_hosts(plan) == ["h0"] * count
    assert plan["lab_grade"] is False
    assert plan["reasons"][0].startswith(f"{count} members: set by etcd_member_count")


def test_two_hosts_data_dirs_rule_applies_only_to_the_chosen_host():
    plan = plan_etcd(inventory(2, reliability=[0, 1], data_dirs=[["/srv/x"], None]))
    assert all(m["data_dir"].startswith("/var/lib/etcd/") for m in plan["members"])
    message = refused(inventory(2, reliability=[1, 0], data_dirs=[["/srv/x"], None]))
    assert message.startswith("3 members on h0 but only 1 etcd_data_dirs (/srv/x)")


# --- 3+ hosts ----------------------------------------------------------------------------------


def test_most_reliable_hosts_are_chosen_and_members_keep_inventory_order():
    plan = plan_etcd(inventory(4, reliability=[0, 5, 5, 9]))
    assert member_hosts(plan) == ["h1", "h2", "h3"]
    assert any(r.startswith("no member on h0:") for r in plan["reasons"])


def test_six_hosts_in_two_domains_spread_three_and_two():
    domains = ["a", "a", "a", "b", "b", "b"]
    plan = plan_etcd(inventory(6, failure_domain=domains), 5)
    chosen = member_hosts(plan)
    assert chosen == ["h0", "h1", "h2", "h3", "h4"]
    assert "2 of 2 failure domains covered" in plan["reasons"][1]
    assert (
        "losing failure domain a loses 3 members (h0, h1, h2): more than the 2 the cluster "
        "tolerates, so quorum is lost" in plan["warnings"][0]
    )
    assert plan["warnings"][1].startswith(
        "losing failure domain b loses 2 members (h3, h4): the cluster tolerates 2"
    )


def hosts_of(raw):
    """Hosts with the planner's defaults filled in, as ``spread`` takes them."""
    return [
        {
            "reliability": 0,
            "data_dirs": [],
            **host,
            "failure_domain": host.get("failure_domain", host["host"]),
        }
        for host in raw
    ]


def test_domains_come_before_reliability():
    hosts = inventory(
        5, reliability=[9, 8, 1, 0, 0], failure_domain=["rack1", "rack1", "rack2", "rack3", "rack3"]
    )
    assert member_hosts(plan_etcd(hosts)) == ["h0", "h1", "h2", "h3", "h4"]
    plan = plan_etcd(hosts, 3)
    # h1 (reliability 8) loses to h2 and h3: rack1 already has a member.
    assert member_hosts(plan) == ["h0", "h2", "h3"]
    assert plan["warnings"] == []
    assert "3 of 3 failure domains covered" in plan["reasons"][1]


def test_domains_are_visited_in_the_order_of_their_best_host():
    hosts = inventory(5, reliability=[0, 0, 1, 9, 0], failure_domain=["r1", "r1", "r2", "r3", "r3"])
    assert [h["host"] for h in spread(hosts_of(hosts), 5)] == ["h3", "h2", "h0", "h4", "h1"]
    assert member_hosts(plan_etcd(hosts, 1)) == ["h3"]


def test_within_a_domain_the_most_reliable_host_goes_first():
    hosts = inventory(4, reliability=[1, 7, 3, 0], failure_domain=["x", "x", "y", "y"])
    assert member_hosts(plan_etcd(hosts)) == ["h0", "h1", "h2"]
    assert [h["host"] for h in spread(hosts_of(hosts), 3)] == ["h1", "h2", "h0"]


def test_all_hosts_in_one_domain_warn_that_the_domain_takes_the_cluster():
    plan = plan_etcd(inventory(3, failure_domain=["room"] * 3))
    assert "1 of 1 failure domain covered" in plan["reasons"][1]
    (warning,) = plan["warnings"]
    assert warning.startswith("losing failure domain room loses 3 members (h0, h1, h2)")
    assert "quorum is lost" in warning


def test_numeric_failure_domains_are_names():
    plan = plan_etcd(inventory(3, failure_domain=[1, 1, 2]))
    assert any(w.startswith("losing failure domain 1 loses 2 members") for w in plan["warnings"])


def test_single_member_on_many_hosts_goes_to_the_most_reliable():
    plan = plan_etcd(inventory(5, reliability=[0, 0, 4, 0, 0]), 1)
    assert [(m["name"], m["host"], m["client_port"]) for m in plan["members"]] == [
        ("etcd-n2", "h2", 2379)
    ]
    assert plan["topology"] == "single-member"
    assert plan["lab_grade"] is True
    assert any("leave etcd_member_count unset for 5 members" in w for w in plan["warnings"])


@pytest.mark.parametrize(("hosts", "count"), [(3, 3), (5, 3), (7, 7), (9, 7), (9, 5)])
def test_asked_count_is_one_member_per_host(hosts, count):
    plan = plan_etcd(inventory(hosts), count)
    assert plan["member_count"] == count
    assert len(set(member_hosts(plan))) == count
    assert all(m["client_port"] == 2379 and m["peer_port"] == 2380 for m in plan["members"])
    assert all(re.fullmatch(r"etcd-n\d", m["name"]) for m in plan["members"])


def test_spread_member_uses_its_hosts_first_data_dir():
    plan = plan_etcd(inventory(3, data_dirs=[["/srv/d1/etcd", "/srv/d2/etcd"], [], None]))
    assert [m["data_dir"] for m in plan["members"]] == [
        "/srv/d1/etcd",
        "/var/lib/etcd/etcd-n1",
        "/var/lib/etcd/etcd-n2",
    ]


def test_more_members_than_hosts_is_refused_when_there_are_three_or_more():
    message = refused(inventory(3), 5)
    assert message == (
        "etcd_member_count=5 but there are only 3 etcd hosts: with 3 or more hosts each member "
        "gets its own host, and putting two members on one host means losing that host loses "
        "two votes. Use 3 or fewer, or add hosts to the etcd group."
    )
    assert "Use 5 or fewer" in refused(inventory(6), 7)


def test_ipv6_members():
    hosts = inventory(3, ip=["2001:db8::1", "2001:DB8:0::2", "192.0.2.3"])
    plan = plan_etcd(hosts)
    assert [m["peer_url"] for m in plan["members"]] == [
        "https://[2001:db8::1]:2380",
        "https://[2001:db8::2]:2380",
        "https://192.0.2.3:2380",
    ]


# --- member_count refusals ---------------------------------------------------------------------


def test_even_count_explains_the_quorum_arithmetic():
    message = refused(inventory(5), 4)
    assert message.startswith("etcd_member_count=4 is even: ")
    assert "4 members need 3 for quorum and survive 1 failure, the same as 3 members" in message
    assert "6 survive 2 like 5" in message
    assert message.endswith("Use an odd count: 3 or 5.")


@pytest.mark.parametrize(
    ("count", "arithmetic", "options"),
    [
        (2, "2 members need 2 for quorum and survive 0 failures, the same as 1 member", "1 or 3"),
        (6, "6 members need 4 for quorum and survive 2 failures, the same as 5 members", "5 or 7"),
    ],
)
def test_every_even_count_is_refused(count, arithmetic, options):
    for hosts in (1, 2, 9):
        message = refused(inventory(hosts), count)
        assert arithmetic in message
        assert message.endswith(f"Use an odd count: {options}.")


@pytest.mark.parametrize("count", [8, 9, 11])
def test_more_than_seven_is_refused(count):
    message = refused(inventory(9), count)
    assert message == (
        f"etcd_member_count={count}: more than 7 members slow every write (each needs a "
        "majority to acknowledge) for no practical gain; etcd recommends at most 7. "
        "Use 3, 5 or 7."
    )


@pytest.mark.parametrize("count", [0, -1, -3])
def test_zero_or_negative_is_refused(count):
    message = refused(inventory(3), count)
    assert message.startswith(f"etcd_member_count={count}: etcd needs at least one member.")


@pytest.mark.parametrize("count", [True, "3", 3.0, [3]])
def test_count_that_is_not_a_whole_number_is_refused(count):
    assert refused(inventory(3), count).startswith(
        "etcd_member_count must be a whole number (1, 3, 5 or 7)"
    )


# --- input validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        (None, "the etcd hosts must be a list of dictionaries"),
        ("h0", "the etcd hosts must be a list of dictionaries"),
        ({"host": "h0"}, "the etcd hosts must be a list of dictionaries"),
        (["h0"], "etcd host #1 is 'h0', not a mapping"),
        ([{"name": "n0", "ip": "192.0.2.1"}], "etcd host #1 has no host"),
        ([{"host": "h0", "ip": "192.0.2.1"}], "h0 has no name"),
        ([{"host": "h0", "name": "a/b", "ip": "192.0.2.1"}], "h0: node name 'a/b' cannot"),
        ([{"host": "h0", "name": "a=b", "ip": "192.0.2.1"}], "set node_name to letters"),
        ([{"host": "h0", "name": "n0"}], "h0 has no ip"),
        ([{"host": "h0", "name": "n0", "ip": ""}], "Run prodgrade.kubernetes.preflight first"),
        ([{"host": "h0", "name": "n0", "ip": "cp1.example"}], "is not an IPv4 or IPv6"),
        ([{"host": "h0", "name": "n0", "ip": 3221225985}], "ip must be an IPv4 or IPv6"),
        ([{"host": "h0", "name": "n0", "ip": "0.0.0.0"}], "is the unspecified address"),
        ([{"host": "h0", "name": "n0", "ip": "fe80::1%eth0"}], "carries a zone"),
        (
            [{"host": "h0", "name": "n0", "ip": "192.0.2.1", "reliabilty": 3}],
            "h0 has unknown keys reliabilty",
        ),
    ],
)
def test_malformed_hosts_are_refused(hosts, expected):
    assert expected in refused(hosts)


@pytest.mark.parametrize("reliability", ["high", "3", 1.5, True, [1]])
def test_reliability_must_be_a_whole_number(reliability):
    message = refused(inventory(3, reliability=[0, reliability, 0]))
    assert message.startswith("h1: etcd_reliability must be a whole number")


def test_negative_reliability_is_allowed():
    assert member_hosts(plan_etcd(inventory(2, reliability=[-1, -5]))) == ["h0"] * 3


@pytest.mark.parametrize(
    ("data_dirs", "expected"),
    [
        ("/srv/etcd", "h0: etcd_data_dirs must be a list of absolute paths"),
        ({"a": "/srv"}, "h0: etcd_data_dirs must be a list of absolute paths"),
        (["srv/etcd"], "h0: etcd_data_dirs entry 'srv/etcd' is not an absolute path"),
        ([None], "h0: etcd_data_dirs entry None is not an absolute path"),
        (["/srv/etcd", "/srv/etcd/"], "h0: etcd_data_dirs lists /srv/etcd more than once"),
    ],
)
def test_data_dirs_must_be_distinct_absolute_paths(data_dirs, expected):
    assert refused(inventory(3, data_dirs=[data_dirs, None, None])).startswith(expected)


def test_failure_domain_must_be_a_name():
    assert "h2: failure_domain must be a name" in refused(
        inventory(3, failure_domain=[None, None, ["rack"]])
    )


def test_duplicate_hosts_are_refused():
    hosts = inventory(3)
    hosts[2]["host"] = "h0"
    assert refused(hosts) == "etcd hosts listed more than once: h0. List each inventory host once."


def test_duplicate_addresses_are_refused_in_any_spelling():
    hosts = inventory(3, ip=["2001:db8::1", "192.0.2.2", "2001:DB8:0:0::1"])
    assert refused(hosts) == (
        "Addresses used by more than one etcd host: 2001:db8::1 (h0, h2). Each etcd member "
        "needs its own address: set node_ip per host to that host's address."
    )


def test_duplicate_node_names_are_refused():
    hosts = inventory(3, name=["cp", "cp", "other"])
    message = refused(hosts)
    assert message.startswith("Node names used by more than one etcd host: cp (h0, h1).")
    assert "set node_name per host" in message


def test_input_is_not_modified():
    hosts = inventory(3, data_dirs=[["/a/"], None, []], reliability=[None, 2, None])
    snapshot = copy.deepcopy(hosts)
    plan_etcd(hosts)
    assert hosts == snapshot


# --- properties --------------------------------------------------------------------------------

DIR_POOL = [f"/srv/disk{i}/etcd" for i in range(9)]


@st.composite
def inventories(draw):
    # 1 and 2 hosts have their own rules: draw them more often than 1 in 9.
    count = draw(st.one_of(st.integers(1, 2), st.integers(1, 9)))
    domain_count = draw(st.integers(1, 4))
    hosts = []
    for index in range(count):
        host = {"host": f"host{index}", "name": f"node-{index}"}
        host["ip"] = draw(st.sampled_from([f"10.0.{index}.1", f"fd00::{index + 1:x}"]))
        if draw(st.booleans()):
            host["reliability"] = draw(st.integers(-3, 5))
        if draw(st.booleans()):
            host["failure_domain"] = f"zone{draw(st.integers(0, domain_count - 1))}"
        dirs = draw(st.one_of(st.none(), st.lists(st.sampled_from(DIR_POOL), unique=True)))
        if dirs is not None:
            host["data_dirs"] = dirs
        hosts.append(host)
    return hosts


def expected_refusal(hosts, member_count):
    """Why the rules refuse this request, or None; computed without the planner."""
    if member_count is not None and (member_count % 2 == 0 or member_count > 7):
        return "count"
    if member_count is not None and len(hosts) >= 3 and member_count > len(hosts):
        return "hosts"
    if len(hosts) <= 2:
        count = member_count or (1 if len(hosts) == 1 else 3)
        target = max(hosts, key=lambda h: h.get("reliability", 0))  # first of the best
        dirs = target.get("data_dirs") or []
        if count > 1 and dirs and len(dirs) < count:
            return "data_dirs"
    return None


def domain_of(host):
    return host.get("failure_domain", host["host"])


@settings(max_examples=300, deadline=None)
@given(
    hosts=inventories(),
    member_count=st.sampled_from([None, 1, 2, 3, 4, 5, 7, 8, 9]),
)
def test_plan_properties(hosts, member_count):
    why = expected_refusal(hosts, member_count)
    if why is not None:
        with pytest.raises(EtcdPlanError):
            plan_etcd(hosts, member_count)
        return
    plan = plan_etcd(hosts, member_count)
    members = plan["members"]
    count = plan["member_count"]
    by_name = {h["host"]: h for h in hosts}

    # Count: odd, 1..7, as asked or the default, and the arithmetic.
    assert count % 2 == 1
    assert 1 <= count <= 7
    assert count == (member_count or default_member_count(len(hosts)))
    assert len(members) == count
    assert plan["quorum"] == count // 2 + 1
    assert plan["failure_tolerance"] == (count - 1) // 2
    assert plan["quorum"] + plan["failure_tolerance"] == count

    used = [m["host"] for m in members]
    assert plan["hosts"] == sorted(set(used))
    if len(hosts) >= 3:
        assert len(set(used)) == count
        domains = {domain_of(h) for h in hosts}
        assert len({domain_of(by_name[h]) for h in used}) == min(count, len(domains))
        # Within each domain, the chosen hosts are its most reliable ones.
        for domain in domains:
            ranked = sorted(
                (h for h in hosts if domain_of(h) == domain),
                key=lambda h: -h.get("reliability", 0),
            )
            chosen = [h["host"] for h in ranked if h["host"] in used]
            assert chosen == [h["host"] for h in ranked[: len(chosen)]]
    else:
        assert len(set(used)) == 1
        best = max(h.get("reliability", 0) for h in hosts)
        first_best = next(h for h in hosts if h.get("reliability", 0) == best)
        assert used[0] == first_best["host"]

    # Topology and lab grade.
    if count == 1:
        assert plan["topology"] == "single-member"
    else:
        assert plan["topology"] == {1: "one-host", 2: "two-hosts-one-side"}.get(
            len(hosts), "spread"
        )
    assert plan["lab_grade"] is (count == 1 or len(hosts) == 1)

    # Names, ports and data dirs.
    assert len({m["name"] for m in members}) == count
    endpoints = [(m["host"], m["client_port"]) for m in members]
    endpoints += [(m["host"], m["peer_port"]) for m in members]
    assert len(set(endpoints)) == 2 * count
    assert len({(m["host"], m["data_dir"]) for m in members}) == count
    for host in set(used):
        mine = [m for m in members if m["host"] == host]
        node = by_name[host]["name"]
        dirs = by_name[host].get("data_dirs") or []
        if len(mine) == 1:
            assert mine[0]["name"] == f"etcd-{node}"
            assert (mine[0]["client_port"], mine[0]["peer_port"]) == (2379, 2380)
            assert mine[0]["data_dir"] == (dirs[0] if dirs else f"/var/lib/etcd/etcd-{node}")
        else:
            for i, member in enumerate(mine):
                assert member["name"] == f"etcd-{node}-{i + 1}"
                assert member["client_port"] == 2379 + 100 * i
                assert member["peer_port"] == 2380 + 100 * i
                assert member["data_dir"] == (
                    dirs[i] if dirs else f"/var/lib/etcd/{member['name']}"
                )
            shares = any(f"members on {host} share one disk" in w for w in plan["warnings"])
            assert shares is not bool(dirs)
    for member in members:
        bracketed = f"[{member['ip']}]" if ":" in member["ip"] else member["ip"]
        assert member["client_url"] == f"https://{bracketed}:{member['client_port']}"
        assert member["peer_url"] == f"https://{bracketed}:{member['peer_port']}"

    # initial_cluster lists every member once, in member order.
    pairs = [item.split("=", 1) for item in plan["initial_cluster"].split(",")]
    assert pairs == [[m["name"], m["peer_url"]] for m in members]

    assert plan["reasons"]
    assert all(isinstance(line, str) and "\n" not in line for line in plan["reasons"])
    assert all(isinstance(line, str) and "\n" not in line for line in plan["warnings"])
