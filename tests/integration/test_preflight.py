"""The preflight playbook, run for real against this machine (it only reads).

Facts that describe another machine (distribution, architecture, init system) are given as
extra variables, which take precedence over gathered facts.
"""

import json
import sys

import pytest
import yaml

# Whatever init this machine has, the other checks are tested as if it were systemd.
SYSTEMD = {"ansible_service_mgr": "systemd"}


def preflight(ansible, tmp_path, hosts=None, groups=("control_plane",), extra=None, runs=1):
    hosts = hosts or {"node1": {}}
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "children": {g: {"hosts": dict(hosts.items())} for g in groups},
        }
    }
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory))
    cmd = ["ansible-playbook", "-i", str(inv)] + ["prodgrade.kubernetes.preflight"] * runs
    if extra:
        cmd += ["-e", json.dumps(extra)]
    return ansible(*cmd)


def test_supported_host_passes_and_changes_nothing(ansible, tmp_path):
    res = preflight(ansible, tmp_path, extra=SYSTEMD)
    assert res.returncode == 0, res.stdout
    assert "changed=0" in res.stdout
    assert "failed=0" in res.stdout


def test_preflight_twice_in_one_command_passes(ansible, tmp_path):
    # The etcd_backup and etcd_restore playbooks import preflight after a cluster run may have.
    hosts = {
        "node1": {"node_name": "n1", "node_ip": "192.0.2.1"},
        "node2": {"node_name": "n2", "node_ip": "192.0.2.2"},
    }
    res = preflight(ansible, tmp_path, hosts=hosts, extra=SYSTEMD, runs=2)
    assert res.returncode == 0, res.stdout
    assert "more than one host" not in res.stdout


@pytest.mark.parametrize(
    ("facts", "shown"),
    [
        ({"ansible_distribution": "Gentoo", "ansible_distribution_version": "2.17"}, "Gentoo"),
        ({"ansible_distribution_major_version": "11"}, "Debian 11"),
        ({"ansible_distribution": "Ubuntu", "ansible_distribution_version": "20.04"}, "20.04"),
        ({"ansible_architecture": "ppc64le"}, "ppc64le"),
    ],
)
def test_unsupported_platform_is_refused_with_what_is_supported(ansible, tmp_path, facts, shown):
    res = preflight(ansible, tmp_path, extra={**SYSTEMD, **facts})
    assert res.returncode != 0
    assert shown in res.stdout
    assert "supports Debian 12/13, Ubuntu 22.04/24.04, RedHat 9" in res.stdout
    assert "preflight_enforce_supported_os" in res.stdout


def test_unsupported_platform_only_warns_when_asked(ansible, tmp_path):
    extra = {**SYSTEMD, "ansible_distribution": "Gentoo", "preflight_enforce_supported_os": False}
    res = preflight(ansible, tmp_path, extra=extra)
    assert res.returncode == 0, res.stdout
    assert "UNSUPPORTED" in res.stdout


def test_host_without_systemd_is_refused(ansible, tmp_path):
    res = preflight(ansible, tmp_path, extra={"ansible_service_mgr": "openrc"})
    assert res.returncode != 0
    assert "is managed by openrc, not systemd" in res.stdout


def test_duplicate_addresses_and_names_are_refused(ansible, tmp_path):
    hosts = {
        "node1": {"node_ip": "192.0.2.10", "node_name": "n1"},
        "node2": {"node_ip": "192.0.2.10", "node_name": "n1"},
        "node3": {"node_ip": "192.0.2.11", "node_name": "n3"},
    }
    res = preflight(ansible, tmp_path, hosts=hosts, extra=SYSTEMD)
    assert res.returncode != 0
    # Only the shared values are named, not node3's own.
    assert "Node addresses used by more than one host: 192.0.2.10. Set node_ip" in res.stdout
    assert "Node names used by more than one host: n1. Kubernetes" in res.stdout


def test_inventory_without_control_plane_is_refused(ansible, tmp_path):
    res = preflight(ansible, tmp_path, groups=("workers",), extra=SYSTEMD)
    assert res.returncode != 0
    assert "no host in the control_plane group" in res.stdout
