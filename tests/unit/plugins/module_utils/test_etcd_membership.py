"""The membership reconciler: repairs, plan changes in quorum-safe order, and its refusals."""

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_membership import (
    reconcile,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import (
    plan_etcd,
    quorum,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (
    parse_inspection,
)


def hosts(*numbers):
    return [{"host": f"cp{i}", "name": f"cp-{i}", "ip": f"192.0.2.{i}"} for i in numbers]


NODES = {f"cp-{i}": f"cp{i}" for i in range(1, 8)}


def listing(members, learners=()):
    """A member list: every member of ``members`` (plan entries) as a started voter."""
    return {
        "members": [
            {
                "ID": 0x1000 + index,
                "name": member["name"],
                "peerURLs": [member["peer_url"]],
                "clientURLs": [member["client_url"]],
                "isLearner": member["name"] in learners,
            }
            for index, member in enumerate(members)
        ]
    }


def health(members, down=()):
    return [{"endpoint": m["client_url"], "health": m["name"] not in down} for m in members]


def inspections(plan, empty=(), units=None, fresh=()):
    """Every planned member's host inspected; ``empty`` members have no data (a wiped disk),
    ``fresh`` ones neither data nor a configuration (never a member)."""
    units = units or {}
    lines = {}
    for member in plan["members"]:
        name = member["name"]
        data = "no" if name in empty or name in fresh else "yes"
        state = "none" if name in fresh else "existing"
        lines.setdefault(member["host"], ["release 3.5.16"]).extend(
            [
                f"member {name} {data} {state}",
                f"unit etcd@{name}.service enabled {units.get(name, 'active 0')}",
            ]
        )
    return {host: parse_inspection(found) for host, found in lines.items()}


THREE = plan_etcd(hosts(1, 2, 3))
FIVE = plan_etcd(hosts(1, 2, 3, 4, 5))
TWO_HOSTS = plan_etcd(hosts(1, 2))


def test_a_converged_cluster_needs_nothing():
    result = reconcile(
        THREE, inspections(THREE), listing(THREE["members"]), health(THREE["members"])
    )
    assert result["steps"] == [] and result["refusal"] is None
    assert "No change" in result["summary"]


def test_nobody_answering_leaves_the_start_to_the_data():
    result = reconcile(THREE, inspections(THREE), None, None)
    assert result["steps"] == [] and result["refusal"] is None


def test_a_wiped_member_is_replaced_without_confirmation():
    wiped = THREE["members"][1]
    result = reconcile(
        THREE,
        inspections(THREE, empty=[wiped["name"]], units={wiped["name"]: "inactive 0"}),
        listing(THREE["members"]),
        health(THREE["members"], down=[wiped["name"]]),
    )
    assert result["refusal"] is None
    assert [(s["kind"], s["member"], s["host"]) for s in result["steps"]] == [
        ("replace", wiped["name"], "cp2")
    ]
    assert result["steps"][0]["id"] == "1001"
    assert result["steps"][0]["voters"] == 3
    assert result["replaced"] == [wiped["name"]]
    assert "data directory is empty" in result["summary"]


def test_a_crash_looping_member_with_data_is_replaced():
    broken = THREE["members"][2]
    result = reconcile(
        THREE,
        inspections(THREE, units={broken["name"]: "activating 7"}),
        listing(THREE["members"]),
        health(THREE["members"], down=[broken["name"]]),
    )
    assert [s["kind"] for s in result["steps"]] == ["replace"]
    assert "7 restarts" in result["steps"][0]["reason"]


def test_a_stopped_member_with_data_is_only_started_again():
    stopped = THREE["members"][0]
    result = reconcile(
        THREE,
        inspections(THREE, units={stopped["name"]: "inactive 0"}),
        listing(THREE["members"]),
        health(THREE["members"], down=[stopped["name"]]),
    )
    assert result["steps"] == [] and result["refusal"] is None


def test_lost_quorum_is_refused_with_the_restore_command():
    members = THREE["members"]
    result = reconcile(
        THREE,
        inspections(THREE, empty=[members[1]["name"], members[2]["name"]]),
        listing(members),
        health(members, down=[m["name"] for m in members]),
    )
    assert "lost quorum: 0 of its 3 voting members answer" in result["refusal"]
    assert "prodgrade.kubernetes.etcd_restore" in result["refusal"]


def test_growing_three_to_five_is_a_confirmed_diff_adding_one_at_a_time():
    old = plan_etcd(hosts(1, 2, 3))["members"]
    found = inspections(FIVE, fresh=["etcd-cp-4", "etcd-cp-5"])
    refused = reconcile(FIVE, found, listing(old), health(old), hosts_by_node=NODES)
    assert "etcd_reconfigure_confirm=true" in refused["refusal"]
    assert "+ add     etcd-cp-4 on cp4" in refused["summary"]
    done = reconcile(FIVE, found, listing(old), health(old), confirm=True, hosts_by_node=NODES)
    assert done["refusal"] is None
    assert [(s["kind"], s["member"], s["voters"], s["quorum"]) for s in done["steps"]] == [
        ("add", "etcd-cp-4", 4, 3),
        ("add", "etcd-cp-5", 5, 3),
    ]


def test_shrinking_five_to_three_removes_one_at_a_time_down_to_an_odd_count():
    old = FIVE["members"]
    result = reconcile(
        THREE, inspections(THREE), listing(old), health(old), confirm=True, hosts_by_node=NODES
    )
    assert [(s["kind"], s["member"], s["host"], s["voters"]) for s in result["steps"]] == [
        ("remove", "etcd-cp-4", "cp4", 4),
        ("remove", "etcd-cp-5", "cp5", 3),
    ]
    assert result["steps"][0]["id"] == "1003"


def test_three_hosts_to_two_renames_in_place_then_adds_before_each_remove():
    old = THREE["members"]
    assert TWO_HOSTS["topology"] == "two-hosts-one-side"
    first = TWO_HOSTS["members"][0]
    assert first["peer_url"] == old[0]["peer_url"]  # the same place, another name
    result = reconcile(
        TWO_HOSTS,
        inspections(TWO_HOSTS, fresh=[m["name"] for m in TWO_HOSTS["members"]]),
        listing(old),
        health(old),
        confirm=True,
        hosts_by_node=NODES,
    )
    kinds = [(s["kind"], s["member"], s["voters"]) for s in result["steps"]]
    assert kinds == [
        ("rename", first["name"], 3),
        ("add", TWO_HOSTS["members"][1]["name"], 4),
        ("remove", "etcd-cp-2", 3),
        ("add", TWO_HOSTS["members"][2]["name"], 4),
        ("remove", "etcd-cp-3", 3),
    ]
    assert result["steps"][0]["old_name"] == "etcd-cp-1"
    assert all(s["voters"] >= 3 and s["quorum"] == quorum(s["voters"]) for s in result["steps"])
    assert result["steps"][-1]["voters"] % 2 == 1


def test_a_change_waits_for_every_voter_to_answer():
    old = THREE["members"]
    result = reconcile(
        FIVE,
        inspections(FIVE, fresh=["etcd-cp-4", "etcd-cp-5"], units={"etcd-cp-2": "inactive 0"}),
        listing(old),
        health(old, down=["etcd-cp-2"]),
        confirm=True,
    )
    assert "does not answer" in result["refusal"]


def test_a_half_finished_join_is_finished_first_and_counts_once_promoted():
    members = FIVE["members"]
    found = inspections(FIVE, fresh=["etcd-cp-5"])
    result = reconcile(
        FIVE,
        found,
        listing(members[:4], learners=["etcd-cp-4"]),
        health(members[:4], down=["etcd-cp-4"]),
        confirm=True,
    )
    assert [(s["kind"], s["member"], s["voters"]) for s in result["steps"]] == [
        ("finish", "etcd-cp-4", 4),
        ("add", "etcd-cp-5", 5),
    ]
    assert result["steps"][0] in result["repairs"]


def test_a_spread_move_on_one_host_removes_the_old_member_first():
    """An unplanned member on cp3 (another port) and the planned one for cp3 missing: adding
    first would put two voters on cp3, so the old one leaves first."""
    planned = THREE["members"]
    stray = {
        "ID": 0x2000,
        "name": "etcd-cp-3-old",
        "peerURLs": ["https://192.0.2.3:2480"],
        "clientURLs": ["https://192.0.2.3:2479"],
    }
    result = reconcile(
        THREE,
        inspections(THREE, fresh=["etcd-cp-3"]),
        {"members": [*listing(planned[:2])["members"], stray]},
        [*health(planned[:2]), {"endpoint": "https://192.0.2.3:2479", "health": True}],
        confirm=True,
    )
    assert [(s["kind"], s["member"], s["voters"]) for s in result["steps"]] == [
        ("remove", "etcd-cp-3-old", 2),
        ("add", "etcd-cp-3", 3),
    ]


def test_a_member_removed_by_hand_is_added_back_without_confirmation():
    """An operator removed a member to replace its disk; its host still holds its
    configuration, so adding it back restores the plan rather than changing it."""
    members = FIVE["members"]
    result = reconcile(
        FIVE,
        inspections(FIVE, empty=["etcd-cp-3"]),
        listing([m for m in members if m["name"] != "etcd-cp-3"]),
        health([m for m in members if m["name"] != "etcd-cp-3"]),
    )
    assert result["refusal"] is None
    assert [(s["kind"], s["member"], s["voters"]) for s in result["steps"]] == [
        ("rejoin", "etcd-cp-3", 5)
    ]
    assert result["replaced"] == ["etcd-cp-3"]


def test_a_cluster_down_with_too_few_members_holding_data_is_refused():
    """Nobody answers and only one of three members holds data: starting it cannot bring a
    quorum back, and the others cannot join without one."""
    names = [m["name"] for m in THREE["members"]]
    result = reconcile(THREE, inspections(THREE, empty=names[1:]), None, None)
    assert "lost quorum: no member answers, and only 1 of the 3" in result["refusal"]
    assert "prodgrade.kubernetes.etcd_restore" in result["refusal"]


def test_a_cluster_down_with_a_quorum_of_data_is_left_to_start():
    names = [m["name"] for m in THREE["members"]]
    result = reconcile(THREE, inspections(THREE, empty=names[2:]), None, None)
    assert result["refusal"] is None
