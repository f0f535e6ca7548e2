# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real main() of prodgrade.kubernetes.pki against a temporary store.

The certificate details are tested in tests/unit/plugins/module_utils/test_pki.py; this file
checks what the module adds: argument handling, the result, failures, warnings, check mode.
(Named test_pki_module.py: without __init__.py files pytest cannot collect two test_pki.py.)
"""

from __future__ import annotations

import datetime
import os
import stat

import pytest
from module_runner import run_module_raw, warning_texts

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki as pki_utils
from ansible_collections.prodgrade.kubernetes.plugins.modules import pki

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
CP = {"host": "cp1", "name": "cp1", "ip": "192.0.2.11"}
WORKER = {"host": "worker1", "name": "worker1", "ip": "192.0.2.21"}


@pytest.fixture
def clock(monkeypatch):
    state = {"now": NOW}
    monkeypatch.setattr(pki_utils, "utcnow", lambda: state["now"])
    return state


@pytest.fixture
def store(tmp_path):
    return tmp_path / "pki"


def args_for(store, **overrides):
    args = {
        "store": str(store),
        "api_endpoint": "k8s-api.example.com:6443",
        "control_plane": [CP],
        "etcd": [CP],
        "nodes": [CP, WORKER],
    }
    args.update(overrides)
    return args


def run(args, check_mode=False):
    """The parsed result and the raw text the module printed."""
    return run_module_raw(pki.main, args, check_mode=check_mode)


def listing(root):
    if not os.path.exists(root):
        return None
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.stat(path)
            content = None
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read()
            found[os.path.relpath(path, root)] = (content, info.st_mode, info.st_mtime_ns)
    return found


def test_first_run_creates_the_store_then_nothing_changes(store, clock):
    result, raw = run(args_for(store))
    assert result["changed"] is True
    assert result["summary"] == {"issued": 3 + 1 + 1 + 4 + 2 + 2 + 2 + 2, "renewed": 0, "kept": 0}
    assert result["distribute_ca_keys"] is True
    assert result["store"] == str(store)
    assert sorted(result["host_files"]) == ["cp1", "worker1"]
    assert "PRIVATE KEY" not in raw
    assert "BEGIN" not in raw
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    assert not warning_texts(result)
    entry = next(e for e in result["certificates"] if e["name"] == "apiserver@cp1")
    assert entry == {
        "name": "apiserver@cp1",
        "file": "hosts/cp1/apiserver.crt",
        "action": "issued",
        "reason": "missing",
        "subject": "CN=kube-apiserver",
        "sans": [
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
            "DNS:k8s-api.example.com",
            "DNS:cp1",
            "IP:10.96.0.1",
            "IP:192.0.2.11",
        ],
        "not_after": "2027-03-01T12:00:00Z",
    }
    before = listing(store)
    again, _ = run(args_for(store))
    assert again["changed"] is False
    assert again["changed_files"] == []
    assert again["summary"]["kept"] == result["summary"]["issued"]
    assert listing(store) == before


def test_passphrase_is_never_printed(store, clock):
    result, raw = run(args_for(store, ca_key_passphrase="correct horse battery"))
    assert result["changed"] is True
    assert "correct horse battery" not in raw
    assert result["distribute_ca_keys"] is False
    failed, raw = run(args_for(store, ca_key_passphrase="wrong staple"))
    assert failed["failed"] is True
    assert "cannot be decrypted with ca_key_passphrase: the passphrase is wrong" in failed["msg"]
    assert "wrong staple" not in raw


def test_invalid_input_fails_and_writes_nothing(store, clock):
    run(args_for(store))
    before = listing(store)
    result, _ = run(
        args_for(store, extra_sans=["ok.example.com", "not a name"], nodes=[CP, CP]),
    )
    assert result["failed"] is True
    assert (
        "extra_sans: 'not a name' is neither a valid IP address nor a valid DNS name"
        in (result["msg"])
    )
    assert "nodes: host 'cp1' is listed twice" in result["msg"]
    assert listing(store) == before


def test_check_mode_reports_and_writes_nothing(store, clock):
    result, raw = run(args_for(store), check_mode=True)
    assert result["changed"] is True
    assert result["summary"]["issued"] == 17
    assert "hosts/worker1/kubelet.conf" in result["changed_files"]
    assert "BEGIN" not in raw
    assert listing(store) is None
    run(args_for(store))
    before = listing(store)
    result, _ = run(args_for(store, nodes=[CP]), check_mode=True)
    assert result["changed"] is False
    assert "worker1" not in result["host_files"]
    assert listing(store) == before


def test_ca_close_to_expiry_warns(store, clock):
    run(args_for(store, ca_validity_days=40))
    clock["now"] = NOW + datetime.timedelta(days=20)
    result, _ = run(args_for(store, ca_validity_days=40))
    assert result["changed"] is False
    warnings = warning_texts(result)
    assert len(warnings) == 3
    assert warnings[0].startswith(f"The ca certificate {store}/ca.crt expires on 2026-04-10")


def test_expired_ca_fails_with_the_fix(store, clock):
    run(args_for(store, ca_validity_days=40, cert_validity_days=30, renew_before_days=7))
    clock["now"] = NOW + datetime.timedelta(days=41)
    result, _ = run(args_for(store))
    assert result["failed"] is True
    assert (
        f"{store}/ca.crt: the CA expired on 2026-04-10T12:00:00Z: it cannot sign" in (result["msg"])
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key_algorithm": "dsa"}, "value of key_algorithm must be one of: ecdsa, rsa"),
        ({"rsa_key_size": 1024}, "value of rsa_key_size must be one of: 2048, 3072, 4096"),
        ({"control_plane": [{"host": "cp1", "name": "cp1"}]}, "missing required arguments: ip"),
        ({"nodes": [{"host": "w", "name": "w", "ip": "192.0.2.9", "role": "x"}]}, "role"),
    ],
)
def test_argument_spec_is_enforced(store, overrides, message):
    result, _ = run(args_for(store, **overrides))
    assert result["failed"] is True
    assert message in result["msg"]
    assert listing(store) is None


def test_missing_required_options(store):
    result, _ = run({"store": str(store)})
    assert result["failed"] is True
    for name in ("api_endpoint", "control_plane", "nodes"):
        assert name in result["msg"]


def test_missing_cryptography_is_reported(store, monkeypatch):
    monkeypatch.setattr(pki, "HAS_CRYPTOGRAPHY", False)
    result, _ = run(args_for(store))
    assert result["failed"] is True
    assert "cryptography" in result["msg"]
    assert listing(store) is None


def test_host_files_follow_the_directory_options(store, clock):
    result, _ = run(
        args_for(store, pki_dir="/opt/k8s/pki", kubeconfig_dir="/opt/k8s", etcd_owner="etcd2"),
    )
    assert [item["dest"] for item in result["host_files"]["worker1"]] == [
        "/opt/k8s/pki/ca.crt",
        "/opt/k8s/kubelet.conf",
        "/opt/k8s/pki/prodgrade-trust.json",
    ]
    etcd_files = [i for i in result["host_files"]["cp1"] if i["dest"].endswith("etcd/server.key")]
    assert etcd_files == [
        {
            "src": f"{store}/hosts/cp1/etcd/server.key",
            "dest": "/opt/k8s/pki/etcd/server.key",
            "mode": "0600",
            "owner": "etcd2",
            "group": "etcd2",
        }
    ]


def test_one_host_entry_fits_every_list(store, clock):
    cp = dict(CP, extra_names=["cp1.example.com"])
    result, _ = run(args_for(store, control_plane=[cp], etcd=[cp], nodes=[cp, WORKER]))
    entries = {entry["name"]: entry for entry in result["certificates"]}
    assert "DNS:cp1.example.com" in entries["apiserver@cp1"]["sans"]
    assert "DNS:cp1.example.com" not in entries["etcd-server@cp1"]["sans"]
    again, _ = run(args_for(store, control_plane=[cp], etcd=[CP], nodes=[CP, WORKER]))
    assert again["changed"] is False
