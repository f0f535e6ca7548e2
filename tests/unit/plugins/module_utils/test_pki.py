# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/pki.py: real keys and certificates in a temporary store,
with the module's clock frozen (``pki.utcnow``)."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import re
import stat
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    DNSName,
    ExtensionPolicy,
    IPAddress,
    PolicyBuilder,
    Store,
    VerificationError,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SKEW = datetime.timedelta(minutes=5)
SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH

CP = [
    {"host": "cp1", "name": "cp1", "ip": "192.0.2.11", "extra_names": ["cp1.example.com"]},
    {"host": "cp2", "name": "cp2", "ip": "192.0.2.12", "extra_names": []},
    {"host": "cp3", "name": "cp3", "ip": "192.0.2.13", "extra_names": []},
]
WORKERS = [
    {"host": "worker1", "name": "worker1", "ip": "192.0.2.21"},
    {"host": "worker2", "name": "worker2", "ip": "192.0.2.22"},
]


def plain(entries):
    return [{k: v for k, v in entry.items() if k != "extra_names"} for entry in entries]


def make_params(store, **overrides):
    params = {
        "store": str(store),
        "api_endpoint": "k8s-api.example.com",
        "control_plane": CP,
        "etcd": plain(CP),
        "nodes": plain(CP) + WORKERS,
    }
    params.update(overrides)
    return params


class Clock:
    def __init__(self):
        self.now = NOW

    def advance(self, **delta):
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock()
    monkeypatch.setattr(pki, "utcnow", lambda: frozen.now)
    return frozen


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def built(store, clock):
    """A store made once with the default inventory."""
    result = pki.converge(make_params(store))
    assert result["changed"] is True
    return result


def snapshot(root):
    """Every file and directory below ``root``: content, mode and mtime, or None if absent."""
    if not os.path.exists(root):
        return None
    seen = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.stat(path)
            data = None
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    data = handle.read()
            seen[os.path.relpath(path, root)] = (data, stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    info = os.stat(root)
    seen["."] = (None, stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return seen


def read(store, rel):
    return (store / rel).read_bytes()


def cert(store, rel):
    return x509.load_pem_x509_certificate(read(store, rel))


def key(store, rel, password=None):
    return serialization.load_pem_private_key(read(store, rel), password)


def pub_der(public_key):
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kubeconfig(store, rel):
    """The parsed kubeconfig and its embedded CA, certificate and key."""
    doc = yaml.safe_load(read(store, rel))
    user = doc["users"][0]["user"]
    return (
        doc,
        base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]),
        x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"])),
        serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), None),
    )


def verify_signed(leaf, issuer):
    """The signature of ``leaf`` verifies with the public key of ``issuer`` (raises if not)."""
    public = issuer.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        from cryptography.hazmat.primitives.asymmetric import padding

        public.verify(
            leaf.signature,
            leaf.tbs_certificate_bytes,
            padding.PKCS1v15(),
            leaf.signature_hash_algorithm,
        )
    else:
        public.verify(
            leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
        )
    assert leaf.issuer == issuer.subject


def ext(certificate, kind):
    return certificate.extensions.get_extension_for_class(kind)


def sans_of(certificate):
    try:
        names = ext(certificate, x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    dns = {f"DNS:{value}" for value in names.get_values_for_type(x509.DNSName)}
    ips = {f"IP:{value}" for value in names.get_values_for_type(x509.IPAddress)}
    return dns | ips


def entries_of_cas_and_sa():
    return ("ca", "etcd-ca", "front-proxy-ca", "sa")


def by_name(result):
    return {entry["name"]: entry for entry in result["certificates"]}


def apiserver_sans(name, ip, *extra):
    return {
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
        "DNS:k8s-api.example.com",
        f"DNS:{name}",
        "IP:10.96.0.1",
        f"IP:{ip}",
        *extra,
    }


def etcd_sans(name, ip):
    return {f"DNS:{name}", "DNS:localhost", f"IP:{ip}", "IP:127.0.0.1", "IP:::1"}


# (store file, CN, O, issuing CA file, EKU, SANs)
LEAVES = [
    ("hosts/cp1/apiserver.crt", "kube-apiserver", None, "ca.crt", [SERVER],
     apiserver_sans("cp1", "192.0.2.11", "DNS:cp1.example.com")),
    ("hosts/cp2/apiserver.crt", "kube-apiserver", None, "ca.crt", [SERVER],
     apiserver_sans("cp2", "192.0.2.12")),
    ("hosts/cp3/apiserver.crt", "kube-apiserver", None, "ca.crt", [SERVER],
     apiserver_sans("cp3", "192.0.2.13")),
    ("apiserver-kubelet-client.crt", "kube-apiserver-kubelet-client", "kubeadm:cluster-admins",
     "ca.crt", [CLIENT], set()),
    ("apiserver-etcd-client.crt", "kube-apiserver-etcd-client", None, "etcd/ca.crt", [CLIENT],
     set()),
    ("front-proxy-client.crt", "front-proxy-client", None, "front-proxy-ca.crt", [CLIENT], set()),
    ("etcd/healthcheck-client.crt", "kube-etcd-healthcheck-client", None, "etcd/ca.crt",
     [CLIENT], set()),
] + [
    (f"hosts/{h}/etcd/{kind}.crt", h, None, "etcd/ca.crt", [SERVER, CLIENT], etcd_sans(h, ip))
    for h, ip in (("cp1", "192.0.2.11"), ("cp2", "192.0.2.12"), ("cp3", "192.0.2.13"))
    for kind in ("server", "peer")
]  # fmt: skip

# (store file, CN, O, server)
KUBECONFIGS = [
    ("admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", "https://k8s-api.example.com:6443"),
    ("super-admin.conf", "kubernetes-super-admin", "system:masters",
     "https://k8s-api.example.com:6443"),
    ("hosts/cp2/controller-manager.conf", "system:kube-controller-manager", None,
     "https://192.0.2.12:6443"),
    ("hosts/cp2/scheduler.conf", "system:kube-scheduler", None, "https://192.0.2.12:6443"),
    # A control-plane kubelet talks to its own API server (ControlPlaneKubeletLocalMode).
    ("hosts/cp1/kubelet.conf", "system:node:cp1", "system:nodes", "https://192.0.2.11:6443"),
    ("hosts/worker2/kubelet.conf", "system:node:worker2", "system:nodes",
     "https://k8s-api.example.com:6443"),
]  # fmt: skip

CA_FILES = {
    "ca.crt": "kubernetes-ca",
    "etcd/ca.crt": "etcd-ca",
    "front-proxy-ca.crt": "kubernetes-front-proxy-ca",
}


def expected_store_files(cps=("cp1", "cp2", "cp3"), etcd=("cp1", "cp2", "cp3"), workers=2):
    files = {
        "ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key", "front-proxy-ca.crt",
        "front-proxy-ca.key", "sa.key", "sa.pub", "apiserver-kubelet-client.crt",
        "apiserver-kubelet-client.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
        "front-proxy-client.crt", "front-proxy-client.key", "etcd/healthcheck-client.crt",
        "etcd/healthcheck-client.key", "admin.conf", "super-admin.conf", "trust.json",
    }  # fmt: skip
    for host in cps:
        files |= {f"hosts/{host}/apiserver.crt", f"hosts/{host}/apiserver.key"}
        files |= {f"hosts/{host}/controller-manager.conf", f"hosts/{host}/scheduler.conf"}
        files.add(f"hosts/{host}/kubelet.conf")
    for host in etcd:
        for kind in ("server", "peer"):
            files |= {f"hosts/{host}/etcd/{kind}.crt", f"hosts/{host}/etcd/{kind}.key"}
    for index in range(1, workers + 1):
        files.add(f"hosts/worker{index}/kubelet.conf")
    return files


# --- input parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("k8s-api.example.com", ("k8s-api.example.com", 6443)),
        ("K8S-API.Example.com:8443", ("k8s-api.example.com", 8443)),
        ("192.0.2.10", ("192.0.2.10", 6443)),
        ("192.0.2.10:443", ("192.0.2.10", 443)),
        ("[2001:db8::10]:6443", ("2001:db8::10", 6443)),
        ("[2001:DB8:0::10]", ("2001:db8::10", 6443)),
        ("2001:db8::10", ("2001:db8::10", 6443)),
        ("localhost", ("localhost", 6443)),
    ],
)
def test_parse_api_endpoint(value, expected):
    assert pki.parse_api_endpoint(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "api_endpoint is empty"),
        ("https://k8s.example.com:6443", "looks like a URL"),
        ("k8s.example.com:0", "the port must be a number from 1 to 65535"),
        ("k8s.example.com:http", "has port 'http'"),
        ("[192.0.2.1]:6443", "is not an IPv6 address"),
        ("[2001:db8::1]6443", "is not a valid [IPv6]:port"),
        ("2001:db8::zz", "is not a valid IPv6 address"),
        ("bad_name.example.com", "'bad_name.example.com' is neither an IP address nor a valid DNS"),
        ("*.example.com", "is neither an IP address nor a valid DNS name"),
        ("10.0.0.256", "is neither an IP address nor a valid DNS name"),
    ],
)
def test_parse_api_endpoint_rejects(value, message):
    with pytest.raises(pki.PKIError, match="api_endpoint") as info:
        pki.parse_api_endpoint(value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.96.0.0/12", ["10.96.0.1"]),
        ("10.96.0.5/12", ["10.96.0.1"]),
        ("172.30.0.0/16", ["172.30.0.1"]),
        ("10.96.0.0/12, fd00:10:96::/112", ["10.96.0.1", "fd00:10:96::1"]),
        ("fd00:10:96::/112,10.96.0.0/12", ["fd00:10:96::1", "10.96.0.1"]),
    ],
)
def test_service_ips(cidr, expected):
    assert pki.service_ips(cidr) == expected


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("", "is empty"),
        ("10.96.0.0/12,", "has an empty entry"),
        ("10.96.0.0", "is not a CIDR"),
        ("10.96.0.0/33", "is not a CIDR"),
        ("10.96.0.1/32", "has no room"),
        ("10.96.0.0/12,10.100.0.0/16", "has two IPv4 networks"),
        ("10.96.0.0/12,fd00::/112,10.1.0.0/16", "has 3 entries"),
    ],
)
def test_service_ips_rejects(cidr, message):
    with pytest.raises(pki.PKIError) as info:
        pki.service_ips(cidr)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "wildcard", "valid"),
    [
        ("kubernetes", False, True),
        ("a.b-c.example.com", False, True),
        ("x" * 63 + ".com", False, True),
        ("x" * 64 + ".com", False, False),
        (".".join(["a" * 62] * 4), False, True),  # 251 characters
        (".".join(["a" * 62] * 4) + ".bb", False, False),  # 254 characters
        ("-bad.com", False, False),
        ("bad-.com", False, False),
        ("bad_name.com", False, False),
        ("a..b", False, False),
        ("", False, False),
        ("1.2.3", False, False),
        ("*.example.com", False, False),
        ("*.example.com", True, True),
        ("*.*.example.com", True, False),
        ("a.*.example.com", True, False),
        ("x.1a", False, True),
    ],
)
def test_is_dns_name(name, wildcard, valid):
    assert pki.is_dns_name(name, wildcard=wildcard) is valid


