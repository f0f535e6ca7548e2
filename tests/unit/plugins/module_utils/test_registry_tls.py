"""registry_tls against real TLS servers in this process, certificates made by `cryptography`."""

from __future__ import annotations

import socket
import threading

import pytest
from cryptography import x509
from registry_tls_testlib import DAY, PlainServer, Registry, make_ca, make_leaf, now, refused_port

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import registry_tls, x509_der

CA = make_ca("Prodgrade Registry CA")
OTHER_CA = make_ca("Somebody Else CA")


def der(issued):
    (block,) = x509_der.pem_certificates(issued.pem.encode())
    return block


# --- certificate reading (x509_der additions) ---------------------------------------------


def test_details_agree_with_cryptography():
    leaf = make_leaf(CA, cn="reg.example.test", sans=("reg.example.test", "10.0.0.5", "fd00::5"))
    info = x509_der.certificate_details(der(leaf))
    assert info["subject"] == "CN=reg.example.test"
    assert info["issuer"] == "CN=Prodgrade Registry CA"
    assert info["subject_alt_names"] == {"dns": ["reg.example.test"], "ip": ["10.0.0.5", "fd00::5"]}
    assert info["not_after"] == leaf.cert.not_valid_after_utc
    assert info["not_before"] == leaf.cert.not_valid_before_utc
    # The fields parse_certificate always returned are still there and unchanged.
    assert info["common_name"] == "reg.example.test"
    assert info["organizations"] == []


def test_cn_only_certificate_has_no_san():
    info = x509_der.certificate_details(der(make_leaf(CA, cn="reg.openpie.local", sans=None)))
    assert info["subject_alt_names"] is None
    assert info["common_name"] == "reg.openpie.local"


def test_ca_subjects_and_bad_ca():
    assert registry_tls.ca_subjects(CA.pem + OTHER_CA.pem) == [
        "CN=Prodgrade Registry CA",
        "CN=Somebody Else CA",
    ]
    with pytest.raises(x509_der.CertificateError):
        registry_tls.ca_subjects("not a certificate")


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "sans", "expected"),
    [
        ("reg.example.test", {"dns": ["reg.example.test"], "ip": []}, True),
        ("REG.Example.test", {"dns": ["reg.example.TEST."], "ip": []}, True),
        ("a.example.test", {"dns": ["*.example.test"], "ip": []}, True),
        ("example.test", {"dns": ["*.example.test"], "ip": []}, False),
        ("a.b.example.test", {"dns": ["*.example.test"], "ip": []}, False),
        ("fo.example.test", {"dns": ["f*.example.test"], "ip": []}, False),
        ("reg.example.test", {"dns": ["other.example.test"], "ip": ["10.0.0.5"]}, False),
        ("10.0.0.5", {"dns": ["10.0.0.5"], "ip": []}, False),
        ("10.0.0.5", {"dns": [], "ip": ["10.0.0.5"]}, True),
        ("fd00::5", {"dns": [], "ip": ["fd00:0:0::5"]}, True),
        ("10.0.0.5", {"dns": ["*.0.0.5"], "ip": []}, False),
    ],
)
def test_name_matching_follows_go(hostname, sans, expected):
    assert registry_tls.name_matches(hostname, sans) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("reg.example.test", ("reg.example.test", 443)),
        ("Reg.Example.test:5000", ("reg.example.test", 5000)),
        ("10.0.0.5:5000", ("10.0.0.5", 5000)),
        ("[fd00::5]:5000", ("fd00::5", 5000)),
        ("[FD00:0::5]", ("fd00::5", 443)),
        ("localhost", ("localhost", 443)),
    ],
)
def test_parse_address(address, expected):
    assert registry_tls.parse_address(address) == expected


@pytest.mark.parametrize(
    "address",
    ["https://reg.example.test", "reg.example.test/k8s", "fd00::5", "reg:0", "reg:70000", "", "-a"],
)
def test_parse_address_refuses(address):
    with pytest.raises(ValueError):
        registry_tls.parse_address(address)


# --- probes against real servers -------------------------------------------------------------


def probe(registry_or_address, host="127.0.0.1", ca=CA, **kwargs):
    address = (
        registry_or_address
        if isinstance(registry_or_address, str)
        else registry_or_address.address(host)
    )
    return registry_tls.probe(address, ca_pem=ca.pem if ca else None, timeout=3, **kwargs)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_good_certificate(host):
    with Registry(make_leaf(CA)) as registry:
        result = probe(registry, host)
    assert result["ok"] is True, result["message"]
    assert result["reason"] == "ok"
    assert result["problems"] == []
    assert result["certificate"]["subject_alt_names"] == {"dns": ["localhost"], "ip": ["127.0.0.1"]}
    assert result["certificate"]["issuer"] == "CN=Prodgrade Registry CA"
    assert result["api"]["status"] == 200
    assert result["api"]["api_version"] == "registry/2.0"
    assert registry.paths == ["/v2/"]


