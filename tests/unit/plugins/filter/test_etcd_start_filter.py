import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodgrade.kubernetes.plugins.filter.etcd_join import etcd_join
from ansible_collections.prodgrade.kubernetes.plugins.filter.etcd_start import etcd_start
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import plan_etcd

PLAN = plan_etcd([{"host": f"cp{i}", "name": f"cp-{i}", "ip": f"192.0.2.{i}"} for i in (1, 2, 3)])


def hostvars(with_data):
    """What the role registers: __etcd_inspect per host, skipped on hosts without members."""
    result = {"worker1": {"__etcd_inspect": {"skipped": True, "changed": False}}}
    for member in PLAN["members"]:
        data = "yes" if member["name"] in with_data else "no"
        state = "existing" if data == "yes" else "none"
        result[member["host"]] = {
            "__etcd_inspect": {
                "stdout_lines": ["release 3.5.16", f"member {member['name']} {data} {state}"]
            }
        }
    return result


def test_reads_the_registered_inspections_of_the_play_hosts():
    found = etcd_start(PLAN, hostvars(["etcd-cp-1", "etcd-cp-2"]), ["worker1", "cp1", "cp2", "cp3"])
    assert found["mode"] == "existing"
    assert found["join"] == ["etcd-cp-3"]
    assert found["query_host"] == "cp1"


def test_hosts_outside_the_play_count_as_not_inspected():
    with pytest.raises(AnsibleFilterError, match="not in this run"):
        etcd_start(PLAN, hostvars([]), ["cp1", "cp2"])


def test_refuses_what_is_not_a_plan():
    with pytest.raises(AnsibleFilterError, match="takes the etcd plan"):
        etcd_start(["cp1"], {}, [])


def test_join_filter_turns_refusals_into_filter_errors():
    membership = {"members": [{"ID": 7, "name": "", "peerURLs": ["https://203.0.113.1:2380"]}]}
    with pytest.raises(AnsibleFilterError, match="member remove"):
        etcd_join(PLAN["members"][0], membership, PLAN)