# --- a fresh store ----------------------------------------------------------------------------


def test_first_run_creates_the_whole_layout_with_modes(store, built):
    files = {os.path.relpath(os.path.join(d, f), store) for d, _, fs in os.walk(store) for f in fs}
    assert files == expected_store_files()
    for rel in files:
        mode = stat.S_IMODE(os.stat(store / rel).st_mode)
        wanted = 0o644 if rel.endswith((".crt", ".pub", ".json")) else 0o600
        assert mode == wanted, rel
    for directory, dirs, _ in os.walk(store):
        for name in [".", *dirs]:
            assert stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode) == 0o700
    # 3 CAs + sa + 3 apiserver + 4 shared leaves + 6 etcd + admin + super-admin + 3x2 + 5 kubelets
    assert built["summary"] == {"issued": 30, "renewed": 0, "kept": 0}
    assert all(entry["action"] == "issued" for entry in built["certificates"])
    assert all(entry["reason"] == "missing" for entry in built["certificates"])
    assert set(built["changed_files"]) == files
    assert built["distribute_ca_keys"] is True
    assert built["store"] == str(store)
    assert built["warnings"] == []


def test_result_never_contains_key_material(built):
    text = repr(built)
    assert "PRIVATE KEY" not in text
    assert "BEGIN" not in text


