# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CA rotation stages on a real store: what each stage leaves in the store, what the pki module
then issues, and which certificates every host's trust file accepts at each stage.

The chain checks use cryptography's X.509 verifier with the CA file of the stage as the only
trust: a leaf "works" at a stage when it verifies against that stage's CA file.
"""

from __future__ import annotations

import datetime
import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki, pki_rotate

CP = [{"host": f"cp{i}", "name": f"cp{i}", "ip": f"192.0.2.1{i}"} for i in (1, 2, 3)]


def params(store, **extra):
    return dict(
        store=str(store), api_endpoint="k8s-api.example.com", control_plane=CP, etcd=CP, nodes=CP,
        **extra,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    pki.converge(params(path))
    return path


def certs(path):
    return x509.load_pem_x509_certificates(path.read_bytes())


def accepted(leaf_path, ca_path):
    """Whether the client certificate at leaf_path chains to a CA of the file at ca_path."""
    leaf = certs(leaf_path)[0]
    # Kubernetes identifies clients by subject: client certificates carry no SANs.
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(certs(ca_path)))
        .time(datetime.datetime.now(datetime.timezone.utc))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, [])
    except VerificationError:
        return False
    return True


def test_the_stages_replace_the_etcd_ca_with_both_trusted_in_between(store, tmp_path):
    old_ca = certs(store / "etcd/ca.crt")
    old_client = tmp_path / "old-client.crt"
    old_client.write_bytes((store / "etcd/healthcheck-client.crt").read_bytes())
    cluster_ca = (store / "ca.crt").read_bytes()

    trust = pki_rotate.advance(str(store), "etcd-ca", "trust")
    assert (trust["from"], trust["stage"], trust["changed"]) == (None, "trust", True)
    bundle = certs(store / "etcd/ca.crt")
    assert bundle[0] == old_ca[0]
    assert len(bundle) == 2
    new_ca = bundle[1]
    assert new_ca.subject == old_ca[0].subject  # the same name: only the key changes
    # The old key still signs: the pki module keeps every leaf.
    kept = pki.converge(params(store))
    assert kept["summary"]["issued"] == kept["summary"]["renewed"] == 0
    assert accepted(old_client, store / "etcd/ca.crt")

    sign = pki_rotate.advance(str(store), "etcd-ca", "sign")
    assert (sign["from"], sign["stage"]) == ("trust", "sign")
    assert [c.subject for c in certs(store / "etcd/ca.crt")] == [new_ca.subject] * 2
    assert certs(store / "etcd/ca.crt")[0] == new_ca
    reissued = pki.converge(params(store))
    renewed = {e["name"] for e in reissued["certificates"] if e["action"] == "renewed"}
    assert renewed == {
        "etcd-healthcheck-client", "apiserver-etcd-client",
        *(f"etcd-{kind}@cp{i}" for kind in ("server", "peer") for i in (1, 2, 3)),
    }  # fmt: skip
    assert all("not signed by the current CA" in e["reason"] for e in reissued["certificates"]
               if e["action"] == "renewed")  # fmt: skip
    new_client = store / "etcd/healthcheck-client.crt"
    # Both generations work while both CAs are trusted.
    assert accepted(old_client, store / "etcd/ca.crt")
    assert accepted(new_client, store / "etcd/ca.crt")
    # The marker now names the new CA as the store's.
    marker = json.loads((store / "trust.json").read_text())
    assert marker["etcd-ca"].replace(":", "").lower() == (
        "sha256" + new_ca.fingerprint(hashes.SHA256()).hex()
    )

    finishing = pki_rotate.advance(str(store), "etcd-ca", "finishing")
    assert finishing["stage"] == "finishing"
    assert certs(store / "etcd/ca.crt") == [new_ca]
    assert not accepted(old_client, store / "etcd/ca.crt")
    assert accepted(new_client, store / "etcd/ca.crt")
    # The leaves and the marker already follow the new CA since 'sign'.
    assert pki.converge(params(store))["changed"] is False

    done = pki_rotate.advance(str(store), "etcd-ca", "done")
    assert done["stage"] == "done"
    assert not (store / "rotation/etcd-ca/old.key").exists()
    assert not (store / "rotation/etcd-ca/new.key").exists()
    # Nothing else moved: the cluster CA is the same file.
    assert (store / "ca.crt").read_bytes() == cluster_ca


def test_every_step_is_idempotent_and_never_goes_back(store):
    pki_rotate.advance(str(store), "etcd-ca", "trust")
    again = pki_rotate.advance(str(store), "etcd-ca", "trust")
    assert again["changed"] is False
    pki_rotate.advance(str(store), "etcd-ca", "sign")
    before = (store / "etcd/ca.crt").read_bytes()
    assert pki_rotate.advance(str(store), "etcd-ca", "trust")["changed"] is False
    assert pki_rotate.advance(str(store), "etcd-ca", "sign")["changed"] is False
    assert (store / "etcd/ca.crt").read_bytes() == before


def test_later_stages_without_a_rotation_do_nothing(store):
    before = (store / "etcd/ca.crt").read_bytes()
    for stage in ("sign", "finishing", "done"):
        assert pki_rotate.advance(str(store), "etcd-ca", stage)["changed"] is False
    assert (store / "etcd/ca.crt").read_bytes() == before
    assert not (store / "rotation").exists()


def test_a_completed_rotation_lets_the_next_one_start(store):
    for stage in pki_rotate.STAGES:
        pki_rotate.advance(str(store), "etcd-ca", stage)
    first_new = certs(store / "etcd/ca.crt")[0]
    again = pki_rotate.advance(str(store), "etcd-ca", "trust")
    assert (again["from"], again["stage"]) == ("done", "trust")
    assert certs(store / "etcd/ca.crt")[0] == first_new


def test_check_mode_writes_nothing(store):
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    result = pki_rotate.advance(str(store), "etcd-ca", "trust", check_mode=True)
    assert (result["changed"], result["stage"]) == (True, "trust")
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_the_new_key_is_kept_encrypted_like_the_other_ca_keys(tmp_path):
    store = tmp_path / "store"
    pki.converge(params(store, ca_key_passphrase="vault-secret"))
    pki_rotate.advance(str(store), "etcd-ca", "trust", ca_key_passphrase="vault-secret")
    pki_rotate.advance(str(store), "etcd-ca", "sign", ca_key_passphrase="vault-secret")
    assert b"ENCRYPTED" in (store / "etcd/ca.key").read_bytes()
    result = pki.converge(params(store, ca_key_passphrase="vault-secret"))
    assert result["summary"]["renewed"] == 8  # 3 servers, 3 peers, 2 etcd clients
    assert oct(os.stat(store / "etcd/ca.key").st_mode & 0o777) == "0o600"


def test_a_bundle_without_a_recorded_rotation_is_refused(store):
    data = (store / "etcd/ca.crt").read_bytes()
    (store / "etcd/ca.crt").write_bytes(data + (store / "ca.crt").read_bytes())
    with pytest.raises(pki_rotate.RotateError, match="holds 2 certificates but no rotation"):
        pki_rotate.advance(str(store), "etcd-ca", "trust")


def test_a_missing_key_is_not_rotated_from(store):
    (store / "etcd/ca.key").unlink()
    with pytest.raises(pki_rotate.RotateError, match=r"ca\.key is missing: restore"):
        pki_rotate.advance(str(store), "etcd-ca", "trust")


def test_a_key_lost_in_a_recovery_is_replaced_by_the_rotation(store):
    """After pki_store_recover the etcd CA key is lost; rotating is the way on."""
    (store / "etcd/ca.key").unlink()
    (store / "front-proxy-ca.key").unlink()
    (store / "recovery.json").write_text(json.dumps({"lost_keys": ["etcd-ca", "front-proxy-ca"]}))
    with pytest.raises(pki.PKIError, match="the etcd-ca key is lost"):
        pki.converge(params(store, renew_before_days=36500))
    pki_rotate.advance(str(store), "etcd-ca", "trust")
    assert pki.converge(params(store))["changed"] is False  # still nothing needs the key
    pki_rotate.advance(str(store), "etcd-ca", "sign")
    assert pki.converge(params(store))["summary"]["renewed"] == 8
    for stage in ("finishing", "done"):
        pki_rotate.advance(str(store), "etcd-ca", stage)
    assert json.loads((store / "recovery.json").read_text())["lost_keys"] == ["front-proxy-ca"]
    # Renewing everything now stops only at the front-proxy CA, whose key is still lost.
    with pytest.raises(pki.PKIError) as refused:
        pki.converge(params(store, renew_before_days=36500))
    assert "the front-proxy-ca key is lost" in str(refused.value)
    assert "etcd-ca key" not in str(refused.value)
