"""cert_expiry against certificates made by `cryptography`, the clock frozen."""

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from module_runner import run_module

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import x509_der
from ansible_collections.prodgrade.kubernetes.plugins.modules import cert_expiry

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())


def make_cert(cn, not_after, orgs=(), not_before=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    name = x509.Name(attrs)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - datetime.timedelta(days=400))
        .not_valid_after(not_after)
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "not_after",
    [
        datetime.datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC),  # UTCTime
        datetime.datetime(2036, 11, 21, 0, 0, 0, tzinfo=UTC),
        datetime.datetime(2051, 6, 1, 8, 0, 0, tzinfo=UTC),  # GeneralizedTime (2050 and later)
    ],
)
def test_der_reader_agrees_with_cryptography(not_after):
    pem = make_cert("system:node:w1", not_after, orgs=["system:nodes", "extra"])
    (der,) = x509_der.pem_certificates(pem)
    info = x509_der.parse_certificate(der)
    reference = x509.load_pem_x509_certificate(pem)
    assert info["not_after"] == reference.not_valid_after_utc
    assert info["not_before"] == reference.not_valid_before_utc
    assert info["common_name"] == "system:node:w1"
    assert info["organizations"] == ["system:nodes", "extra"]


def test_garbage_is_not_a_certificate():
    with pytest.raises(x509_der.CertificateError):
        x509_der.parse_certificate(b"\x30\x03\x02\x01\x01")


def kubeconfig(client_pem, ca_pem):
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {b64(ca_pem)}\n    server: https://api:6443\n"
        "  name: kubernetes\nusers:\n- name: u\n  user:\n"
        f"    client-certificate-data: {b64(client_pem)}\n    client-key-data: AAAA\n"
    )


def run(monkeypatch, **args):
    monkeypatch.setattr(cert_expiry, "utcnow", lambda: NOW)
    return run_module(cert_expiry.main, args)


def test_reports_files_and_kubeconfigs_soonest_first(tmp_path, monkeypatch):
    pki = tmp_path / "pki"
    (pki / "etcd").mkdir(parents=True)
    (pki / "ca.crt").write_bytes(make_cert("kubernetes-ca", NOW + datetime.timedelta(days=3650)))
    (pki / "etcd" / "server.crt").write_bytes(make_cert("cp1", NOW + datetime.timedelta(days=10)))
    (pki / "old.crt").write_bytes(make_cert("old", NOW - datetime.timedelta(days=2)))
    (pki / "apiserver.key").write_text("not a certificate and not scanned")
    (tmp_path / "kubelet.conf").write_text(
        kubeconfig(
            make_cert("system:node:cp1", NOW + datetime.timedelta(days=200), ["system:nodes"]),
            make_cert("kubernetes-ca", NOW + datetime.timedelta(days=3650)),
        )
    )
    result = run(monkeypatch, paths=[str(tmp_path), str(tmp_path / "nope")])
    got = [(c["path"].replace(str(tmp_path), ""), c["source"], c["status"], c["days_left"])
           for c in result["certificates"]]  # fmt: skip
    assert got == [
        ("/pki/old.crt", "file", "expired", -2),
        ("/pki/etcd/server.crt", "file", "expiring", 10),
        ("/kubelet.conf", "client-certificate-data", "ok", 200),
        ("/kubelet.conf", "certificate-authority-data", "ok", 3650),
        ("/pki/ca.crt", "file", "ok", 3650),
    ]
    kubelet = result["certificates"][2]
    assert kubelet["subject"] == "CN=system:node:cp1,O=system:nodes"
    assert result["summary"] == {"ok": 3, "expiring": 1, "expired": 1, "unreadable": 0}
    assert result["missing"] == [str(tmp_path / "nope")]
    assert result["changed"] is False


def test_corrupt_certificate_is_reported_not_skipped(tmp_path, monkeypatch):
    bad = tmp_path / "bad.crt"
    bad.write_text("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n")
    result = run(monkeypatch, paths=[str(bad)], warn_days=5)
    (entry,) = result["certificates"]
    assert entry["status"] == "unreadable"
    assert entry["error"]
    assert result["summary"]["unreadable"] == 1