@pytest.mark.parametrize(("path", "cn"), CA_FILES.items())
def test_ca_certificates(store, built, path, cn):
    ca = cert(store, path)
    assert ca.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    assert ca.issuer == ca.subject
    verify_signed(ca, ca)
    constraints = ext(ca, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value == x509.BasicConstraints(ca=True, path_length=0)
    usage = ext(ca, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.key_encipherment
    assert usage.value.key_cert_sign
    assert not usage.value.crl_sign and not usage.value.content_commitment
    assert ext(ca, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(
        ca.public_key()
    )
    assert ca.not_valid_before_utc == NOW - SKEW
    assert ca.not_valid_after_utc == NOW + datetime.timedelta(days=3650)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"
    assert ca.serial_number > 0
    ca_key = key(store, path.replace(".crt", ".key"))
    assert pub_der(ca_key.public_key()) == pub_der(ca.public_key())
    entry = next(e for e in built["certificates"] if e["file"] == path)
    assert entry["subject"] == f"CN={cn}"
    assert entry["not_after"] == pki.isoformat(NOW + datetime.timedelta(days=3650))


@pytest.mark.parametrize(("path", "cn", "org", "issuer", "eku", "sans"), LEAVES)
def test_leaf_certificates(store, built, path, cn, org, issuer, eku, sans):
    leaf = cert(store, path)
    ca = cert(store, issuer)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    assert [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == (
        [org] if org else []
    )
    assert len(leaf.subject) == (2 if org else 1)
    verify_signed(leaf, ca)
    for other in CA_FILES:
        if other != issuer:
            with pytest.raises(Exception):  # noqa: B017 - any verification failure
                verify_signed(leaf, cert(store, other))
    usage = ext(leaf, x509.KeyUsage)
    assert usage.critical
    assert usage.value == x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    assert list(ext(leaf, x509.ExtendedKeyUsage).value) == eku
    assert sans_of(leaf) == sans
    assert ext(leaf, x509.BasicConstraints).value.ca is False
    assert ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == (
        ext(ca, x509.SubjectKeyIdentifier).value.digest
    )
    assert ext(leaf, x509.SubjectKeyIdentifier).value == (
        x509.SubjectKeyIdentifier.from_public_key(leaf.public_key())
    )
    assert leaf.not_valid_before_utc == NOW - SKEW
    assert leaf.not_valid_after_utc == NOW + datetime.timedelta(days=365)
    leaf_key = key(store, path.replace(".crt", ".key"))
    assert isinstance(leaf_key, ec.EllipticCurvePrivateKey)
    assert pub_der(leaf_key.public_key()) == pub_der(leaf.public_key())
    assert read(store, path.replace(".crt", ".key")).startswith(b"-----BEGIN PRIVATE KEY-----")
    entry = next(e for e in built["certificates"] if e["file"] == path)
    assert set(entry["sans"]) == sans
    assert entry["not_after"] == "2027-03-01T12:00:00Z"
    assert entry["subject"] == leaf.subject.rfc4514_string()


def test_leaf_names_in_report(built):
    assert [entry["name"] for entry in built["certificates"]] == [
        "ca", "etcd-ca", "front-proxy-ca", "sa",
        "apiserver@cp1", "apiserver@cp2", "apiserver@cp3",
        "apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client",
        "etcd-healthcheck-client",
        "etcd-server@cp1", "etcd-peer@cp1", "etcd-server@cp2", "etcd-peer@cp2",
        "etcd-server@cp3", "etcd-peer@cp3",
        "admin.conf", "super-admin.conf",
        "controller-manager.conf@cp1", "scheduler.conf@cp1",
        "controller-manager.conf@cp2", "scheduler.conf@cp2",
        "controller-manager.conf@cp3", "scheduler.conf@cp3",
        "kubelet.conf@cp1", "kubelet.conf@cp2", "kubelet.conf@cp3",
        "kubelet.conf@worker1", "kubelet.conf@worker2",
    ]  # fmt: skip


@pytest.mark.parametrize("host", ["cp1", "cp2", "cp3"])
@pytest.mark.parametrize(
    "name",
    [
        DNSName("kubernetes.default.svc.cluster.local"),
        DNSName("kubernetes"),
        DNSName("k8s-api.example.com"),
        IPAddress(ipaddress.ip_address("10.96.0.1")),
    ],
)
def test_apiserver_certificates_verify_as_tls_servers(store, built, host, name):
    verifier = (
        PolicyBuilder().store(Store([cert(store, "ca.crt")])).time(NOW).build_server_verifier(name)
    )
    chain = verifier.verify(cert(store, f"hosts/{host}/apiserver.crt"), [])
    assert chain[-1] == cert(store, "ca.crt")


def test_apiserver_certificate_verifies_for_its_own_node_only(store, built):
    ca = Store([cert(store, "ca.crt")])
    own = PolicyBuilder().store(ca).time(NOW).build_server_verifier(DNSName("cp2"))
    own.verify(cert(store, "hosts/cp2/apiserver.crt"), [])
    ip = IPAddress(ipaddress.ip_address("192.0.2.12"))
    PolicyBuilder().store(ca).time(NOW).build_server_verifier(ip).verify(
        cert(store, "hosts/cp2/apiserver.crt"), []
    )
    with pytest.raises(VerificationError):
        own.verify(cert(store, "hosts/cp1/apiserver.crt"), [])
    wrong_ca = Store([cert(store, "etcd/ca.crt")])
    with pytest.raises(VerificationError):
        PolicyBuilder().store(wrong_ca).time(NOW).build_server_verifier(DNSName("cp2")).verify(
            cert(store, "hosts/cp2/apiserver.crt"), []
        )


@pytest.mark.parametrize("kind", ["server", "peer"])
@pytest.mark.parametrize(
    "name",
    [
        DNSName("cp3"),
        DNSName("localhost"),
        IPAddress(ipaddress.ip_address("192.0.2.13")),
        IPAddress(ipaddress.ip_address("127.0.0.1")),
        IPAddress(ipaddress.ip_address("::1")),
    ],
)
def test_etcd_certificates_verify_as_tls_servers(store, built, kind, name):
    verifier = (
        PolicyBuilder()
        .store(Store([cert(store, "etcd/ca.crt")]))
        .time(NOW)
        .build_server_verifier(name)
    )
    verifier.verify(cert(store, f"hosts/cp3/etcd/{kind}.crt"), [])


def client_verifier(ca):
    """A TLS client verifier that, unlike the web PKI defaults, lets client certificates go
    without SANs (Kubernetes identifies clients by subject)."""
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return (
        PolicyBuilder()
        .store(Store([ca]))
        .time(NOW)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )


@pytest.mark.parametrize(
    ("path", "issuer"),
    [
        ("apiserver-kubelet-client.crt", "ca.crt"),
        ("apiserver-etcd-client.crt", "etcd/ca.crt"),
        ("front-proxy-client.crt", "front-proxy-ca.crt"),
        ("etcd/healthcheck-client.crt", "etcd/ca.crt"),
        ("hosts/cp1/etcd/peer.crt", "etcd/ca.crt"),
    ],
)
def test_client_certificates_verify_as_tls_clients(store, built, path, issuer):
    client_verifier(cert(store, issuer)).verify(cert(store, path), [])
    with pytest.raises(VerificationError):
        other = "front-proxy-ca.crt" if issuer != "front-proxy-ca.crt" else "ca.crt"
        client_verifier(cert(store, other)).verify(cert(store, path), [])


def test_server_only_certificate_is_no_client(store, built):
    with pytest.raises(VerificationError, match="EKU"):
        client_verifier(cert(store, "ca.crt")).verify(cert(store, "hosts/cp1/apiserver.crt"), [])


@pytest.mark.parametrize(("path", "cn", "org", "server"), KUBECONFIGS)
def test_kubeconfigs(store, built, path, cn, org, server):
    doc, ca_data, client, client_key = kubeconfig(store, path)
    assert doc["apiVersion"] == "v1"
    assert doc["kind"] == "Config"
    assert doc["clusters"] == [
        {"name": "kubernetes", "cluster": doc["clusters"][0]["cluster"]},
    ]
    assert doc["clusters"][0]["cluster"]["server"] == server
    assert doc["contexts"] == [
        {"name": f"{cn}@kubernetes", "context": {"cluster": "kubernetes", "user": cn}}
    ]
    assert doc["current-context"] == f"{cn}@kubernetes"
    assert [user["name"] for user in doc["users"]] == [cn]
    assert ca_data == read(store, "ca.crt")
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    orgs = [a.value for a in client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    assert list(ext(client, x509.ExtendedKeyUsage).value) == [CLIENT]
    assert sans_of(client) == set()
    verify_signed(client, cert(store, "ca.crt"))
    client_verifier(cert(store, "ca.crt")).verify(client, [])
    assert pub_der(client_key.public_key()) == pub_der(client.public_key())
    assert stat.S_IMODE(os.stat(store / path).st_mode) == 0o600


def test_kubeconfig_servers_of_every_control_plane_host(store, built):
    for entry in CP:
        for conf in ("controller-manager.conf", "scheduler.conf"):
            doc = kubeconfig(store, f"hosts/{entry['host']}/{conf}")[0]
            assert doc["clusters"][0]["cluster"]["server"] == f"https://{entry['ip']}:6443"


def test_control_plane_kubelets_use_the_endpoint_when_local_mode_is_off(store, clock):
    pki.converge(make_params(store))
    before = kubeconfig(store, "hosts/cp1/kubelet.conf")[0]
    result = pki.converge(make_params(store, control_plane_kubelet_local=False))
    after = kubeconfig(store, "hosts/cp1/kubelet.conf")[0]
    assert before["clusters"][0]["cluster"]["server"] == "https://192.0.2.11:6443"
    assert after["clusters"][0]["cluster"]["server"] == "https://k8s-api.example.com:6443"
    # Only the control-plane kubelets' kubeconfigs change; the workers' already used it.
    changed = {path for path in result["changed_files"] if path.endswith("kubelet.conf")}
    assert changed == {f"hosts/{entry['host']}/kubelet.conf" for entry in CP}


def test_ipv6_dual_stack_and_custom_names(store, clock):
    v6_cp = [{"host": "m1", "name": "m1", "ip": "2001:db8::11"}]
    args = {
        "api_endpoint": "[2001:DB8::10]:8443",
        "service_cidr": "10.96.0.0/12,fd00:10:96::/112",
        "dns_domain": "Corp.Example",
        "cluster_name": "prod-eu.1",
        "apiserver_bind_port": 16443,
        "extra_sans": ["*.k8s.example.com", "198.51.100.7", "API.example.com"],
        "control_plane": v6_cp,
        "etcd": v6_cp,
        "nodes": v6_cp,
    }
    assert pki.converge(make_params(store, **args))["changed"] is True
    assert sans_of(cert(store, "hosts/m1/apiserver.crt")) == {
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.corp.example",
        "DNS:m1",
        "DNS:*.k8s.example.com",
        "DNS:api.example.com",
        "IP:10.96.0.1",
        "IP:fd00:10:96::1",
        "IP:2001:db8::10",
        "IP:2001:db8::11",
        "IP:198.51.100.7",
    }
    assert sans_of(cert(store, "hosts/m1/etcd/server.crt")) == etcd_sans("m1", "2001:db8::11")
    doc = kubeconfig(store, "admin.conf")[0]
    assert doc["clusters"][0]["cluster"]["server"] == "https://[2001:db8::10]:8443"
    assert doc["clusters"][0]["name"] == "prod-eu.1"
    assert doc["current-context"] == "kubernetes-admin@prod-eu.1"
    doc = kubeconfig(store, "hosts/m1/scheduler.conf")[0]
    assert doc["clusters"][0]["cluster"]["server"] == "https://[2001:db8::11]:16443"
    verifier = (
        PolicyBuilder()
        .store(Store([cert(store, "ca.crt")]))
        .time(NOW)
        .build_server_verifier(IPAddress(ipaddress.ip_address("fd00:10:96::1")))
    )
    verifier.verify(cert(store, "hosts/m1/apiserver.crt"), [])
    assert pki.converge(make_params(store, **args))["changed"] is False


def test_bare_ipv6_endpoint_gets_default_port(store, clock):
    pki.converge(make_params(store, api_endpoint="2001:db8::10"))
    doc = kubeconfig(store, "hosts/worker1/kubelet.conf")[0]
    assert doc["clusters"][0]["cluster"]["server"] == "https://[2001:db8::10]:6443"
    assert "IP:2001:db8::10" in sans_of(cert(store, "hosts/cp1/apiserver.crt"))


def test_service_account_key_pair(store, built):
    sa_key = key(store, "sa.key")
    assert isinstance(sa_key, ec.EllipticCurvePrivateKey)
    assert read(store, "sa.key").startswith(b"-----BEGIN PRIVATE KEY-----")
    sa_pub = serialization.load_pem_public_key(read(store, "sa.pub"))
    assert read(store, "sa.pub").startswith(b"-----BEGIN PUBLIC KEY-----")
    assert pub_der(sa_pub) == pub_der(sa_key.public_key())
    assert by_name(built)["sa"] == {
        "name": "sa",
        "file": "sa.key",
        "action": "issued",
        "reason": "missing",
        "subject": None,
        "sans": [],
        "not_after": None,
    }


def test_missing_sa_pub_is_derived_from_the_key(store, built, clock):
    sa_key = read(store, "sa.key")
    pub = read(store, "sa.pub")
    (store / "sa.pub").unlink()
    result = pki.converge(make_params(store))
    assert result["changed_files"] == ["sa.pub"]
    assert by_name(result)["sa"]["action"] == "kept"
    assert "sa.pub missing" in by_name(result)["sa"]["reason"]
    assert read(store, "sa.key") == sa_key
    assert read(store, "sa.pub") == pub


# --- idempotence and renewal ------------------------------------------------------------------


def test_second_run_writes_nothing(store, built, clock):
    before = snapshot(store)
    clock.advance(days=100)
    result = pki.converge(make_params(store))
    assert result["changed"] is False
    assert result["changed_files"] == []
    assert result["summary"] == {"issued": 0, "renewed": 0, "kept": 30}
    assert all(entry["reason"] is None for entry in result["certificates"])
    assert snapshot(store) == before
    kept = by_name(result)
    assert kept["apiserver@cp1"]["not_after"] == "2027-03-01T12:00:00Z"
    assert set(kept["apiserver@cp1"]["sans"]) == LEAVES[0][5]
    assert result["host_files"] == built["host_files"]


def test_renewal_window_renews_leaves_with_new_keys_and_keeps_cas(store, built, clock):
    old_keys = {rel: read(store, rel) for rel in expected_store_files() if rel.endswith(".key")}
    old_kubelet = kubeconfig(store, "hosts/worker1/kubelet.conf")
    clock.advance(days=334)  # expires in 31 days: still outside the 30-day window
    assert pki.converge(make_params(store))["changed"] is False
    clock.advance(days=2)  # now within 30 days
    result = pki.converge(make_params(store))
    assert result["changed"] is True
    entries = by_name(result)
    for name in ("ca", "etcd-ca", "front-proxy-ca", "sa"):
        assert entries[name]["action"] == "kept"
        assert entries[name]["reason"] is None
    leaves = [e for e in result["certificates"] if e["name"] not in entries_of_cas_and_sa()]
    assert len(leaves) == 26
    for entry in leaves:
        assert entry["action"] == "renewed", entry
        assert entry["reason"] == "expires on 2027-03-01T12:00:00Z (within 30 days)"
        assert entry["not_after"] == pki.isoformat(clock.now + datetime.timedelta(days=365))
    for rel, data in old_keys.items():
        if rel in ("ca.key", "etcd/ca.key", "front-proxy-ca.key", "sa.key"):
            assert read(store, rel) == data, rel
        else:
            assert read(store, rel) != data, rel
    for rel in CA_FILES:
        assert rel not in result["changed_files"]
    new_kubelet = kubeconfig(store, "hosts/worker1/kubelet.conf")
    assert pub_der(new_kubelet[3].public_key()) != pub_der(old_kubelet[3].public_key())
    assert new_kubelet[2].not_valid_before_utc == clock.now - SKEW
    verify_signed(new_kubelet[2], cert(store, "ca.crt"))
    assert pki.converge(make_params(store))["changed"] is False


def test_expired_leaf_is_renewed(store, built, clock):
    clock.advance(days=400)
    result = pki.converge(make_params(store))
    assert by_name(result)["front-proxy-client"]["reason"] == "expired on 2027-03-01T12:00:00Z"


def test_leaves_never_outlive_their_ca_and_are_not_renewed_in_vain(store, clock):
    params = make_params(store, ca_validity_days=100)
    first = pki.converge(params)
    ca_end = cert(store, "ca.crt").not_valid_after_utc
    assert ca_end == NOW + datetime.timedelta(days=100)
    assert cert(store, "hosts/cp1/apiserver.crt").not_valid_after_utc == ca_end
    assert by_name(first)["admin.conf"]["not_after"] == pki.isoformat(ca_end)
    clock.advance(days=80)  # the CA (and every leaf) ends within 30 days
    before = snapshot(store)
    result = pki.converge(params)
    assert result["changed"] is False
    assert snapshot(store) == before
    assert len(result["warnings"]) == 3
    warning = result["warnings"][0]
    assert warning.startswith(
        f"The ca certificate {store}/ca.crt expires on 2026-06-09T12:00:00Z, within 30 days."
    )
    assert "never renews a CA" in warning
    assert "manual-rotation-of-ca-certificates" in warning


def test_renew_before_days_beyond_the_validity_forces_a_renewal(store, built, clock):
    """What the certs_renew playbook does: every leaf is due, CAs and the SA pair stay."""
    clock.advance(days=1)
    keep = {rel: read(store, rel) for rel in (*CA_FILES, "ca.key", "sa.key", "sa.pub")}
    for _ in range(2):
        result = pki.converge(make_params(store, renew_before_days=36500))
        assert result["summary"] == {"issued": 0, "renewed": 26, "kept": 4}
        assert by_name(result)["admin.conf"]["reason"].endswith("(within 36500 days)")
        assert result["warnings"] == []  # the CAs outlive a full leaf validity
        for rel, data in keep.items():
            assert read(store, rel) == data
    assert pki.converge(make_params(store))["changed"] is False


def test_ca_warning_window_is_capped_by_the_leaf_validity(store, clock):
    pki.converge(make_params(store, ca_validity_days=200, cert_validity_days=100))
    clock.advance(days=99)  # the CAs end in 101 days, after any leaf issued now
    result = pki.converge(make_params(store, cert_validity_days=100, renew_before_days=36500))
    assert result["warnings"] == []
    clock.advance(days=2)  # 99 days left: a leaf issued now would be cut short
    result = pki.converge(make_params(store, cert_validity_days=100, renew_before_days=36500))
    assert len(result["warnings"]) == 3
    assert "within 100 days" in result["warnings"][0]


def test_mode_drift_is_repaired_without_rewriting(store, built, clock):
    (store / "hosts/cp1/apiserver.key").chmod(0o644)
    (store / "admin.conf").chmod(0o640)
    (store / "ca.crt").chmod(0o600)
    (store / "hosts").chmod(0o755)
    before = snapshot(store)
    result = pki.converge(make_params(store))
    assert result["changed"] is True
    assert result["changed_files"] == ["admin.conf", "ca.crt", "hosts/cp1/apiserver.key"]
    entries = by_name(result)
    assert entries["apiserver@cp1"]["action"] == "kept"
    assert entries["apiserver@cp1"]["reason"] == "mode of hosts/cp1/apiserver.key set to 0600"
    assert entries["admin.conf"]["reason"] == "mode of admin.conf set to 0600"
    assert entries["ca"]["reason"] == "mode of ca.crt set to 0644"
    after = snapshot(store)
    assert stat.S_IMODE(os.stat(store / "hosts").st_mode) == 0o700
    for rel in ("hosts/cp1/apiserver.key", "admin.conf", "ca.crt"):
        assert after[rel][0] == before[rel][0]
        assert after[rel][2] == before[rel][2]  # content untouched, only the mode changed
    assert stat.S_IMODE(os.stat(store / "ca.crt").st_mode) == 0o644
    assert pki.converge(make_params(store))["changed"] is False


def test_existing_store_dir_gets_mode_0700(store, clock):
    store.mkdir(mode=0o755)
    store.chmod(0o755)
    pki.converge(make_params(store))
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700


# --- changes of the input ---------------------------------------------------------------------


def unchanged_except(before, after, changed):
    """Files outside ``changed`` are byte-identical with the same mtime."""
    for rel, state in before.items():
        if rel in changed or state[0] is None:
            continue
        assert after[rel] == state, rel


def test_new_extra_san_reissues_only_the_apiserver_certificates(store, built, clock):
    before = snapshot(store)
    result = pki.converge(make_params(store, extra_sans=["api.example.org", "203.0.113.9"]))
    changed = {e["name"] for e in result["certificates"] if e["action"] != "kept"}
    assert changed == {"apiserver@cp1", "apiserver@cp2", "apiserver@cp3"}
    for name in changed:
        entry = by_name(result)[name]
        assert entry["action"] == "renewed"
        assert entry["reason"] == "SANs differ: +DNS:api.example.org +IP:203.0.113.9"
    assert result["changed_files"] == [
        f"hosts/{h}/apiserver.{ext}" for h in ("cp1", "cp2", "cp3") for ext in ("crt", "key")
    ]
    unchanged_except(before, snapshot(store), set(result["changed_files"]))
    assert {"DNS:api.example.org", "IP:203.0.113.9"} <= sans_of(
        cert(store, "hosts/cp2/apiserver.crt")
    )


def test_extra_name_of_one_control_plane_host_reissues_its_certificate_only(store, built, clock):
    before = snapshot(store)
    cps = [dict(entry) for entry in CP]
    cps[1]["extra_names"] = ["198.51.100.2"]
    cps[0]["extra_names"] = []
    result = pki.converge(make_params(store, control_plane=cps))
    renewed = {e["name"]: e["reason"] for e in result["certificates"] if e["action"] != "kept"}
    assert renewed == {
        "apiserver@cp1": "SANs differ: -DNS:cp1.example.com",
        "apiserver@cp2": "SANs differ: +IP:198.51.100.2",
    }
    unchanged_except(before, snapshot(store), set(result["changed_files"]))


def test_new_node_ip_of_a_control_plane_host(store, built, clock):
    cps = [dict(entry) for entry in CP]
    cps[2]["ip"] = "192.0.2.33"
    members = plain(cps)
    result = pki.converge(
        make_params(store, control_plane=cps, etcd=members, nodes=members + WORKERS)
    )
    entries = by_name(result)
    acted = {name for name, e in entries.items() if e["reason"] is not None}
    assert acted == {
        "apiserver@cp3",
        "etcd-server@cp3",
        "etcd-peer@cp3",
        "controller-manager.conf@cp3",
        "scheduler.conf@cp3",
        # Its kubelet talks to its own API server, at the new address.
        "kubelet.conf@cp3",
    }
    assert entries["apiserver@cp3"]["reason"] == "SANs differ: +IP:192.0.2.33 -IP:192.0.2.13"
    assert entries["etcd-peer@cp3"]["reason"] == "SANs differ: +IP:192.0.2.33 -IP:192.0.2.13"
    # the client certificate of the kubeconfig stays, only the server changes
    assert entries["scheduler.conf@cp3"]["action"] == "kept"
    assert entries["scheduler.conf@cp3"]["reason"] == (
        "server changes from https://192.0.2.13:6443 to https://192.0.2.33:6443"
    )
    doc = kubeconfig(store, "hosts/cp3/scheduler.conf")[0]
    assert doc["clusters"][0]["cluster"]["server"] == "https://192.0.2.33:6443"


def test_new_api_endpoint_rewrites_the_kubeconfigs_using_it(store, built, clock):
    result = pki.converge(make_params(store, api_endpoint="lb.example.com:443"))
    entries = by_name(result)
    for name in ("admin.conf", "super-admin.conf", "kubelet.conf@worker1", "kubelet.conf@worker2"):
        assert entries[name]["action"] == "kept"
        assert entries[name]["reason"] == (
            "server changes from https://k8s-api.example.com:6443 to https://lb.example.com:443"
        )
    # Control-plane kubelets and components use their own API server, not the endpoint.
    assert entries["scheduler.conf@cp1"]["reason"] is None
    assert entries["kubelet.conf@cp2"]["reason"] is None
    assert entries["apiserver@cp1"]["reason"] == (
        "SANs differ: +DNS:lb.example.com -DNS:k8s-api.example.com"
    )


def test_adding_a_node_issues_only_its_kubelet_conf(store, built, clock):
    before = snapshot(store)
    worker3 = {"host": "worker3", "name": "worker3", "ip": "192.0.2.23"}
    result = pki.converge(make_params(store, nodes=[*plain(CP), *WORKERS, worker3]))
    assert result["summary"] == {"issued": 1, "renewed": 0, "kept": 30}
    assert result["changed_files"] == ["hosts/worker3/kubelet.conf"]
    assert by_name(result)["kubelet.conf@worker3"]["action"] == "issued"
    after = snapshot(store)
    unchanged_except(before, after, {"hosts/worker3/kubelet.conf"})
    assert set(after) - set(before) == {"hosts/worker3", "hosts/worker3/kubelet.conf"}
    doc, _, client, _ = kubeconfig(store, "hosts/worker3/kubelet.conf")
    assert doc["users"][0]["name"] == "system:node:worker3"
    assert client.subject.rfc4514_string() == "CN=system:node:worker3,O=system:nodes"
    assert [entry["dest"] for entry in result["host_files"]["worker3"]] == [
        "/etc/kubernetes/pki/ca.crt",
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/pki/prodgrade-trust.json",
    ]


def test_renamed_node_gets_a_new_kubelet_certificate(store, built, clock):
    workers = [dict(WORKERS[0], name="worker1-new"), WORKERS[1]]
    result = pki.converge(make_params(store, nodes=[*plain(CP), *workers]))
    entry = by_name(result)["kubelet.conf@worker1"]
    assert entry["action"] == "renewed"
    assert entry["reason"] == (
        "subject differs: has 'CN=system:node:worker1,O=system:nodes', "
        "want 'CN=system:node:worker1-new,O=system:nodes'"
    )


def test_switch_to_rsa_reissues_every_leaf_and_keeps_cas(store, clock):
    one = [CP[1]]
    params = make_params(store, control_plane=one, etcd=plain(one), nodes=plain(one))
    pki.converge(params)
    cas = {rel: read(store, rel) for rel in ("ca.crt", "ca.key", "sa.key", "sa.pub")}
    result = pki.converge(dict(params, key_algorithm="rsa"))
    for entry in result["certificates"]:
        if entry["name"] in ("ca", "etcd-ca", "front-proxy-ca", "sa"):
            assert entry["action"] == "kept"
        else:
            assert entry["action"] == "renewed"
            assert entry["reason"] == "key algorithm differs: has ECDSA secp256r1, want RSA-2048"
    for rel, data in cas.items():
        assert read(store, rel) == data
    leaf_key = key(store, "hosts/cp2/apiserver.key")
    assert isinstance(leaf_key, rsa.RSAPrivateKey)
    assert leaf_key.key_size == 2048
    assert isinstance(kubeconfig(store, "admin.conf")[3], rsa.RSAPrivateKey)
    verify_signed(cert(store, "hosts/cp2/apiserver.crt"), cert(store, "ca.crt"))
    assert pki.converge(dict(params, key_algorithm="rsa"))["changed"] is False
    result = pki.converge(dict(params, key_algorithm="rsa", rsa_key_size=3072))
    assert by_name(result)["admin.conf"]["reason"] == (
        "key algorithm differs: has RSA-2048, want RSA-3072"
    )


def test_fresh_rsa_store(store, clock):
    one = [CP[0]]
    pki.converge(make_params(store, control_plane=one, etcd=[], nodes=[], key_algorithm="rsa"))
    ca_key = key(store, "ca.key")
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    assert isinstance(key(store, "sa.key"), rsa.RSAPrivateKey)
    verify_signed(cert(store, "ca.crt"), cert(store, "ca.crt"))
    verifier = (
        PolicyBuilder()
        .store(Store([cert(store, "ca.crt")]))
        .time(NOW)
        .build_server_verifier(DNSName("cp1.example.com"))
    )
    verifier.verify(cert(store, "hosts/cp1/apiserver.crt"), [])


# --- damaged leaves ---------------------------------------------------------------------------


def test_damaged_leaves_are_reissued_with_the_reason(store, built, clock):
    (store / "front-proxy-client.crt").write_bytes(b"garbage")
    (store / "hosts/cp1/apiserver.key").write_bytes(read(store, "hosts/cp2/apiserver.key"))
    (store / "apiserver-etcd-client.key").unlink()
    (store / "hosts/worker1/kubelet.conf").write_text("apiVersion: v1\nkind: Config\n")
    result = pki.converge(make_params(store))
    entries = by_name(result)
    assert entries["front-proxy-client"]["action"] == "renewed"
    assert entries["front-proxy-client"]["reason"] == "certificate cannot be parsed"
    assert entries["apiserver@cp1"]["reason"] == "key does not match"
    assert entries["apiserver-etcd-client"]["action"] == "renewed"
    assert entries["apiserver-etcd-client"]["reason"] == "missing"
    assert entries["kubelet.conf@worker1"]["reason"] == (
        "embedded client certificate or key cannot be read"
    )
    assert result["summary"] == {"issued": 0, "renewed": 4, "kept": 26}
    verify_signed(cert(store, "front-proxy-client.crt"), cert(store, "front-proxy-ca.crt"))
    assert pub_der(key(store, "hosts/cp1/apiserver.key").public_key()) == pub_der(
        cert(store, "hosts/cp1/apiserver.crt").public_key()
    )
    assert pki.converge(make_params(store))["changed"] is False


def resign(store, rel, ca_rel, eku=None, org=None):
    """Replace the certificate ``rel`` by one with the same key and names, signed by the store's
    own CA, but with other extended key usages or organisation."""
    old = cert(store, rel)
    ca = cert(store, ca_rel)
    ca_key = key(store, ca_rel.replace(".crt", ".key"))
    subject = old.subject
    if org:
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), *old.subject])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(old.not_valid_before_utc)
        .not_valid_after(old.not_valid_after_utc)
    )
    for extension in old.extensions:
        if eku is not None and isinstance(extension.value, x509.ExtendedKeyUsage):
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        else:
            builder = builder.add_extension(extension.value, critical=extension.critical)
    new = builder.sign(ca_key, hashes.SHA256())
    (store / rel).write_bytes(new.public_bytes(serialization.Encoding.PEM))


def test_other_extended_key_usage_or_subject_is_reissued(store, built, clock):
    resign(store, "front-proxy-client.crt", "front-proxy-ca.crt", eku=[SERVER, CLIENT])
    resign(store, "apiserver-etcd-client.crt", "etcd/ca.crt", org="system:masters")
    resign(store, "hosts/cp3/etcd/peer.crt", "etcd/ca.crt")  # identical apart from the serial
    result = pki.converge(make_params(store))
    acted = {e["name"]: e["reason"] for e in result["certificates"] if e["reason"]}
    assert acted == {
        "front-proxy-client": "extended key usage differs",
        "apiserver-etcd-client": (
            "subject differs: has 'CN=kube-apiserver-etcd-client,O=system:masters', "
            "want 'CN=kube-apiserver-etcd-client'"
        ),
    }
    assert list(ext(cert(store, "front-proxy-client.crt"), x509.ExtendedKeyUsage).value) == [CLIENT]


def test_leaf_from_another_ca_is_reissued(store, built, clock, tmp_path):
    other = tmp_path / "other"
    pki.converge(make_params(other))
    for ext_ in ("crt", "key"):
        (store / f"hosts/cp2/apiserver.{ext_}").write_bytes(
            read(other, f"hosts/cp2/apiserver.{ext_}")
        )
    (store / "admin.conf").write_bytes(read(other, "admin.conf"))
    result = pki.converge(make_params(store))
    entries = by_name(result)
    assert entries["apiserver@cp2"]["reason"] == "not signed by the current CA"
    assert entries["admin.conf"]["reason"] == "not signed by the current CA"
    verify_signed(cert(store, "hosts/cp2/apiserver.crt"), cert(store, "ca.crt"))
    assert kubeconfig(store, "admin.conf")[1] == read(store, "ca.crt")


def test_deleted_ca_makes_a_new_ca_and_reissues_what_it_signed(store, built, clock):
    old_ca = read(store, "front-proxy-ca.crt")
    (store / "front-proxy-ca.crt").unlink()
    (store / "front-proxy-ca.key").unlink()
    result = pki.converge(make_params(store))
    acted = {e["name"]: e["reason"] for e in result["certificates"] if e["reason"]}
    assert acted == {
        "front-proxy-ca": "missing",
        "front-proxy-client": "not signed by the current CA",
    }
    assert read(store, "front-proxy-ca.crt") != old_ca
    verify_signed(cert(store, "front-proxy-client.crt"), cert(store, "front-proxy-ca.crt"))


# --- check mode -------------------------------------------------------------------------------


def test_check_mode_on_an_empty_store_reports_the_real_plan(store, clock, tmp_path):
    planned = pki.converge(make_params(store), check_mode=True)
    assert not store.exists()
    assert planned["changed"] is True
    real = pki.converge(make_params(tmp_path / "real"))
    assert planned["certificates"] == [
        dict(entry) for entry in real["certificates"]
    ]  # same names, actions, reasons, subjects, SANs and expiry
    assert planned["changed_files"] == real["changed_files"]
    assert planned["summary"] == real["summary"]
    assert "BEGIN" not in repr(planned)


def test_check_mode_writes_nothing_on_an_existing_store(store, built, clock):
    (store / "hosts/cp2/apiserver.crt").chmod(0o600)
    before = snapshot(store)
    clock.advance(days=340)
    planned = pki.converge(make_params(store, extra_sans=["x.example.com"]), check_mode=True)
    assert planned["changed"] is True
    assert planned["summary"] == {"issued": 0, "renewed": 26, "kept": 4}
    assert by_name(planned)["apiserver@cp1"]["reason"] == (
        "SANs differ: +DNS:x.example.com; expires on 2027-03-01T12:00:00Z (within 30 days)"
    )
    assert "DNS:x.example.com" in by_name(planned)["apiserver@cp1"]["sans"]
    assert by_name(planned)["apiserver@cp1"]["not_after"] == pki.isoformat(
        clock.now + datetime.timedelta(days=365)
    )
    assert snapshot(store) == before
    clock.now = NOW
    assert pki.converge(make_params(store), check_mode=True)["changed_files"] == [
        "hosts/cp2/apiserver.crt"
    ]
    assert snapshot(store) == before


def test_check_mode_unchanged_store(store, built, clock):
    before = snapshot(store)
    planned = pki.converge(make_params(store), check_mode=True)
    assert planned["changed"] is False
    assert planned["certificates"] == pki.converge(make_params(store))["certificates"]
    assert snapshot(store) == before


# --- bad input and unusable CAs: nothing written ----------------------------------------------


def _dup(entries, index, **changes):
    copy = [dict(entry) for entry in entries]
    copy[index].update(changes)
    return copy


BAD_INPUT = [
    (
        {"extra_sans": ["good.example.com", "bad_name.example.com"]},
        "extra_sans: 'bad_name.example.com' is neither a valid IP address nor a valid DNS name",
    ),
    ({"extra_sans": ["a.*.example.com"]}, "'a.*.example.com' is neither"),
    (
        {"control_plane": _dup(CP, 0, extra_names=["*.cp1.example.com"])},
        "control_plane host 'cp1' extra_names: '*.cp1.example.com' is neither",
    ),
    ({"api_endpoint": "bad_host:6443"}, "api_endpoint 'bad_host:6443': 'bad_host' is neither"),
    (
        {"nodes": [*plain(CP), *_dup(WORKERS, 1, name="worker1")]},
        "node name 'worker1' is used by hosts 'worker1' and 'worker2'",
    ),
    (
        {"nodes": [*plain(CP), WORKERS[0], WORKERS[0]]},
        "nodes: host 'worker1' is listed twice",
    ),
    (
        {"nodes": [*plain(CP), *_dup(WORKERS, 1, ip="192.0.2.21")]},
        "ip '192.0.2.21' is used by hosts 'worker1' and 'worker2'",
    ),
    (
        {"nodes": [*_dup(plain(CP), 0, name="other"), *WORKERS]},
        "host 'cp1' has name 'cp1' and ip '192.0.2.11' in control_plane but name 'other'",
    ),
    ({"nodes": _dup(WORKERS, 0, ip="192.0.2.300")}, "ip '192.0.2.300' is not an IP address"),
    ({"nodes": _dup(WORKERS, 0, name="Worker1")}, "has upper-case letters"),
    ({"nodes": _dup(WORKERS, 0, name="worker_1")}, "'worker_1' is not a valid DNS name"),
    ({"nodes": _dup(WORKERS, 0, host="../x")}, "cannot be used as a directory name"),
    ({"control_plane": []}, "control_plane is empty"),
    ({"renew_before_days": -1}, "renew_before_days is -1: it must be from 0 to 36500"),
    ({"ca_validity_days": 36501}, "ca_validity_days is 36501: it must be from 1 to 36500"),
    ({"cert_validity_days": 0}, "cert_validity_days is 0: it must be from 1 to 36500"),
    ({"service_cidr": "10.96.0.0"}, "service_cidr entry '10.96.0.0' is not a CIDR"),
    ({"cluster_name": "my cluster"}, "cluster_name 'my cluster' is not usable"),
    ({"ca_key_passphrase": ""}, "ca_key_passphrase is empty"),
    ({"pki_dir": "etc/pki"}, "pki_dir 'etc/pki' must be an absolute path"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_fails_before_writing(store, built, clock, overrides, message):
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store, **overrides))
    assert message in str(info.value)
    assert snapshot(store) == before


def test_bad_input_on_an_empty_store_creates_nothing(store, clock):
    with pytest.raises(pki.PKIError):
        pki.converge(make_params(store, extra_sans=["-x-"]))
    assert not store.exists()


def test_every_problem_is_reported_at_once(store, clock):
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store, extra_sans=["bad_1"], dns_domain="-", api_endpoint=""))
    text = str(info.value)
    assert "'bad_1' is neither" in text
    assert "dns_domain '-' is not a valid DNS domain" in text
    assert "api_endpoint is empty" in text


