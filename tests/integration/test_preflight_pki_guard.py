"""The pki guard in preflight, run for real: a host already trusting a CA the store lacks stops
the run in phase 1, before the next phase (conftest's preflight_then_change) changes the host.

The two pretended hosts are this machine; their PKI directory is ``pki_dir`` in tmp_path.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki, store_lock


def make_store(path):
    pki.converge(
        {
            "store": str(path),
            "api_endpoint": "k8s-api.example.com",
            "control_plane": [{"host": "node1", "name": "node1", "ip": "192.0.2.1"}],
            "nodes": [{"host": "node2", "name": "n2", "ip": "192.0.2.2"}],
        }
    )
    return path


@pytest.fixture
def host_pki(tmp_path):
    """The store 'a', and a host PKI directory holding its cluster CA and marker."""
    store = make_store(tmp_path / "a")
    directory = tmp_path / "host-pki"
    directory.mkdir()
    shutil.copy(store / "ca.crt", directory / "ca.crt")
    shutil.copy(store / "trust.json", directory / "prodgrade-trust.json")
    return store, directory


@pytest.fixture
def run(preflight_then_change):
    def run(**settings):
        res, changed = preflight_then_change(settings)
        return res, " ".join(res.stdout.split()), changed

    return run


def test_the_clusters_store_passes(run, host_pki):
    store, directory = host_pki
    res, _, changed = run(pki_store_dir=str(store), pki_dir=str(directory))
    assert res.returncode == 0, res.stdout
    assert changed


def test_an_empty_store_is_refused_before_any_host_changes(run, host_pki, tmp_path):
    store, directory = host_pki
    marker = json.loads((store / "trust.json").read_text())
    res, out, changed = run(pki_store_dir=str(tmp_path / "empty"), pki_dir=str(directory))
    assert res.returncode != 0
    assert not changed
    assert "node1, node2 trust ca SHA256:" in out
    assert "is missing or empty" in out
    assert marker["store_id"] in out
    # Preflight alone does not lock, so it leaves no store behind.
    assert not (tmp_path / "empty").exists()


def test_another_store_is_refused(run, host_pki, tmp_path):
    _, directory = host_pki
    other = make_store(tmp_path / "b")
    res, out, changed = run(pki_store_dir=str(other), pki_dir=str(directory))
    assert res.returncode != 0
    assert not changed
    assert "holds another cluster's CAs" in out


def test_a_backup_directory_without_a_passphrase_is_refused(run, host_pki, tmp_path):
    store, directory = host_pki
    res, out, changed = run(
        pki_store_dir=str(store), pki_dir=str(directory), pki_store_backup_dir=str(tmp_path / "bk")
    )
    assert res.returncode != 0
    assert not changed
    assert "pki_store_backup_passphrase is empty" in out


def test_a_store_locked_by_a_live_run_is_refused_with_the_lock(run, host_pki):
    store, directory = host_pki
    holder = subprocess.Popen(["sleep", "60"])
    try:
        owner = {"pid": holder.pid, "start": store_lock._stat_fields(holder.pid)[1]}
        store_lock.acquire(str(store), owner=owner)
        res, out, changed = run(
            pki_store_dir=str(store), pki_dir=str(directory), preflight_pki_lock=True
        )
        assert res.returncode != 0
        assert not changed
        assert f"is in use by another run: ansible-playbook PID {holder.pid}" in out
        # Without the lock (preflight alone) the same store is only read.
        res, _, changed = run(pki_store_dir=str(store), pki_dir=str(directory))
        assert res.returncode == 0, res.stdout
    finally:
        holder.kill()
        holder.wait()
    # Its run has ended: the next run takes the lock over.
    res, _, changed = run(pki_store_dir=str(store), pki_dir=str(directory), preflight_pki_lock=True)
    assert res.returncode == 0, res.stdout
    lock = json.loads(Path(store, ".lock").read_text())
    assert lock["pid"] != holder.pid
