"""The health role's kubelet tasks against a local HTTPS server that acts as a kubelet.

The server serves the recorded /metrics fixtures (tests/unit/.../fixtures/kubelet_metrics)
on TLS with client-certificate authentication as the kubelet does (a certificate is optional
at the handshake, a request without one gets 401, one from another CA fails the handshake).
Its certificates are made with cryptography. The role's own tasks/kubelet.yml runs through
ansible-playbook on localhost: ansible.builtin.uri with the client pair, then the
kubelet_findings filter on the controller.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import re
import ssl
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FIXTURES = Path(__file__).parents[1] / "unit/plugins/module_utils/fixtures/kubelet_metrics"
# The healthy fixture's kubelet_pleg_last_seen_seconds; served shifted to the present.
RECORDED_LAST_SEEN = 1764001234.5678
LAST_SEEN_RE = re.compile(r"^kubelet_pleg_last_seen_seconds (\S+)$", re.MULTILINE)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject_cn, key, issuer_cert=None, issuer_key=None, ca=False, eku=None, ip=None, org=None
):
    now = datetime.datetime.now(datetime.timezone.utc)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    name = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path, cert=None, key=None):
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("kubelet-pki")
    ca_key = _key()
    ca = _cert("kubernetes", ca_key, ca=True)
    server_key = _key()
    server = _cert(
        "lab-cp1@1764000000",
        server_key,
        ca,
        ca_key,
        eku=ExtendedKeyUsageOID.SERVER_AUTH,
        ip="127.0.0.1",
    )
    client_key = _key()
    client = _cert(
        "kube-apiserver-kubelet-client",
        client_key,
        ca,
        ca_key,
        eku=ExtendedKeyUsageOID.CLIENT_AUTH,
        org="kubeadm:cluster-admins",
    )
    other_key = _key()
    other_ca = _cert("someone-else", other_key, ca=True)
    stranger_key = _key()
    stranger = _cert(
        "stranger", stranger_key, other_ca, other_key, eku=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    files = {}
    for name, cert, key in [
        ("ca", ca, ca_key),
        ("server", server, server_key),
        ("client", client, client_key),
        ("stranger", stranger, stranger_key),
    ]:
        _write(d / f"{name}.crt", cert=cert)
        _write(d / f"{name}.key", key=key)
        files[name] = (d / f"{name}.crt", d / f"{name}.key")
    return files


class Kubelet:
    """The fixture served as /metrics; /healthz answers ok. Shared by both servers."""

    fixture = "healthy"
    age = 0.5


def make_handler(require_client_cert):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code, body, ctype="text/plain; charset=utf-8"):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if require_client_cert and not self.connection.getpeercert():
                self._send(401, "Unauthorized\n")
                return
            if self.path == "/healthz":
                self._send(200, "ok")
            elif self.path == "/metrics":
                text = (FIXTURES / f"{Kubelet.fixture}.prom").read_text()
                recorded = float(LAST_SEEN_RE.search(text).group(1))
                shifted = time.time() - Kubelet.age - (RECORDED_LAST_SEEN - recorded)
                text = LAST_SEEN_RE.sub(f"kubelet_pleg_last_seen_seconds {shifted:.10e}", text)
                self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._send(404, "404 page not found\n")

    return Handler


@pytest.fixture(scope="module")
def servers(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, pki["server"]))
    context.load_verify_locations(str(pki["ca"][0]))
    # As the kubelet: a client certificate is optional at the handshake but must be the CA's.
    context.verify_mode = ssl.CERT_OPTIONAL
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(True))
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(False))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (tls, plain)]
    for thread in threads:
        thread.start()
    yield {"tls": tls.server_address[1], "plain": plain.server_address[1]}
    for server in (tls, plain):
        server.shutdown()
        server.server_close()


PLAYBOOK = """
- name: The health role's kubelet tasks
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the kubelet
      ansible.builtin.include_role:
        name: prodgrade.kubernetes.health
        tasks_from: kubelet.yml
    - name: Keep the findings
      ansible.builtin.copy:
        content: "{{ __health_kubelet_findings | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def run_kubelet_tasks(ansible, tmp_path, servers, pki, cert="client", authenticated=True, ca=""):
    playbook = tmp_path / "kubelet.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "findings.json"
    extra = {
        "ansible_python_interpreter": sys.executable,
        "out": str(out),
        "health_kubelet_url": f"https://127.0.0.1:{servers['tls']}",
        "health_kubelet_healthz_url": f"http://127.0.0.1:{servers['plain']}/healthz",
        "health_kubelet_client_cert": str(pki[cert][0]),
        "health_kubelet_client_key": str(pki[cert][1]),
        "health_kubelet_ca": ca,
        "__health_read": {
            "stdout_lines": [
                "kubelet_active active",
                f"kubelet_client_cert {'yes' if authenticated else 'no'}",
                f"time {int(time.time())}",
            ]
        },
    }
    res = ansible(
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps(extra),
        str(playbook),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return {f["check"]: f for f in json.loads(out.read_text())}


@pytest.mark.parametrize(
    ("fixture", "age", "expected"),
    [
        ("healthy", 0.5, {}),
        (
            "stalled_relist",
            0.5,
            {
                "kubelet.pleg_last_seen": "critical",
                "kubelet.pleg_relist_duration": "warning",
                "kubelet.runtime_operation_errors": "warning",
            },
        ),
        ("discard_events", 0.5, {"kubelet.pleg_discard_events": "warning"}),
    ],
)
def test_fixtures_served_over_https_with_a_client_certificate(
    ansible, tmp_path, servers, pki, fixture, age, expected
):
    Kubelet.fixture, Kubelet.age = fixture, age
    findings = run_kubelet_tasks(ansible, tmp_path, servers, pki)
    assert set(findings) == {
        "kubelet.healthz",
        "kubelet.pleg_last_seen",
        "kubelet.pleg_relist_duration",
        "kubelet.pleg_discard_events",
        "kubelet.runtime_operation_errors",
    }
    severities = {check: f["severity"] for check, f in findings.items() if f["severity"] != "ok"}
    assert severities == expected
    if fixture == "stalled_relist":
        # The reference is the answer's Date header (whole seconds): 250 s and a fraction.
        assert 249 <= findings["kubelet.pleg_last_seen"]["value"] <= 252


def test_the_kubelets_serving_certificate_verified_with_its_ca(ansible, tmp_path, servers, pki):
    Kubelet.fixture, Kubelet.age = "healthy", 0.5
    findings = run_kubelet_tasks(ansible, tmp_path, servers, pki, ca=str(pki["ca"][0]))
    assert {f["severity"] for f in findings.values()} == {"ok"}


def test_without_a_client_certificate_healthz_comes_from_the_local_port(
    ansible, tmp_path, servers, pki
):
    findings = run_kubelet_tasks(ansible, tmp_path, servers, pki, authenticated=False)
    assert findings["kubelet.healthz"]["severity"] == "ok"
    assert "cannot authenticate" in findings["kubelet.metrics"]["summary"]
    assert "kubelet.pleg_last_seen" not in findings


def test_a_certificate_from_another_ca_is_refused(ansible, tmp_path, servers, pki):
    findings = run_kubelet_tasks(ansible, tmp_path, servers, pki, cert="stranger")
    assert findings["kubelet.healthz"]["severity"] == "critical"
    assert findings["kubelet.metrics"]["severity"] == "warning"
    assert "kubelet.pleg_last_seen" not in findings