def test_expired_ca_is_refused(store, clock):
    params = make_params(store, ca_validity_days=60, cert_validity_days=20, renew_before_days=5)
    pki.converge(params)
    clock.advance(days=61)
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(params)
    text = str(info.value)
    assert (
        f"{store}/ca.crt: the CA expired on 2026-04-30T12:00:00Z: it cannot sign; replace it"
        in text
    )
    assert "manual-rotation-of-ca-certificates" in text
    assert "etcd/ca.crt: the CA expired on" in text
    assert snapshot(store) == before


def test_ca_not_yet_valid_is_refused(store, built, clock):
    clock.advance(hours=-1)
    before = snapshot(store)
    with pytest.raises(pki.PKIError, match="the CA is not valid before 2026-03-01T11:55:00Z"):
        pki.converge(make_params(store))
    assert snapshot(store) == before


def test_ca_key_not_matching_is_refused(store, built, clock):
    (store / "etcd/ca.key").write_bytes(read(store, "ca.key"))
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store))
    assert f"{store}/etcd/ca.key does not match {store}/etcd/ca.crt" in str(info.value)
    assert snapshot(store) == before


def test_leaf_as_ca_is_refused(store, built, clock):
    (store / "front-proxy-ca.crt").write_bytes(read(store, "front-proxy-client.crt"))
    (store / "front-proxy-ca.key").write_bytes(read(store, "front-proxy-client.key"))
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store))
    assert (
        "front-proxy-ca.crt is not a CA certificate (BasicConstraints CA:TRUE is missing)"
        in str(info.value)
    )
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("ca.key", "ca.crt exists but its key"),
        ("ca.crt", "ca.key exists but its certificate"),
    ],
)
def test_half_a_ca_is_refused(store, built, clock, remove, message):
    (store / remove).unlink()
    before = snapshot(store)
    with pytest.raises(pki.PKIError, match=re.escape(message)):
        pki.converge(make_params(store))
    assert snapshot(store) == before


