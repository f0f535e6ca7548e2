# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PKI guard, the store marker and recovery from the hosts, on real stores.

A store is built with the pki module's code, then "installed" on pretend hosts by copying each
host's files (``host_files``) under a directory per host, exactly where distribution puts them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import (
    pki,
    pki_recover,
    pki_trust,
)

CP = [{"host": f"cp{i}", "name": f"cp{i}", "ip": f"192.0.2.1{i}"} for i in (1, 2, 3)]
WORKERS = [{"host": f"worker{i}", "name": f"worker{i}", "ip": f"192.0.2.2{i}"} for i in (1, 2)]


def make_params(store, **overrides):
    params = {
        "store": str(store),
        "api_endpoint": "k8s-api.example.com",
        "control_plane": CP,
        "etcd": CP,
        "nodes": CP + WORKERS,
    }
    params.update(overrides)
    return params


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def built(store):
    return pki.converge(make_params(store))


def install(result, root):
    """Copy every host's files under ``root/<host>``, as file_bundle would on each host."""
    for host, items in result["host_files"].items():
        for item in items:
            dest = root / host / item["dest"].lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item["src"], dest)
            os.chmod(dest, int(item["mode"], 8))


def host_reports(root, hosts):
    return {host: pki_trust.read_trust(str(root / host / "etc/kubernetes/pki")) for host in hosts}


def store_report(store):
    return pki_trust.read_trust(str(store), marker=pki_trust.STORE_MARKER)


# --- fingerprints and the marker ------------------------------------------------------------


