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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
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
    with pytest.raises(pki_rotate.RotateError, match="holds 2 PEM blocks but no rotation"):
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


# --- the cluster CA, the front-proxy CA and the service-account key ----------------------------
#
# The contract of every stage, file by file, over everything the store hands to the hosts: each
# kubeconfig embeds the stage's CA file as its certificate-authority-data and a client
# certificate that file accepts; each leaf is signed by the CA that signs at that stage (the first
# of the file, which is also the only one kubeadm reads from a CA bundle); leaves of the other CAs
# never move.

SIGNED_BY = {
    "ca": ("apiserver.crt", "apiserver-kubelet-client.crt"),
    "front-proxy-ca": ("front-proxy-client.crt",),
}
CA_FILE = {"ca": "ca.crt", "front-proxy-ca": "front-proxy-ca.crt", "etcd-ca": "etcd/ca.crt"}


def kubeconfigs(store):
    return sorted(store.rglob("*.conf"))


def embedded(path, key):
    return pki.kubeconfig_embedded(path.read_bytes(), key)


def issuer_of(cert_pem, ca):
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.verify_directly_issued_by(ca) is None


def is_signed_by(cert_pem, ca):
    try:
        return issuer_of(cert_pem, ca)
    except (ValueError, TypeError, InvalidSignature):
        return False


def snapshot_others(store, ca):
    """Every leaf of the CAs not being rotated, by path: they must not change."""
    others = [name for name in CA_FILE if name != ca]
    keep = {}
    for name in others:
        ca_cert = certs(store / CA_FILE[name])[0]
        for path in store.rglob("*.crt"):
            data = path.read_bytes()
            if path.name != "ca.crt" and is_signed_by(data, ca_cert):
                keep[path] = data
    return keep


def check_stage(store, ca, signer, trusted, untrusted=()):
    """The contract of one stage of the rotation of ``ca`` (see above)."""
    ca_file = store / CA_FILE[ca]
    bundle = certs(ca_file)
    assert bundle[0] == signer
    assert set(bundle) == set(trusted)
    for name in SIGNED_BY[ca]:
        for path in store.rglob(name):
            assert is_signed_by(path.read_bytes(), signer), path
            for other in untrusted:
                assert not is_signed_by(path.read_bytes(), other), path
    if ca != "ca":
        return
    for path in kubeconfigs(store):
        assert embedded(path, "certificate-authority-data") == ca_file.read_bytes(), path
        client = embedded(path, "client-certificate-data")
        assert is_signed_by(client, signer), path
        leaf = store.parent / (path.name + ".client.crt")
        leaf.write_bytes(client)
        assert accepted(leaf, ca_file), path


@pytest.mark.parametrize("ca", ["ca", "front-proxy-ca"])
def test_the_cluster_and_front_proxy_cas_rotate_by_the_same_stages(store, tmp_path, ca):
    old = certs(store / CA_FILE[ca])[0]
    others = snapshot_others(store, ca)
    old_admin = tmp_path / "old-admin.crt"
    old_admin.write_bytes(embedded(store / "admin.conf", "client-certificate-data"))

    pki_rotate.advance(str(store), ca, "trust")
    new = certs(store / CA_FILE[ca])[1]
    assert pki.converge(params(store))["summary"]["renewed"] == 0
    check_stage(store, ca, signer=old, trusted=[old, new])

    pki_rotate.advance(str(store), ca, "sign")
    result = pki.converge(params(store))
    renewed = {e["name"] for e in result["certificates"] if e["action"] == "renewed"}
    if ca == "ca":
        assert renewed == {
            "apiserver-kubelet-client", "admin.conf", "super-admin.conf",
            *(f"{name}@cp{i}" for i in (1, 2, 3) for name in (
                "apiserver", "controller-manager.conf", "scheduler.conf", "kubelet.conf")),
        }  # fmt: skip
        # The admin certificate of before still works while both CAs are trusted.
        assert accepted(old_admin, store / "ca.crt")
    else:
        assert renewed == {"front-proxy-client"}
    check_stage(store, ca, signer=new, trusted=[new, old], untrusted=[old])

    pki_rotate.advance(str(store), ca, "finishing")
    assert pki.converge(params(store))["summary"]["renewed"] == 0
    check_stage(store, ca, signer=new, trusted=[new], untrusted=[old])
    if ca == "ca":
        assert not accepted(old_admin, store / "ca.crt")
    pki_rotate.advance(str(store), ca, "done")
    assert pki.converge(params(store))["changed"] is False
    assert {path: path.read_bytes() for path in others} == others


def sa_token(key_pem, claims=b'{"sub":"system:serviceaccount:kube-system:coredns"}'):
    """A signature over a token body with sa.key, as kube-apiserver signs tokens."""
    key = serialization.load_pem_private_key(key_pem, None)
    return claims, key.sign(claims, ec.ECDSA(hashes.SHA256()))


def sa_verifies(pub_file, token):
    """kube-apiserver accepts a token signed by any key of its --service-account-key-file."""
    claims, signature = token
    blocks = pub_file.read_bytes().split(b"-----END PUBLIC KEY-----")
    for block in blocks[:-1]:
        public = serialization.load_pem_public_key(block + b"-----END PUBLIC KEY-----\n")
        try:
            public.verify(signature, claims, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return True
    return False


def test_the_service_account_key_rotates_with_both_keys_verifying_in_between(store):
    old_token = sa_token((store / "sa.key").read_bytes())
    old_key = (store / "sa.key").read_bytes()

    trust = pki_rotate.advance(str(store), "sa", "trust")
    assert trust["stage"] == "trust" and "signing_since" not in trust
    assert (store / "sa.key").read_bytes() == old_key  # the old key still signs
    assert (store / "sa.pub").read_bytes().count(b"BEGIN PUBLIC KEY") == 2
    assert pki.converge(params(store))["changed"] is False  # sa.pub's first key is sa.key's
    new_token_source = store / "rotation/sa/new.key"
    future_token = sa_token(new_token_source.read_bytes())
    assert sa_verifies(store / "sa.pub", old_token)
    assert sa_verifies(store / "sa.pub", future_token)  # hosts accept the new key before it signs

    sign = pki_rotate.advance(str(store), "sa", "sign")
    assert sign["signing_since"]
    assert (store / "sa.key").read_bytes() != old_key
    signed = pki.converge(params(store))
    assert signed["summary"]["renewed"] == 0  # nothing is signed by sa.key but tokens
    assert signed["changed_files"] == ["trust.json"]  # the store's record of the new key
    new_token = sa_token((store / "sa.key").read_bytes())
    assert sa_verifies(store / "sa.pub", old_token)  # tokens already handed out keep working
    assert sa_verifies(store / "sa.pub", new_token)

    pki_rotate.advance(str(store), "sa", "finishing")
    assert pki.converge(params(store))["changed"] is False
    assert not sa_verifies(store / "sa.pub", old_token)
    assert sa_verifies(store / "sa.pub", new_token)
    assert pki_rotate.advance(str(store), "sa", "done")["signing_since"] == sign["signing_since"]
    assert not (store / "rotation/sa/new.key").exists()