def test_unparsable_ca_and_sa_key_are_refused(store, built, clock):
    (store / "ca.crt").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    )
    (store / "sa.key").write_bytes(b"nope")
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store))
    assert "ca.crt is not a PEM certificate" in str(info.value)
    assert "sa.key is not a PEM private key" in str(info.value)
    assert snapshot(store) == before


def test_directory_in_place_of_a_file_is_refused(store, built, clock):
    (store / "hosts/worker2/kubelet.conf").unlink()
    (store / "hosts/worker2/kubelet.conf").mkdir()
    before = snapshot(store)
    with pytest.raises(
        pki.PKIError, match=re.escape("kubelet.conf exists but is not a regular file")
    ):
        pki.converge(make_params(store))
    assert snapshot(store) == before


def test_store_that_is_a_file_is_refused(tmp_path, clock):
    path = tmp_path / "store"
    path.write_text("x")
    with pytest.raises(pki.PKIError, match="exists but is not a directory"):
        pki.converge(make_params(path))
    assert path.read_text() == "x"


# --- external CA ------------------------------------------------------------------------------


def write_user_ca(store, rel_crt, cn):
    """A CA as a user's own tooling would make it: RSA-3072, other names, no pathlen limit."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=30))
        .not_valid_after(NOW + datetime.timedelta(days=1000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    path = store / rel_crt
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        ca_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return ca


@pytest.fixture(scope="module")
def user_cas(tmp_path_factory):
    """The user's three CAs, made once (RSA-3072 generation is slow)."""
    source = tmp_path_factory.mktemp("user-ca")
    for rel, cn in (
        ("ca.crt", "Example Kubernetes CA"),
        ("etcd/ca.crt", "Example etcd CA"),
        ("front-proxy-ca.crt", "Example front proxy CA"),
    ):
        write_user_ca(source, rel, cn)
    return source


