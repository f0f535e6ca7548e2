"""The offline_missing filter: one verdict from the bundle directory and the inventory."""

import json

from ansible_collections.prodgrade.kubernetes.plugins.filter.offline_missing import (
    FilterModule,
    offline_missing,
)

FACTS = {"ansible_distribution_release": "trixie", "ansible_architecture": "x86_64"}
GROUPS = {"control_plane": ["cp1"], "workers": [], "etcd": ["cp1"]}
HOSTVARS = {"cp1": dict(FACTS)}
ARTIFACTS = [
    {"kind": "deb", "name": n, "suite": "trixie", "arch": "amd64"}
    for n in ("containerd", "containernetworking-plugins", "etcd-server", "etcd-client", "haproxy")
] + [{"kind": "image", "name": "registry.k8s.io/pause", "version": "3.10.2", "arch": "amd64"}]


def bundle(tmp_path, artifacts=ARTIFACTS, key=True):
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format": 1, "kubernetes_version": "1.37.1", "artifacts": artifacts})
    )
    if key:
        (tmp_path / "keys").mkdir()
        (tmp_path / "keys" / "archive-keyring.gpg").write_bytes(b"\x99\x01")
    return str(tmp_path)


def run(path, **kwargs):
    args = {"url": "http://bundle1:8080", "registry": "bundle1:5000", **kwargs}
    return offline_missing(path, GROUPS, HOSTVARS, **args)


def test_registered_under_its_name():
    assert FilterModule().filters() == {"offline_missing": offline_missing}


def test_complete_bundle(tmp_path):
    result = run(bundle(tmp_path))
    assert result["problems"] == [] and result["missing"] == [] and result["message"] == ""
    assert len(result["needs"]) == 6
    assert result["manifest"]["kubernetes_version"] == "1.37.1"


def test_missing_artifact_is_in_the_message(tmp_path):
    result = run(bundle(tmp_path, ARTIFACTS[1:]))
    assert result["problems"] == []
    assert [m["name"] for m in result["missing"]] == ["containerd"]
    assert "deb containerd (trixie/amd64), needed by cp1" in result["message"]


def test_missing_key_and_settings_are_problems_not_errors(tmp_path):
    result = run(bundle(tmp_path, key=False), url="", registry=None)
    problems = " ".join(result["problems"])
    assert "offline_bundle_url is not set" in problems
    assert "offline_registry is not set" in problems
    assert "archive-keyring.gpg is missing" in problems


def test_absent_manifest_is_a_problem(tmp_path):
    result = run(str(tmp_path))
    assert any("manifest.json does not exist" in p for p in result["problems"])
    assert result["missing"] == []
