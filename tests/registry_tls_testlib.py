"""Certificates and TLS "registries" for the registry-trust tests (imported, not collected).

Certificates are made by ``cryptography`` at test time; a registry is a small HTTPS server in
a thread on 127.0.0.1 that answers ``GET /v2/`` with a chosen status and headers, optionally
demanding a client certificate. pytest puts ``tests/`` on sys.path (it holds the top
conftest.py), so every test directory can import this module.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc
DAY = datetime.timedelta(days=1)


def now():
    return datetime.datetime.now(UTC)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self):
        return pem(self.cert)

    @property
    def key_pem(self):
        return key_pem(self.key)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn="Test Registry CA", issuer=None, not_before=None, not_after=None):
    """A CA certificate, self-signed or (with ``issuer``) an intermediate."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer = issuer or Issued(None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now() - DAY)
        .not_valid_after(not_after or now() + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )  # fmt: skip
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Issued(builder.sign(signer.key, hashes.SHA256()), key)


def make_leaf(ca, cn="localhost", sans=("localhost", "127.0.0.1"), not_before=None,
              not_after=None, client=False):  # fmt: skip
    """A server (or client) certificate from ``ca``; ``sans=None`` leaves out subjectAltName."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now() - DAY)
        .not_valid_after(not_after or now() + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if sans is not None:
        names = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        server = self.server
        server.paths.append(self.path)
        status, headers = server.answer if self.path == "/v2/" else (404, {})
        body = b"{}"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TLSServer(http.server.ThreadingHTTPServer):
    """A threaded HTTPS server on a free port of 127.0.0.1 serving ``handler``; the handler
    reads ``server.<name>`` for each keyword given."""

    daemon_threads = True

    def __init__(self, context, handler, **attributes):
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context
        for name, value in attributes.items():
            setattr(self, name, value)

    def finish_request(self, request, client_address):
        # The handshake runs in the request's thread; a client that gives up is not an error.
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass


class Registry:
    """An HTTPS server on 127.0.0.1 standing in for a registry; use as a context manager.

    ``chain``: the server certificate first, then any intermediates to send. ``answer``:
    (status, headers) for ``GET /v2/``. ``client_ca``: demand a client certificate from it.
    """

    def __init__(self, leaf, chain=(), answer=(200, None), client_ca=None):
        status, headers = answer
        headers = dict(headers or {})
        headers.setdefault("Docker-Distribution-API-Version", "registry/2.0")
        self._dir = tempfile.TemporaryDirectory(prefix="registry-tls-test-")
        certfile = Path(self._dir.name) / "server.pem"
        keyfile = Path(self._dir.name) / "server.key"
        certfile.write_text(leaf.pem + "".join(c.pem for c in chain))
        keyfile.write_text(leaf.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cadata=client_ca.pem)
        self.server = TLSServer(context, _Handler, answer=(status, headers), paths=[])
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def address(self, host="127.0.0.1"):
        return f"{host}:{self.port}"

    @property
    def paths(self):
        return self.server.paths

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
        self._dir.cleanup()


class PlainServer:
    """Accepts TCP connections and answers in plain HTTP: a port that does not speak TLS."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(2)
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def refused_port():
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