def copy_user_cas(user_cas, store):
    for rel in ("ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key", "front-proxy-ca.crt",
                "front-proxy-ca.key"):  # fmt: skip
        target = store / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read(user_cas, rel))
        target.chmod(0o644)  # as careless tooling leaves them


def test_external_ca_signs_leaves_and_is_never_touched_or_distributed(store, clock, user_cas):
    copy_user_cas(user_cas, store)
    ca_files = {rel: snapshot(store)[rel] for rel in ("ca.crt", "ca.key", "etcd/ca.key")}
    result = pki.converge(make_params(store, external_ca=True))
    assert result["distribute_ca_keys"] is False
    after = snapshot(store)
    for rel, state in ca_files.items():
        assert after[rel] == state
    entries = by_name(result)
    assert entries["ca"]["action"] == "kept"
    assert entries["ca"]["subject"] == "CN=Example Kubernetes CA,O=Example Corp"
    for path, _, _, issuer, _, _ in LEAVES:
        verify_signed(cert(store, path), cert(store, issuer))
    client = kubeconfig(store, "hosts/worker1/kubelet.conf")
    verify_signed(client[2], cert(store, "ca.crt"))
    assert client[1] == read(store, "ca.crt")
    verifier = (
        PolicyBuilder()
        .store(Store([cert(store, "ca.crt")]))
        .time(NOW)
        .build_server_verifier(DNSName("kubernetes.default.svc"))
    )
    verifier.verify(cert(store, "hosts/cp1/apiserver.crt"), [])
    for host, files in result["host_files"].items():
        for item in files:
            assert not item["src"].endswith("ca.key"), host
            assert not item["dest"].endswith("ca.key"), host
    assert result["summary"] == {"issued": 27, "renewed": 0, "kept": 3}
    assert len(result["warnings"]) == 3
    assert result["warnings"][0] == (
        f"The external CA key {store}/ca.key has mode 0644, so other users of the controller "
        "may read it: restrict it with chmod 0600."
    )
    for rel in ("ca.key", "etcd/ca.key", "front-proxy-ca.key"):
        (store / rel).chmod(0o600)
    again = pki.converge(make_params(store, external_ca=True))
    assert again["changed"] is False
    assert again["warnings"] == []


