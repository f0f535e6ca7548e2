"""Shared by the preflight integration tests: the preflight playbook, then a phase that changes
the host, run for real against this machine as two pretended hosts.

A failing preflight check must stop the run before the next phase: that phase writes a marker
file, which must then not appear. Facts of the hosts (Debian trixie on x86_64) are given as
extra variables.
"""

import json
import sys

import pytest
import yaml

FACTS = {
    "ansible_service_mgr": "systemd",
    "ansible_distribution": "Debian",
    "ansible_distribution_major_version": "13",
    "ansible_distribution_release": "trixie",
    "ansible_architecture": "x86_64",
    "ansible_pkg_mgr": "apt",
}
PREFLIGHT = "prodgrade.kubernetes.preflight"


@pytest.fixture
def preflight_then_change(ansible, tmp_path):
    """run(settings, extra=None) -> (result, whether the next phase ran)."""

    def run(settings, extra=None):
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
        touch = {"path": str(marker), "state": "touch", "mode": "0644"}
        playbook = [
            {"name": "Preflight", "ansible.builtin.import_playbook": PREFLIGHT},
            {
                "name": "A phase that changes hosts",
                "hosts": "control_plane:workers",
                "gather_facts": False,
                "tasks": [{"name": "Change the host", "ansible.builtin.file": touch}],
            },
        ]
        (tmp_path / "site.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
        res = ansible(
            "ansible-playbook",
            "-i",
            str(tmp_path / "hosts.yml"),
            str(tmp_path / "site.yml"),
            "-e",
            json.dumps({**FACTS, **(extra or {})}),
        )
        return res, marker.exists()

    return run
