"""Preflight with ``preflight_loadbalancer`` (set by cluster.yml and scale.yml), run for real.

The load balancer phase's input checks must stop the run in phase 1: the playbook is the
preflight followed by a play that writes a marker file, which must not appear when a check
fails. Facts of the pretended hosts (Debian trixie on x86_64) are given as extra variables.
"""

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FACTS = {
    "ansible_service_mgr": "systemd",
    "ansible_distribution": "Debian",
    "ansible_distribution_major_version": "13",
    "ansible_distribution_release": "trixie",
    "ansible_architecture": "x86_64",
    "ansible_pkg_mgr": "apt",
}


def run(ansible, tmp_path, **settings):
    marker = tmp_path / "host-task-ran"
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                **settings,
            },
            "children": {
                "control_plane": {"hosts": {"node1": {"node_ip": "192.0.2.1"}}},
                "workers": {"hosts": {"node2": {"node_ip": "192.0.2.2", "node_name": "n2"}}},
            },
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    playbook = [
        {"name": "Preflight", "ansible.builtin.import_playbook": "prodgrade.kubernetes.preflight"},
        {
            "name": "A phase that changes hosts",
            "hosts": "control_plane:workers",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Change the host",
                    "ansible.builtin.file": {"path": str(marker), "state": "touch", "mode": "0644"},
                }
            ],
        },
    ]
    (tmp_path / "site.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    res = ansible(
        "ansible-playbook",
        "-i",
        str(tmp_path / "hosts.yml"),
        str(tmp_path / "site.yml"),
        "-e",
        json.dumps(FACTS),
    )
    return res, " ".join(res.stdout.split()), marker.exists()


def test_pki_endpoint_unset_stops_preflight_naming_the_fix(ansible, tmp_path):
    res, out, changed = run(ansible, tmp_path, preflight_loadbalancer=True)
    assert res.returncode != 0
    assert "pki_api_endpoint is not set" in out
    assert 'Set pki_api_endpoint: "127.0.0.1:6444" for every host' in out
    assert not changed


def test_the_local_endpoint_passes(ansible, tmp_path):
    res, _, changed = run(
        ansible, tmp_path, preflight_loadbalancer=True, pki_api_endpoint="127.0.0.1:6444"
    )
    assert res.returncode == 0, res.stdout
    assert changed


def test_every_problem_of_vip_mode_in_one_message(ansible, tmp_path):
    res, out, changed = run(
        ansible,
        tmp_path,
        preflight_loadbalancer=True,
        loadbalancer_mode="vip",
        pki_api_endpoint="192.0.2.1:6443",
    )
    assert res.returncode != 0
    assert "loadbalancer_vip is not set" in out
    assert "loadbalancer_vrrp_router_id is missing" in out
    assert "loadbalancer_vrrp_auth_pass is missing" in out
    assert not changed


def test_an_external_endpoint_equal_to_pki_api_endpoint_passes(ansible, tmp_path):
    res, _, changed = run(
        ansible,
        tmp_path,
        preflight_loadbalancer=True,
        loadbalancer_mode="external",
        loadbalancer_external_endpoint="k8s-api.example.com:6443",
        pki_api_endpoint="K8S-API.example.com",
    )
    assert res.returncode == 0, res.stdout
    assert changed


def test_without_the_option_preflight_leaves_the_load_balancer_alone(ansible, tmp_path):
    res, _, changed = run(ansible, tmp_path)
    assert res.returncode == 0, res.stdout
    assert changed


@pytest.mark.parametrize("name", ["cluster.yml", "scale.yml"])
def test_cluster_and_scale_ask_preflight_for_the_checks(name):
    plays = yaml.safe_load((REPO / "playbooks" / name).read_text())
    preflight = [p for p in plays if p.get("ansible.builtin.import_playbook") == "preflight.yml"]
    assert len(preflight) == 1
    assert "preflight_loadbalancer" in preflight[0]["vars"]
