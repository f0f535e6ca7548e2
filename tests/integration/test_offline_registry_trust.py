"""registry_trust with ``offline: true``: the bundle registry mirrors the public registries.

Run for real by ansible-playbook on this machine, as test_registry_trust_templates.py does:
the bundle registry is an HTTPS server in the test process with a certificate from a test
"cluster CA" kept in a PKI store under tmp_path, and every path the role writes is redirected
into tmp_path. Needs root (the files are root-owned as on a node).
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import tomllib
from registry_tls_testlib import Registry, make_ca, make_leaf

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes root-owned files like a node")

CLUSTER_CA = make_ca("Test Cluster CA")
OTHER_CA = make_ca("Someone Else's CA")
UPSTREAMS = ["registry.k8s.io", "docker.io", "ghcr.io", "quay.io"]
PLAY = """---
- name: Registry trust on this machine
  hosts: localhost
  gather_facts: false
  connection: local
  roles:
    - role: prodgrade.kubernetes.registry_trust
"""
PATHS = {
    "registry_trust_containerd_config_dir": "etc/containerd/certs.d",
    "registry_trust_containers_certs_dir": "etc/containers/certs.d",
    "registry_trust_containers_registries_dropin": "etc/containers/registries.conf.d/50-pg.conf",
    "registry_trust_crio_auth_dropin": "etc/crio/crio.conf.d/20-pg-auth.conf",
    "registry_trust_docker_certs_dir": "etc/docker/certs.d",
    "registry_trust_cri_dockerd_config_json": ".docker/config.json",
    "registry_trust_kubelet_config_json": "var/lib/kubelet/config.json",
}


@pytest.fixture(scope="module")
def bundle_registry():
    with Registry(make_leaf(CLUSTER_CA)) as server:
        yield server


@pytest.fixture
def run(ansible, tmp_path):
    root = tmp_path / "node"
    pki = tmp_path / "pki"
    pki.mkdir()
    (pki / "ca.crt").write_text(CLUSTER_CA.pem)
    (tmp_path / "play.yml").write_text(PLAY)

    def run_role(engine="containerd", registries=(), *flags, **variables):
        extra = {
            "ansible_python_interpreter": sys.executable,
            "registry_trust_engine": engine,
            "registry_trust_registries": list(registries),
            "pki_store_dir": str(pki),
            **{name: str(root / rel) for name, rel in PATHS.items()},
            **variables,
        }
        (tmp_path / "vars.json").write_text(json.dumps(extra))
        res = ansible(
            "ansible-playbook", "-i", "localhost,", str(tmp_path / "play.yml"),
            "-e", f"@{tmp_path / 'vars.json'}", *flags,
        )  # fmt: skip
        return res, root

    return run_role


def recap_changed(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return int(line.split("changed=")[1].split()[0])


def test_containerd_mirrors_every_public_registry_to_the_bundle(run, bundle_registry):
    offline = bundle_registry.address()
    res, root = run(offline=True, offline_registry=offline)
    assert res.returncode == 0, res.stdout + res.stderr
    certs = root / "etc/containerd/certs.d"
    # The bundle registry itself, trusted with the cluster CA.
    own = tomllib.loads((certs / offline / "hosts.toml").read_text())
    assert own["server"] == f"https://{offline}"
    assert (certs / offline / "ca.crt").read_text() == CLUSTER_CA.pem
    for upstream in UPSTREAMS:
        cfg = tomllib.loads((certs / upstream / "hosts.toml").read_text())
        assert list(cfg["host"]) == [f"https://{offline}"], upstream
        # Docker Hub's registry API is not served at docker.io itself.
        api_host = "registry-1.docker.io" if upstream == "docker.io" else upstream
        assert cfg["server"] == f"https://{api_host}", upstream
        mirror_ca = certs / upstream / cfg["host"][f"https://{offline}"]["ca"].rsplit("/", 1)[1]
        assert mirror_ca.read_text() == CLUSTER_CA.pem
    # The bundle registry was probed; the public registries were not (no warning about them).
    assert bundle_registry.paths
    assert "cannot be reached" not in res.stdout
    # Nothing for credentials: offline mode adds none.
    assert not (root / "var/lib/kubelet/config.json").exists()

    again, _ = run(offline=True, offline_registry=offline)
    assert again.returncode == 0, again.stdout
    assert recap_changed(again.stdout) == 0


def test_a_listed_public_registry_keeps_its_entry_with_the_bundle_first(run, bundle_registry):
    offline = bundle_registry.address()
    hub = {"host": "docker.io", "ca": OTHER_CA.pem, "mirrors": [{"host": "mirror.invalid"}]}
    res, root = run(
        "containerd", [hub], offline=True, offline_registry=offline,
        registry_trust_offline_upstreams=["docker.io", "registry.k8s.io"],
        registry_trust_probe_timeout=1.0,
    )  # fmt: skip
    # mirror.invalid, the user's own mirror, is probed and does not resolve: the run stops
    # before anything is written, naming it (the user's entries are checked as always).
    assert res.returncode != 0
    assert "mirror.invalid" in res.stdout
    assert not root.exists()

    hub["mirrors"] = []
    res, root = run(
        "containerd", [hub], offline=True, offline_registry=offline,
        registry_trust_offline_upstreams=["docker.io", "registry.k8s.io"],
        registry_trust_probe_timeout=1.0,
    )  # fmt: skip
    # docker.io itself is the user's, so it is probed and (unreachable here) only warned about.
    assert res.returncode == 0, res.stdout
    cfg = tomllib.loads((root / "etc/containerd/certs.d/docker.io/hosts.toml").read_text())
    assert list(cfg["host"]) == [f"https://{offline}"]
    assert (root / "etc/containerd/certs.d/docker.io/ca.crt").read_text() == OTHER_CA.pem
    assert not (root / "etc/containerd/certs.d/quay.io").exists()


def test_crio_gets_the_mirrors_in_registries_conf(run, bundle_registry):
    offline = bundle_registry.address()
    res, root = run("crio", offline=True, offline_registry=offline)
    assert res.returncode == 0, res.stdout + res.stderr
    conf = tomllib.loads((root / PATHS["registry_trust_containers_registries_dropin"]).read_text())
    mirrors = {
        r["location"]: [m["location"] for m in r.get("mirror", [])] for r in conf["registry"]
    }
    assert mirrors == {offline: [], **{u: [offline] for u in UPSTREAMS}}
    assert (root / "etc/containers/certs.d" / offline / "ca.crt").read_text() == CLUSTER_CA.pem


@pytest.mark.parametrize(
    ("engine", "variables", "words"),
    [
        ("cri_dockerd", {}, "Docker Engine (cri_dockerd) mirrors only Docker Hub"),
        ("containerd", {"offline_registry": ""}, "(registry_trust_offline_registry) is not set"),
        ("containerd", {"offline_registry": "https://b:5000"}, "must be host[:port]"),
        ("containerd", {"pki_store_dir": "/nonexistent"}, "/nonexistent/ca.crt"),
    ],
)  # fmt: skip
def test_offline_settings_are_checked_before_anything(
    run, bundle_registry, engine, variables, words
):
    settings = {"offline": True, "offline_registry": bundle_registry.address(), **variables}
    res, root = run(engine, **settings)
    assert res.returncode != 0
    assert words in res.stdout, res.stdout
    assert not root.exists()


def test_online_adds_nothing(run):
    res, root = run(offline=False, offline_registry="bundle1:5000")
    assert res.returncode == 0, res.stdout
    assert not root.exists()


def test_a_bundle_registry_with_a_certificate_from_another_ca_stops_the_run(run):
    with Registry(make_leaf(OTHER_CA)) as wrong:
        res, root = run(offline=True, offline_registry=wrong.address())
    assert res.returncode != 0
    assert "Nothing was changed on any node" in res.stdout
    assert not root.exists()
