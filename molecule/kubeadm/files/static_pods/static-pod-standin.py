#!/usr/bin/python3
"""A stand-in for one control-plane container of a kubeadm node (test scenario only).

    static-pod-standin.py COMPONENT

COMPONENT is kube-apiserver, kube-controller-manager or kube-scheduler. The real binaries and
images cannot be obtained on the build machines, so the kubeadm scenario runs this instead, as
the systemd unit static-pod-standin@COMPONENT.service started by the kubelet stand-in (the
static-pod-standin-watch@COMPONENT path unit) whenever COMPONENT's static pod manifest changes.

It serves HTTPS on the component's secure port on 0.0.0.0 and answers GET (and HEAD) /readyz,
/healthz and /livez with 200 "ok", anything else with 404, one log line per request on stderr
(the journal). What it serves with is what the real component would serve with:

- kube-apiserver: /etc/kubernetes/pki/apiserver.crt and apiserver.key, read once at start, as
  the real process does (a restart is what loads new files); client certificates are requested
  but not required and are verified against /etc/kubernetes/pki/ca.crt (which may hold more than
  one CA during a rotation), as the real API server does for anonymous /readyz;
- kube-controller-manager and kube-scheduler: a self-signed certificate made at start (the real
  ones make one in memory when given no --tls-cert-file), here with the openssl command in a
  private temporary directory that is removed once the certificate is loaded.

It refuses to start (exit 1) when /etc/kubernetes/manifests/COMPONENT.yaml is missing, as there
is no static pod then, and logs the SHA-256 of the manifest it starts from.

Python standard library only, plus the openssl command for the self-signed certificates.
"""

import contextlib
import hashlib
import http.server
import os
import ssl
import subprocess
import sys
import tempfile
import time

PORTS = {"kube-apiserver": 6443, "kube-controller-manager": 10257, "kube-scheduler": 10259}
MANIFESTS = "/etc/kubernetes/manifests"
PKI = "/etc/kubernetes/pki"
HEALTH_PATHS = ("/readyz", "/healthz", "/livez")


def log(component, message):
    print(f"{component} stand-in: {message}", file=sys.stderr, flush=True)


def fail(component, message):
    log(component, f"error: {message}")
    sys.exit(1)


def fingerprint(cert_file):
    """SHA-256 of the first certificate in a PEM file (the served leaf), for the log."""
    with open(cert_file, encoding="ascii") as handle:
        pem = handle.read()
    end = "-----END CERTIFICATE-----"
    first = pem[: pem.index(end) + len(end)]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def apiserver_context(component):
    cert, key, ca = (f"{PKI}/{name}" for name in ("apiserver.crt", "apiserver.key", "ca.crt"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
        # Client certificates: asked for, verified when given, not required (anonymous /readyz).
        context.load_verify_locations(cafile=ca)
    except (OSError, ssl.SSLError, ValueError) as exc:
        fail(component, f"cannot load {cert}, {key} or {ca}: {exc}")
    context.verify_mode = ssl.CERT_OPTIONAL
    log(component, f"serving {cert} (sha256 {fingerprint(cert)}), client CAs from {ca}")
    return context


def self_signed_context(component):
    """A certificate made at start, as the real component makes one in memory."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix=f"{component}-") as private:  # mode 0700
        cert, key = os.path.join(private, "tls.crt"), os.path.join(private, "tls.key")
        command = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "365",
            "-subj", f"/CN=localhost@{int(time.time())}",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
            context.load_cert_chain(cert, key)
        except FileNotFoundError:
            fail(component, "the openssl command is missing")
        except subprocess.CalledProcessError as exc:
            fail(component, f"openssl could not make a certificate: {exc.stderr.strip()}")
        log(component, f"serving a self-signed certificate (sha256 {fingerprint(cert)})")
    return context


def log_manifest(component, manifest):
    with open(manifest, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    log(component, f"manifest {manifest} sha256 {digest}")


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, component, context):
        self.component = component
        self.context = context
        super().__init__(("0.0.0.0", PORTS[component]), Handler)

    def get_request(self):
        sock, address = super().get_request()
        # The TLS handshake happens in the request's thread (on first read), so a slow or
        # broken client cannot block the accepting loop.
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        log(self.component, f"{client_address[0]}:{client_address[1]} connection error: {exc}")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "static-pod-standin"
    sys_version = ""

    def answer(self, body=True):
        path = self.path.split("?", 1)[0]
        if self.command in ("GET", "HEAD") and path in HEALTH_PATHS:
            status, text = 200, b"ok"
        else:
            status, text = 404, b"404 page not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if body:
            self.wfile.write(text)

    def do_GET(self):
        self.answer()

    def do_HEAD(self):
        self.answer(body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def client_name(self):
        try:
            peer = self.connection.getpeercert()
        except (AttributeError, ValueError):
            peer = None
        if not peer:
            return "anonymous"
        subject = dict(item for rdn in peer.get("subject", ()) for item in rdn)
        return f"CN={subject.get('commonName', '?')}"

    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        log(
            self.server.component,
            f"{self.client_address[0]}:{self.client_address[1]} {self.client_name()} "
            f'"{self.requestline}" {code}',
        )

    def log_error(self, format, *args):
        log(self.server.component, f"{self.client_address[0]}: {format % args}")


def main(argv):
    if len(argv) != 2 or argv[1] not in PORTS:
        print(f"usage: {argv[0]} {{{','.join(PORTS)}}}", file=sys.stderr)
        return 1
    component = argv[1]
    manifest = f"{MANIFESTS}/{component}.yaml"
    if not os.path.isfile(manifest):
        fail(component, f"no static pod manifest {manifest}: refusing to start")
    log_manifest(component, manifest)
    if component == "kube-apiserver":
        context = apiserver_context(component)
    else:
        context = self_signed_context(component)
    try:
        server = Server(component, context)
    except OSError as exc:
        fail(component, f"cannot listen on 0.0.0.0:{PORTS[component]}: {exc}")
    log(component, f"listening on https://0.0.0.0:{PORTS[component]} (pid {os.getpid()})")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