def test_api_check_can_be_left_out():
    with Registry(make_leaf(CA)) as registry:
        result = probe(registry, check_api=False)
    assert result["ok"] is True
    assert result["api"] is None
    assert registry.paths == []


@pytest.mark.parametrize(
    ("challenge", "scheme", "realm", "service"),
    [
        (
            'Bearer realm="https://auth.example.test/token",service="registry.example.test"',
            "bearer",
            "https://auth.example.test/token",
            "registry.example.test",
        ),
        ('Basic realm="Registry Realm"', "basic", "Registry Realm", None),
    ],
)
def test_unauthorized_registry_answers_with_its_challenge(challenge, scheme, realm, service):
    answer = (401, {"WWW-Authenticate": challenge})
    with Registry(make_leaf(CA), answer=answer) as registry:
        result = probe(registry)
    assert result["ok"] is True
    assert result["api"]["status"] == 401
    assert result["api"]["auth_scheme"] == scheme
    assert result["api"]["realm"] == realm
    assert result["api"]["service"] == service


def test_no_registry_api():
    with Registry(make_leaf(CA), answer=(404, {})) as registry:
        result = probe(registry)
    assert result["reason"] == "no_registry_api"
    assert "HTTP 404" in result["message"]
    assert result["ok"] is False


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_cn_only_certificate(host):
    with Registry(make_leaf(CA, cn=host, sans=None)) as registry:
        result = probe(registry, host)
    assert result["reason"] == "no_san"
    assert result["problems"] == ["no_san"]
    message = result["message"]
    assert "no subjectAltName" in message
    assert "GODEBUG=x509ignoreCN=0" in message
    assert "Go 1.17" in message
    kind = "IP" if host[0].isdigit() else "DNS"
    assert f"Reissue the certificate with subjectAltName {kind}:{host}" in message
    assert result["certificate"]["subject"] == f"CN={host}"
    assert result["certificate"]["subject_alt_names"] is None


def test_name_not_in_sans():
    leaf = make_leaf(CA, cn="registry", sans=("registry.example.test", "10.9.9.9"))
    with Registry(leaf) as registry:
        result = probe(registry)
    assert result["reason"] == "name_mismatch"
    assert "127.0.0.1 is not in its certificate's subjectAltName" in result["message"]
    assert "DNS:registry.example.test, IP:10.9.9.9" in result["message"]
    assert "IP:127.0.0.1 added" in result["message"]


def test_expired():
    leaf = make_leaf(CA, not_before=now() - 400 * DAY, not_after=now() - 2 * DAY)
    with Registry(leaf) as registry:
        result = probe(registry)
    assert result["reason"] == "expired"
    assert result["problems"] == ["expired"]
    expiry = leaf.cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"expired on {expiry}" in result["message"]
    assert "Renew it" in result["message"]


def test_not_yet_valid():
    leaf = make_leaf(CA, not_before=now() + 3 * DAY, not_after=now() + 300 * DAY)
    with Registry(leaf) as registry:
        result = probe(registry)
    assert result["reason"] == "not_yet_valid"
    start = leaf.cert.not_valid_before_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"not valid before {start}" in result["message"]
    assert "clocks" in result["message"]


def test_signed_by_another_ca():
    with Registry(make_leaf(OTHER_CA)) as registry:
        result = probe(registry)
    assert result["reason"] == "untrusted"
    assert result["problems"] == ["untrusted"]
    message = result["message"]
    assert "does not lead to the given CA" in message
    assert "issued by CN=Somebody Else CA" in message
    assert "the CA given: CN=Prodgrade Registry CA" in message


def test_every_problem_is_listed_most_important_first():
    leaf = make_leaf(OTHER_CA, sans=None, not_before=now() - 90 * DAY, not_after=now() - DAY)
    with Registry(leaf) as registry:
        result = probe(registry)
    assert result["problems"] == ["no_san", "expired", "untrusted"]
    assert result["reason"] == "no_san"
    assert result["message"].index("subjectAltName") < result["message"].index("expired on")


def test_intermediate_served_by_the_registry_leads_to_the_root():
    intermediate = make_ca("Registry Issuing CA", issuer=CA)
    with Registry(make_leaf(intermediate), chain=[intermediate]) as registry:
        assert probe(registry)["ok"] is True
        # Go trusts any certificate in its pool: giving only the intermediate works too.
        assert probe(registry, ca=intermediate)["ok"] is True