def test_external_ca_missing_is_an_error(store, clock, user_cas):
    copy_user_cas(user_cas, store)
    (store / "front-proxy-ca.crt").unlink()
    (store / "front-proxy-ca.key").unlink()
    (store / "etcd/ca.key").unlink()
    before = snapshot(store)
    with pytest.raises(pki.PKIError) as info:
        pki.converge(make_params(store, external_ca=True))
    text = str(info.value)
    assert "external_ca is true but the front-proxy-ca certificate" in text
    assert "are missing: copy your CA certificate and key there" in text
    assert f"external_ca is true but the key of {store}/etcd/ca.crt is missing" in text
    assert snapshot(store) == before


def test_external_ca_on_an_empty_store_creates_nothing(store, clock):
    with pytest.raises(pki.PKIError, match="external_ca is true"):
        pki.converge(make_params(store, external_ca=True))
    assert not store.exists()


# --- CA keys encrypted with a passphrase ------------------------------------------------------


def test_passphrase_encrypts_new_ca_keys(store, clock):
    result = pki.converge(make_params(store, ca_key_passphrase="s3cret"))
    for rel in ("ca.key", "etcd/ca.key", "front-proxy-ca.key"):
        assert read(store, rel).startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            key(store, rel)
        assert pub_der(key(store, rel, b"s3cret").public_key()) == pub_der(
            cert(store, rel.replace(".key", ".crt")).public_key()
        )
    assert read(store, "sa.key").startswith(b"-----BEGIN PRIVATE KEY-----")
    assert result["distribute_ca_keys"] is False
    assert all(
        not item["dest"].endswith("ca.key")
        for files in result["host_files"].values()
        for item in files
    )
    before = snapshot(store)
    assert pki.converge(make_params(store, ca_key_passphrase="s3cret"))["changed"] is False
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("passphrase", "message"),
    [
        (None, "ca.key is encrypted: set ca_key_passphrase"),
        ("wrong", "ca.key cannot be decrypted with ca_key_passphrase: the passphrase is wrong"),
    ],
)
def test_encrypted_ca_keys_need_the_right_passphrase(store, clock, passphrase, message):
    pki.converge(make_params(store, ca_key_passphrase="s3cret"))
    before = snapshot(store)
    with pytest.raises(pki.PKIError, match=re.escape(message)):
        pki.converge(make_params(store, ca_key_passphrase=passphrase))
    assert snapshot(store) == before


def test_passphrase_rewrites_existing_ca_keys_encrypted(store, built, clock):
    before = snapshot(store)
    result = pki.converge(make_params(store, ca_key_passphrase="s3cret"))
    assert result["changed_files"] == ["ca.key", "etcd/ca.key", "front-proxy-ca.key"]
    assert by_name(result)["etcd-ca"] == dict(
        by_name(built)["etcd-ca"],
        action="kept",
        reason="etcd/ca.key rewritten encrypted with ca_key_passphrase",
    )
    unchanged_except(before, snapshot(store), set(result["changed_files"]))
    old = serialization.load_pem_private_key(before["ca.key"][0], None)
    new = key(store, "ca.key", b"s3cret")
    assert new.private_numbers() == old.private_numbers()
    assert stat.S_IMODE(os.stat(store / "ca.key").st_mode) == 0o600
    assert pki.converge(make_params(store, ca_key_passphrase="s3cret"))["changed"] is False


# --- host_files -------------------------------------------------------------------------------


def dests(result, host):
    return {item["dest"]: item for item in result["host_files"][host]}


def test_host_files_of_a_worker(store, built):
    assert built["host_files"]["worker1"] == [
        {
            "src": f"{store}/ca.crt",
            "dest": "/etc/kubernetes/pki/ca.crt",
            "mode": "0644",
            "owner": "root",
            "group": "root",
        },
        {
            "src": f"{store}/hosts/worker1/kubelet.conf",
            "dest": "/etc/kubernetes/kubelet.conf",
            "mode": "0600",
            "owner": "root",
            "group": "root",
        },
        {
            "src": f"{store}/trust.json",
            "dest": "/etc/kubernetes/pki/prodgrade-trust.json",
            "mode": "0644",
            "owner": "root",
            "group": "root",
        },
    ]


