"""Preflight with ``offline: true``, run for real against this machine with a synthetic bundle.

Through conftest's preflight_then_change: a bundle lacking something must stop the run in
preflight, so the next phase's marker never appears (no host task ran).
"""

import json

import pytest

COMPLETE = [
    {"kind": "deb", "name": n, "version": "1", "suite": "trixie", "arch": "amd64"}
    for n in ("containerd", "containernetworking-plugins", "etcd-server", "etcd-client", "haproxy")
] + [{"kind": "image", "name": "registry.k8s.io/pause", "version": "3.10.2", "arch": "amd64"}]
KUBEADM = [
    {"kind": "binary", "name": n, "version": "1.37.1", "arch": "amd64"}
    for n in ("kubeadm", "kubelet", "kubectl")
] + [
    {"kind": "image", "name": f"registry.k8s.io/{n}", "version": "v1.37.1", "arch": "amd64"}
    for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
]


def make_bundle(path, artifacts, manifest_text=None):
    (path / "keys").mkdir(parents=True)
    (path / "keys" / "archive-keyring.gpg").write_bytes(b"\x99\x01\x0d")
    manifest = {
        "format": 1,
        "kubernetes_version": "1.37.1",
        "created": "2026-05-01T10:00:00Z",
        "architectures": ["amd64"],
        "suites": ["trixie"],
        "artifacts": artifacts,
    }
    (path / "manifest.json").write_text(manifest_text or json.dumps(manifest))


@pytest.fixture
def run(preflight_then_change, tmp_path):
    def run(artifacts=COMPLETE, manifest_text=None, offline_vars=None, extra=None):
        bundle = tmp_path / "bundle"
        make_bundle(bundle, artifacts, manifest_text)
        pki = tmp_path / "pki"
        pki.mkdir()
        (pki / "ca.crt").write_text(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        )
        settings = {
            "offline": True,
            "offline_bundle_dir": str(bundle),
            "offline_bundle_url": "http://bundle1:8080",
            "offline_registry": "bundle1:5000",
            "pki_store_dir": str(pki),
        }
        settings.update(offline_vars or {})
        return preflight_then_change({k: v for k, v in settings.items() if v is not None}, extra)

    return run


def test_complete_bundle_passes_and_the_next_phase_runs(run):
    res, changed = run()
    assert res.returncode == 0, res.stdout
    assert "holds all 6 artifacts this inventory needs" in " ".join(res.stdout.split())
    assert changed


def test_missing_artifact_is_named_and_no_host_task_runs(run):
    artifacts = [a for a in COMPLETE if a["name"] not in ("etcd-client", "registry.k8s.io/pause")]
    res, changed = run(artifacts=artifacts)
    assert res.returncode != 0
    assert "lacks 2 artifact(s)" in res.stdout
    assert "- image registry.k8s.io/pause:3.10.2 (amd64), needed by node1, node2" in res.stdout
    assert "- deb etcd-client (trixie/amd64), needed by node1 (etcd_client_package)" in res.stdout
    assert "bundle_build" in res.stdout
    assert "Change the host" not in res.stdout
    assert not changed


def test_inventory_variables_change_the_plan(run):
    # keepalived for a VIP is not in the bundle; haproxy then only on the control plane.
    res, changed = run(offline_vars={"loadbalancer_mode": "vip", "etcd_package": "etcd"})
    assert res.returncode != 0
    assert "deb keepalived (trixie/amd64), needed by node1 (loadbalancer_keepalived_package)" in (
        res.stdout
    )
    assert "deb etcd (trixie/amd64), needed by node1 (etcd_package)" in res.stdout
    assert not changed


def test_kubeadm_images_are_checked_only_when_asked(run):
    res, _ = run(artifacts=COMPLETE + KUBEADM, extra={"preflight_offline_kubeadm": True})
    assert res.returncode != 0
    assert "image registry.k8s.io/coredns/coredns (any tag, amd64)" in res.stdout
    assert "kube-apiserver" not in res.stdout.split("lacks", 1)[1]


@pytest.mark.parametrize(
    ("offline_vars", "manifest_text", "words"),
    [
        (
            {"offline_bundle_url": None, "offline_registry": None},
            None,
            ["offline_bundle_url is not set", "offline_registry is not set"],
        ),
        ({"offline_bundle_dir": None}, None, ["offline_bundle_dir is not set"]),
        ({}, '{"format": 7, "artifacts": []}', ["has format 7", "Rebuild the bundle"]),
        ({}, "{oops", ["is not valid JSON"]),
        ({"pki_store_dir": "/nonexistent/pki"}, None, ["/nonexistent/pki/ca.crt is missing"]),
    ],
)
def test_bad_settings_or_manifest_are_refused_before_any_change(
    run, offline_vars, manifest_text, words
):
    res, changed = run(offline_vars=offline_vars, manifest_text=manifest_text)
    assert res.returncode != 0
    for word in words:
        assert word in res.stdout, res.stdout
    assert not changed


def test_offline_false_reads_no_bundle(run):
    res, changed = run(manifest_text="{oops", offline_vars={"offline": False})
    # The offline tasks are skipped: the broken manifest is never read.
    assert res.returncode == 0, res.stdout
    assert "not valid JSON" not in res.stdout
    assert "holds all" not in res.stdout
    assert changed