def test_intermediate_not_served_is_untrusted():
    intermediate = make_ca("Registry Issuing CA", issuer=CA)
    with Registry(make_leaf(intermediate)) as registry:
        result = probe(registry)
    assert result["reason"] == "untrusted"
    assert "issued by CN=Registry Issuing CA" in result["message"]


def test_expired_intermediate():
    intermediate = make_ca(
        "Old Issuing CA", issuer=CA, not_before=now() - 900 * DAY, not_after=now() - DAY
    )
    with Registry(make_leaf(intermediate), chain=[intermediate]) as registry:
        result = probe(registry)
    assert result["reason"] == "expired"
    assert (
        "CA or intermediate certificate above the registry's own has expired" in (result["message"])
    )


def test_refused_port_is_unreachable():
    result = probe(f"127.0.0.1:{refused_port()}")
    assert result["reason"] == "unreachable"
    assert "refused" in result["message"]
    assert result["certificate"] is None


def test_unresolvable_name_is_unreachable(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = probe("registry.nowhere.test:5000")
    assert result["reason"] == "unreachable"
    assert "does not resolve" in result["message"]


def test_port_that_does_not_speak_tls():
    with PlainServer() as plain:
        result = probe(f"127.0.0.1:{plain.port}")
    assert result["reason"] == "tls_error"
    assert "TLS handshake failed" in result["message"]


def test_silent_port_times_out_in_the_handshake():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepted by the kernel, never answered
    try:
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        result = registry_tls.probe(address, ca_pem=CA.pem, timeout=0.5)
    finally:
        listener.close()
    assert result["reason"] == "tls_error"
    assert "no TLS handshake within 0.5s" in result["message"]


def test_client_certificate():
    client = make_leaf(CA, cn="node-1", sans=None, client=True)
    with Registry(make_leaf(CA), client_ca=CA) as registry:
        good = probe(registry, client_cert=client.pem, client_key=client.key_pem)
        missing = probe(registry)
    assert good["ok"] is True, good["message"]
    assert good["api"]["status"] == 200
    assert missing["reason"] == "tls_error"
    assert "client certificate" in missing["message"]


def test_client_certificate_files_do_not_stay(tmp_path, monkeypatch):
    monkeypatch.setattr(registry_tls.tempfile, "tempdir", str(tmp_path))
    client = make_leaf(CA, cn="node-1", sans=None, client=True)
    with Registry(make_leaf(CA), client_ca=CA) as registry:
        assert probe(registry, client_cert=client.pem, client_key=client.key_pem)["ok"]
    assert list(tmp_path.iterdir()) == []


def test_registry_api_is_read_even_when_unverified_if_asked():
    with Registry(make_leaf(OTHER_CA)) as registry:
        asked = probe(registry, api_when_unverified=True)
        not_asked = probe(registry)
    assert asked["reason"] == not_asked["reason"] == "untrusted"
    assert asked["api"]["status"] == 200
    assert not_asked["api"] is None


def test_ca_with_text_around_it():
    """Bundles exported by openssl pkcs12 carry "Bag Attributes" text, even non-ASCII."""
    bundle = "Bag Attributes\n    friendlyName: Régistre CA\n" + OTHER_CA.pem + "trailer\n" + CA.pem
    with Registry(make_leaf(CA)) as registry:
        result = registry_tls.probe(registry.address(), ca_pem=bundle, timeout=3)
    assert result["ok"] is True, result["message"]


def test_bad_ca():
    with Registry(make_leaf(CA)) as registry:
        result = registry_tls.probe(registry.address(), ca_pem="hello", timeout=3)
    assert result["reason"] == "bad_ca"
    assert "no PEM certificate" in result["message"]


def test_without_a_ca_the_system_store_is_used():
    with Registry(make_leaf(CA)) as registry:
        result = probe(registry, ca=None)
    assert result["reason"] == "untrusted"
    assert "no CA given" in result["message"]


def test_probes_in_parallel_do_not_interfere():
    """The role probes every registry of a host in one module call; servers see no mix-up."""
    results = {}
    with Registry(make_leaf(CA)) as good, Registry(make_leaf(CA, sans=None)) as cn_only:

        def run(name, registry):
            results[name] = probe(registry)["reason"]

        threads = [
            threading.Thread(target=run, args=(name, reg))
            for name, reg in (("good", good), ("cn_only", cn_only))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert results == {"good": "ok", "cn_only": "no_san"}


def test_certificate_summary_dates_are_iso():
    leaf = make_leaf(CA)
    with Registry(leaf) as registry:
        result = probe(registry)
    cert = result["certificate"]
    assert cert["not_after"] == leaf.cert.not_valid_after_utc.isoformat()
    assert x509.load_pem_x509_certificate(leaf.pem.encode()).serial_number