def test_host_files_of_the_first_control_plane_host(store, built):
    files = dests(built, "cp1")
    pki_dir = "/etc/kubernetes/pki"
    expected = {
        f"{pki_dir}/ca.crt": ("ca.crt", "0644", "root"),
        f"{pki_dir}/ca.key": ("ca.key", "0600", "root"),
        f"{pki_dir}/front-proxy-ca.crt": ("front-proxy-ca.crt", "0644", "root"),
        f"{pki_dir}/etcd/ca.crt": ("etcd/ca.crt", "0644", "etcd"),
        f"{pki_dir}/sa.key": ("sa.key", "0600", "root"),
        f"{pki_dir}/sa.pub": ("sa.pub", "0644", "root"),
        f"{pki_dir}/apiserver.crt": ("hosts/cp1/apiserver.crt", "0644", "root"),
        f"{pki_dir}/apiserver.key": ("hosts/cp1/apiserver.key", "0600", "root"),
        "/etc/kubernetes/admin.conf": ("admin.conf", "0600", "root"),
        "/etc/kubernetes/super-admin.conf": ("super-admin.conf", "0600", "root"),
        "/etc/kubernetes/controller-manager.conf": (
            "hosts/cp1/controller-manager.conf", "0600", "root"),
        "/etc/kubernetes/scheduler.conf": ("hosts/cp1/scheduler.conf", "0600", "root"),
        "/etc/kubernetes/kubelet.conf": ("hosts/cp1/kubelet.conf", "0600", "root"),
        f"{pki_dir}/etcd/server.crt": ("hosts/cp1/etcd/server.crt", "0644", "etcd"),
        f"{pki_dir}/etcd/server.key": ("hosts/cp1/etcd/server.key", "0600", "etcd"),
        f"{pki_dir}/etcd/peer.crt": ("hosts/cp1/etcd/peer.crt", "0644", "etcd"),
        f"{pki_dir}/etcd/peer.key": ("hosts/cp1/etcd/peer.key", "0600", "etcd"),
        f"{pki_dir}/etcd/healthcheck-client.crt": ("etcd/healthcheck-client.crt", "0644", "etcd"),
        f"{pki_dir}/etcd/healthcheck-client.key": ("etcd/healthcheck-client.key", "0600", "etcd"),
        f"{pki_dir}/prodgrade-trust.json": ("trust.json", "0644", "root"),
    }  # fmt: skip
    for name in ("apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client"):
        expected[f"{pki_dir}/{name}.crt"] = (f"{name}.crt", "0644", "root")
        expected[f"{pki_dir}/{name}.key"] = (f"{name}.key", "0600", "root")
    assert {
        dest: (os.path.relpath(item["src"], store), item["mode"], item["owner"])
        for dest, item in files.items()
    } == expected
    assert all(item["group"] == item["owner"] for item in files.values())
    assert len(built["host_files"]["cp1"]) == len(expected)
    for item in files.values():
        assert os.path.isfile(item["src"])


def test_super_admin_conf_only_on_the_first_control_plane_host(built):
    assert "/etc/kubernetes/super-admin.conf" in dests(built, "cp1")
    assert "/etc/kubernetes/super-admin.conf" not in dests(built, "cp2")
    assert "/etc/kubernetes/super-admin.conf" not in dests(built, "cp3")
    assert dests(built, "cp3")["/etc/kubernetes/pki/apiserver.crt"]["src"].endswith(
        "hosts/cp3/apiserver.crt"
    )


def test_host_files_of_separate_etcd_hosts_and_custom_dirs(store, clock):
    etcd_hosts = [
        {"host": "etcd1", "name": "etcd1", "ip": "192.0.2.31"},
        {"host": "etcd2", "name": "etcd2", "ip": "192.0.2.32"},
    ]
    result = pki.converge(
        make_params(
            store,
            etcd=etcd_hosts,
            pki_dir="/srv/k8s/pki/",
            kubeconfig_dir="/srv/k8s",
            etcd_owner="etcd-svc",
        )
    )
    assert sorted(result["host_files"]) == [
        "cp1",
        "cp2",
        "cp3",
        "etcd1",
        "etcd2",
        "worker1",
        "worker2",
    ]
    assert result["host_files"]["etcd2"] == [
        {"src": f"{store}/{src}", "dest": f"/srv/k8s/pki/{dest}", "mode": mode,
         "owner": "etcd-svc", "group": "etcd-svc"}
        for src, dest, mode in (
            ("etcd/ca.crt", "etcd/ca.crt", "0644"),
            ("hosts/etcd2/etcd/server.crt", "etcd/server.crt", "0644"),
            ("hosts/etcd2/etcd/server.key", "etcd/server.key", "0600"),
            ("hosts/etcd2/etcd/peer.crt", "etcd/peer.crt", "0644"),
            ("hosts/etcd2/etcd/peer.key", "etcd/peer.key", "0600"),
            ("etcd/healthcheck-client.crt", "etcd/healthcheck-client.crt", "0644"),
            ("etcd/healthcheck-client.key", "etcd/healthcheck-client.key", "0600"),
        )
    ] + [{"src": f"{store}/trust.json", "dest": "/srv/k8s/pki/prodgrade-trust.json",
          "mode": "0644", "owner": "root", "group": "root"}]  # fmt: skip
    cp2 = dests(result, "cp2")
    assert "/srv/k8s/pki/etcd/server.crt" not in cp2
    assert cp2["/srv/k8s/pki/etcd/ca.crt"]["owner"] == "root"
    assert "/srv/k8s/scheduler.conf" in cp2
    assert sans_of(cert(store, "hosts/etcd1/etcd/peer.crt")) == etcd_sans("etcd1", "192.0.2.31")
    assert not (store / "hosts/cp1/etcd").exists()


host_names = st.lists(
    st.sampled_from([f"h{i}" for i in range(12)]), min_size=1, max_size=12, unique=True
)


@st.composite
def inventories(draw):
    hosts = draw(host_names)
    n_cp = draw(st.integers(1, min(5, len(hosts))))
    cps = hosts[:n_cp]
    workers = hosts[n_cp : n_cp + draw(st.integers(0, 5))]
    pool = cps + workers + hosts[n_cp + len(workers) :]
    etcd = draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
    entry = {
        h: {"host": h, "name": f"node-{h}", "ip": f"10.1.0.{i + 1}"} for i, h in enumerate(hosts)
    }
    in_nodes = cps if draw(st.booleans()) else []
    return {
        "control_plane": [entry[h] for h in cps],
        "etcd": [entry[h] for h in etcd],
        "nodes": [entry[h] for h in in_nodes + workers],
        "external_ca": draw(st.booleans()),
        "ca_key_passphrase": draw(st.sampled_from([None, "pw"])),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_host_files_properties(inventory):
    cfg = pki.build_config(dict(inventory, store="/pki", api_endpoint="api.example.com"))
    files = pki.host_files(cfg)
    cps = [e["host"] for e in inventory["control_plane"]]
    etcd = {e["host"] for e in inventory["etcd"]}
    nodes = {e["host"] for e in inventory["nodes"]}
    distribute = not inventory["external_ca"] and inventory["ca_key_passphrase"] is None
    assert set(files) == set(cps) | etcd | nodes
    for host, items in files.items():
        dest_list = [item["dest"] for item in items]
        assert len(dest_list) == len(set(dest_list)), host
        for item in items:
            assert not item["src"].endswith(("etcd/ca.key", "front-proxy-ca.key")), item
            assert item["mode"] == ("0600" if item["src"].endswith((".key", ".conf")) else "0644")
            assert item["src"].startswith("/pki/")
            if item["src"].startswith("/pki/hosts/"):
                assert item["src"].startswith(f"/pki/hosts/{host}/"), item
        has_ca_key = "/etc/kubernetes/pki/ca.key" in dest_list
        assert has_ca_key == (host in cps and distribute)
        assert ("/etc/kubernetes/super-admin.conf" in dest_list) == (host == cps[0])
        if host not in cps and host not in etcd:
            assert dest_list == [
                "/etc/kubernetes/pki/ca.crt",
                "/etc/kubernetes/kubelet.conf",
                "/etc/kubernetes/pki/prodgrade-trust.json",
            ]
        keys = [d for d in dest_list if d.endswith(".key")]
        if host not in cps:
            assert all(d.startswith("/etc/kubernetes/pki/etcd/") for d in keys), host
        for item in items:
            if item["dest"].startswith("/etc/kubernetes/pki/etcd/") and host in etcd:
                assert item["owner"] == item["group"] == "etcd"
            elif not item["dest"].startswith("/etc/kubernetes/pki/etcd/"):
                assert item["owner"] == "root"


# --- scale ------------------------------------------------------------------------------------


def test_a_hundred_nodes(store, clock):
    workers = [
        {"host": f"w{i:03d}", "name": f"w{i:03d}", "ip": f"10.2.{i // 250}.{i % 250 + 1}"}
        for i in range(97)
    ]
    params = make_params(store, nodes=plain(CP) + workers)
    start = time.monotonic()
    result = pki.converge(params)
    assert time.monotonic() - start < 20
    assert result["summary"]["issued"] == 3 + 1 + 3 + 4 + 6 + 2 + 6 + 100
    start = time.monotonic()
    assert pki.converge(params)["changed"] is False
    assert time.monotonic() - start < 20
