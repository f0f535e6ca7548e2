"""The plan playbook, run for real after preflight against this machine (both only read).

Two inventory hosts both connect locally; their node names, addresses and reliability come
from the inventory, as on a real site.
"""

import json
import sys

import yaml

# Whatever init this machine has, preflight's other checks run as if it were systemd.
SYSTEMD = {"ansible_service_mgr": "systemd"}

HOSTS = {
    "node1": {"node_ip": "192.0.2.21", "node_name": "n1", "etcd_reliability": 1},
    "node2": {"node_ip": "192.0.2.22", "node_name": "n2", "etcd_reliability": 10},
}


def plan(ansible, tmp_path, *extra_args):
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "children": {"control_plane": {"hosts": HOSTS}},
        }
    }
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory))
    return ansible(
        "ansible-playbook",
        "-i",
        str(inv),
        "-e",
        json.dumps(SYSTEMD),
        *extra_args,
        "prodgrade.kubernetes.preflight",
        "prodgrade.kubernetes.plan",
    )


def test_two_hosts_get_three_members_on_the_more_reliable_one(ansible, tmp_path):
    res = plan(ansible, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert (
        "etcd: 3 members, quorum 2, survives 1 member failure, topology two-hosts-one-side" in out
    )
    assert "all 3 members on node2 (etcd_reliability 10), the more reliable of the 2 hosts" in out
    for i, port in ((1, 2379), (2, 2479), (3, 2579)):
        assert f"member etcd-n2-{i}  on node2  192.0.2.22  client {port}  peer {port + 1}" in out
    assert "on node1" not in out
    assert "node1 gets no etcd member: it still runs the control-plane components" in out
    assert "share one disk" in out
    assert "changed=0" in out
    assert "failed=0" in out


def test_even_member_count_is_refused_with_the_quorum_arithmetic(ansible, tmp_path):
    # key=value extra vars are strings: the filter takes "4" as the number 4.
    res = plan(ansible, tmp_path, "-e", "etcd_member_count=4")
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "etcd_member_count=4 is even" in out
    assert "4 members need 3 for quorum and survive 1 failure, the same as 3 members" in out
    assert "Use an odd count: 3 or 5." in out
    assert "members, quorum" not in out
