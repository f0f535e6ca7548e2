"""The etcd_reconcile filter: the role's registered inspections in, the start decision adjusted
to the steps out."""

from ansible_collections.prodgrade.kubernetes.plugins.filter.etcd_reconcile import etcd_reconcile
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import plan_etcd

PLAN = plan_etcd([{"host": f"cp{i}", "name": f"cp-{i}", "ip": f"192.0.2.{i}"} for i in (1, 2, 3)])


def hostvars(wiped=()):
    result = {"worker1": {"__etcd_inspect": {"skipped": True, "changed": False}}}
    for member in PLAN["members"]:
        data = "no" if member["name"] in wiped else "yes"
        active = "inactive 0" if member["name"] in wiped else "active 0"
        result[member["host"]] = {
            "prodgrade_node_name": member["node_name"],
            "__etcd_inspect": {
                "stdout_lines": [
                    "release 3.5.16",
                    f"unit etcd@{member['name']}.service enabled {active}",
                    f"member {member['name']} {data} existing",
                ]
            },
        }
    return result


def membership():
    return {
        "members": [
            {
                "ID": 100 + index,
                "name": member["name"],
                "peerURLs": [member["peer_url"]],
                "clientURLs": [member["client_url"]],
            }
            for index, member in enumerate(PLAN["members"])
        ]
    }


def health(down=()):
    return [{"endpoint": m["client_url"], "health": m["name"] not in down} for m in PLAN["members"]]


def test_nobody_answering_keeps_the_start_decision():
    result = etcd_reconcile(PLAN, hostvars(), ["worker1", "cp1", "cp2", "cp3"])
    assert result["steps"] == []
    assert result["start"]["mode"] == "existing"
    assert set(result["start"]["states"]) == {m["name"] for m in PLAN["members"]}


def test_a_wiped_member_is_left_to_its_step():
    result = etcd_reconcile(
        PLAN,
        hostvars(wiped=["etcd-cp-2"]),
        ["worker1", "cp1", "cp2", "cp3"],
        membership(),
        health(down=["etcd-cp-2"]),
    )
    assert [s["kind"] for s in result["steps"]] == ["replace"]
    assert "etcd-cp-2" not in result["start"]["states"]
    assert result["start"]["join"] == ["etcd-cp-2"]
    assert result["refusal"] is None
