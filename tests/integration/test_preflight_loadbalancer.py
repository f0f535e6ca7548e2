"""Preflight with ``preflight_loadbalancer`` (set by cluster.yml and scale.yml), run for real.

The load balancer phase's input checks must stop the run in phase 1, before the next phase
(conftest's preflight_then_change) changes the host.
"""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(preflight_then_change):
    def run(**settings):
        res, changed = preflight_then_change(settings)
        return res, " ".join(res.stdout.split()), changed

    return run


def test_pki_endpoint_unset_stops_preflight_naming_the_fix(run):
    res, out, changed = run(preflight_loadbalancer=True)
    assert res.returncode != 0
    assert "pki_api_endpoint is not set" in out
    assert 'Set pki_api_endpoint: "127.0.0.1:6444" for every host' in out
    assert not changed


def test_the_local_endpoint_passes(run):
    res, _, changed = run(preflight_loadbalancer=True, pki_api_endpoint="127.0.0.1:6444")
    assert res.returncode == 0, res.stdout
    assert changed


def test_every_problem_of_vip_mode_in_one_message(run):
    res, out, changed = run(
        preflight_loadbalancer=True,
        loadbalancer_mode="vip",
        pki_api_endpoint="192.0.2.1:6443",
    )
    assert res.returncode != 0
    assert "loadbalancer_vip is not set" in out
    assert "loadbalancer_vrrp_router_id is missing" in out
    assert "loadbalancer_vrrp_auth_pass is missing" in out
    assert not changed


def test_an_external_endpoint_equal_to_pki_api_endpoint_passes(run):
    res, _, changed = run(
        preflight_loadbalancer=True,
        loadbalancer_mode="external",
        loadbalancer_external_endpoint="k8s-api.example.com:6443",
        pki_api_endpoint="K8S-API.example.com",
    )
    assert res.returncode == 0, res.stdout
    assert changed


def test_without_the_option_preflight_leaves_the_load_balancer_alone(run):
    res, _, changed = run()
    assert res.returncode == 0, res.stdout
    assert changed


@pytest.mark.parametrize("name", ["cluster.yml", "scale.yml"])
def test_cluster_and_scale_ask_preflight_for_the_checks(name):
    plays = yaml.safe_load((REPO / "playbooks" / name).read_text())
    preflight = [p for p in plays if p.get("ansible.builtin.import_playbook") == "preflight.yml"]
    assert len(preflight) == 1
    assert "preflight_loadbalancer" in preflight[0]["vars"]
