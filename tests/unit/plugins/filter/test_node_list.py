import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.prodgrade.kubernetes.plugins.filter.node_list import node_list

HOSTVARS = {
    "cp1": {"prodgrade_node_name": "cp-1", "prodgrade_node_ip": "192.0.2.1"},
    "w1": {"prodgrade_node_name": "worker-1", "prodgrade_node_ip": "192.0.2.9"},
    "bare": {"ansible_host": "192.0.2.7"},
}


def test_settled_names_and_addresses_in_order_each_host_once():
    assert node_list(["w1", "cp1", "w1"], HOSTVARS) == [
        {"host": "w1", "name": "worker-1", "ip": "192.0.2.9"},
        {"host": "cp1", "name": "cp-1", "ip": "192.0.2.1"},
    ]


def test_host_without_preflight_facts_says_to_run_preflight():
    with pytest.raises(AnsibleFilterError, match=r"run the prodgrade\.kubernetes\.preflight"):
        node_list(["cp1", "bare"], HOSTVARS)