def test_fingerprint_is_what_openssl_prints(store, built):
    certificate = x509.load_pem_x509_certificate((store / "ca.crt").read_bytes())
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    assert store_report(store)["ca"] == [
        "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    ]
    if shutil.which("openssl"):
        shown = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(store / "ca.crt")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert shown.split("=", 1)[1] == store_report(store)["ca"][0][len("SHA256:") :]


def test_marker_names_the_store_and_its_trust_and_stays_put(store, built):
    marker = json.loads((store / "trust.json").read_text())
    report = store_report(store)
    assert len(marker["store_id"]) == 32
    assert marker["cluster_name"] == "kubernetes"
    for name in ("ca", "etcd-ca", "front-proxy-ca", "sa"):
        assert marker[name] == report[name][0]
    again = pki.converge(make_params(store))
    assert again["changed"] is False
    assert json.loads((store / "trust.json").read_text()) == marker


def test_every_host_gets_the_marker(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    reports = host_reports(tmp_path / "hosts", built["host_files"])
    marker = json.loads((store / "trust.json").read_text())
    assert all(report["marker"] == marker for report in reports.values())
    # A worker holds only the cluster CA.
    assert reports["worker1"]["ca"] == store_report(store)["ca"]
    assert reports["worker1"]["etcd-ca"] is None
    assert reports["worker1"]["sa"] is None


# --- the guard ------------------------------------------------------------------------------


def test_hosts_holding_the_stores_trust_pass(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    reports = host_reports(tmp_path / "hosts", built["host_files"])
    assert pki_trust.compare(store_report(store), reports) == []


def test_new_hosts_pass_whatever_the_store(tmp_path):
    reports = host_reports(tmp_path / "hosts", ["new1", "new2"])
    assert not any(pki_trust.holds_trust(report) for report in reports.values())
    assert pki_trust.compare({}, reports) == []


def test_a_lost_store_is_refused_naming_hosts_fingerprints_and_ways_out(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    reports = host_reports(tmp_path / "hosts", built["host_files"])
    marker = json.loads((store / "trust.json").read_text())
    shutil.rmtree(store)
    findings = pki_trust.compare({}, reports)
    assert {item["problem"] for item in findings} == {"store-lacks"}
    assert {(item["host"], item["item"]) for item in findings} >= {
        ("worker1", "ca"),
        ("cp1", "etcd-ca"),
        ("cp2", "front-proxy-ca"),
        ("cp3", "sa"),
    }
    message = pki_trust.refusal(findings, str(store), {}, reports)
    assert "is missing or empty" in message
    assert f"store {marker['store_id']} of cluster 'kubernetes'" in message
    assert "cp1, cp2, cp3, worker1, worker2 trust ca " + pki_trust.short(marker["ca"]) in message
    assert "the store has none" in message
    for way_out in ("pki_store_restore", "pki_store_recover", "pki_store_dir", "Nothing"):
        assert way_out in message


def test_another_controllers_store_is_refused(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    reports = host_reports(tmp_path / "hosts", built["host_files"])
    other = tmp_path / "other"
    pki.converge(make_params(other))
    findings = pki_trust.compare(store_report(other), reports)
    assert {item["problem"] for item in findings} == {"differs"}
    message = pki_trust.refusal(findings, str(other), store_report(other), reports)
    assert "holds another cluster's CAs" in message
    assert pki_trust.short(store_report(other)["ca"][0]) in message


def test_a_host_trusting_old_and_new_ca_during_a_rotation_passes(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    other = tmp_path / "other"
    pki.converge(make_params(other))
    bundle = tmp_path / "hosts/worker1/etc/kubernetes/pki/ca.crt"
    bundle.write_bytes((other / "ca.crt").read_bytes() + bundle.read_bytes())
    reports = host_reports(tmp_path / "hosts", ["worker1"])
    assert len(reports["worker1"]["ca"]) == 2
    assert pki_trust.compare(store_report(store), reports) == []


def test_a_damaged_trust_file_is_never_taken_as_absent(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    (tmp_path / "hosts/cp2/etc/kubernetes/pki/sa.pub").write_text("not a key\n")
    reports = host_reports(tmp_path / "hosts", ["cp2"])
    findings = pki_trust.compare(store_report(store), reports)
    assert [item["problem"] for item in findings] == ["unreadable"]
    message = pki_trust.refusal(findings, str(store), store_report(store), reports)
    assert "Cannot verify what the hosts trust: cp2:" in message
    assert "sa.pub: holds no PEM public key" in message


# --- the pki module never replaces what a running cluster trusts ----------------------------


def test_sa_pub_without_sa_key_is_refused_rather_than_replaced(store, built):
    (store / "sa.key").unlink()
    with pytest.raises(pki.PKIError, match=r"sa\.key is missing"):
        pki.converge(make_params(store))
    assert (store / "sa.pub").exists()


def test_a_ca_certificate_without_its_key_points_to_the_backup(store, built):
    (store / "etcd/ca.key").unlink()
    with pytest.raises(pki.PKIError, match="restore the store from its backup"):
        pki.converge(make_params(store))


# --- recovery from the hosts ----------------------------------------------------------------


def fetch_all(result, hosts_root, fetched):
    """What the playbook's fetch step leaves: <fetched>/<host>/<absolute path>."""
    for host in result["host_files"]:
        shutil.copytree(hosts_root / host, fetched / host, dirs_exist_ok=True)


def test_recovery_brings_back_everything_the_hosts_hold(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    original = {
        rel: (store / rel).read_bytes()
        for rel in ("ca.key", "sa.key", "etcd/ca.crt", "trust.json", "hosts/cp2/etcd/peer.key")
    }
    shutil.move(store, tmp_path / "lost")
    fetch_all(built, tmp_path / "hosts", tmp_path / "fetched")
    plan = pki.converge(dict(make_params(store), host_files_only=True))
    assert plan["host_files"] == built["host_files"]
    assert not store.exists()

    result = pki_recover.recover(str(store), str(tmp_path / "fetched"), plan["host_files"])
    assert result["lost_keys"] == ["etcd-ca", "front-proxy-ca"]
    assert result["not_found"] == []
    assert result["from_hosts"] == ["cp1", "cp2", "cp3", "worker1", "worker2"]
    for rel, data in original.items():
        assert (store / rel).read_bytes() == data, rel
    assert oct(os.stat(store / "ca.key").st_mode & 0o777) == "0o600"
    assert not (store / "etcd/ca.key").exists()
    record = json.loads((store / "recovery.json").read_text())
    assert record["lost_keys"] == ["etcd-ca", "front-proxy-ca"]

    # The recovered store keeps every certificate and writes nothing...
    again = pki.converge(make_params(store))
    assert again["changed"] is False
    assert again["summary"]["issued"] == again["summary"]["renewed"] == 0
    assert any("etcd-ca key is lost" in warning for warning in again["warnings"])
    # ...but cannot issue from a lost key, and says so before writing anything.
    with pytest.raises(pki.PKIError, match="the etcd-ca key is lost"):
        pki.converge(make_params(store, renew_before_days=36500))
    # A new etcd member needs the etcd CA's key too.
    extra = {"host": "etcd9", "name": "etcd9", "ip": "192.0.2.99"}
    lost = r"etcd-server@etcd9 must be issued \(missing\) but the etcd-ca key is lost"
    with pytest.raises(pki.PKIError, match=lost):
        pki.converge(make_params(store, etcd=[*make_params(store)["etcd"], extra]))


def test_recovery_refuses_a_store_that_holds_a_key(store, built, tmp_path):
    with pytest.raises(pki_recover.RecoverError, match=r"already holds ca\.crt, ca\.key"):
        pki_recover.recover(str(store), str(tmp_path / "fetched"), built["host_files"])


def test_recovery_refuses_hosts_that_disagree(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    (tmp_path / "hosts/cp3/etc/kubernetes/admin.conf").write_text("stale\n")
    shutil.move(store, tmp_path / "lost")
    fetch_all(built, tmp_path / "hosts", tmp_path / "fetched")
    with pytest.raises(pki_recover.RecoverError, match=r"admin.conf \(from cp1, cp2, cp3\)"):
        pki_recover.recover(str(store), str(tmp_path / "fetched"), built["host_files"])
    assert not store.exists()


def test_recovery_in_check_mode_writes_nothing(store, built, tmp_path):
    install(built, tmp_path / "hosts")
    shutil.move(store, tmp_path / "lost")
    fetch_all(built, tmp_path / "hosts", tmp_path / "fetched")
    result = pki_recover.recover(
        str(store), str(tmp_path / "fetched"), built["host_files"], check_mode=True
    )
    assert result["changed"] is True
    assert "ca.key" in result["recovered"]
    assert not store.exists()
