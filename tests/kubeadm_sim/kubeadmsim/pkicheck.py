"""Reading certificates, keys and kubeconfigs the way kubeadm judges pre-provisioned PKI.

Certificates are read with the ``openssl`` command (every test node has it), so the nodes need no
Python package. What kubeadm does with existing files (cmd/kubeadm/app/phases/certs and
phases/kubeconfig), and what this module lets the simulator check:

- an existing leaf must be signed by its CA (``certificate X is not signed by corresponding CA``)
  and carry every SAN kubeadm would put in it (``certificate X is invalid: x509: ...``);
- its key must match it;
- an existing kubeconfig must embed the cluster CA (``a kubeconfig file ... exists already but
  has got the wrong CA cert``); a different server URL is only a warning;
- the discovery pin is ``sha256:`` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo (one per
  certificate when cluster-info carries a CA bundle).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import stat
import subprocess

from .errors import SimError

_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----\s*(.*?)\s*-----END \1-----", re.S)


class PKIProblem(Exception):
    """A file that cannot be used; the message is kubeadm-like."""


def _openssl(args, data=None):
    try:
        result = subprocess.run(
            ["openssl", *args],
            input=data,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except FileNotFoundError:
        raise SimError("kubeadm-sim needs the openssl command to read certificates") from None
    if result.returncode != 0:
        raise PKIProblem(result.stderr.decode("utf-8", "replace").strip() or "openssl failed")
    return result.stdout.decode("utf-8", "replace")


def pem_blocks(text, label=None):
    """DER bytes of every PEM block (of ``label`` if given) in ``text``."""
    blocks = []
    for kind, body in _PEM.findall(text):
        if label is None or kind == label:
            blocks.append(base64.b64decode("".join(body.split())))
    return blocks


class Certificate:
    """What the simulator needs of one certificate file."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                self.pem = handle.read()
        except OSError as exc:
            raise PKIProblem(f"couldn't load the certificate file {path}: {exc.strerror}") from None
        ders = pem_blocks(self.pem, "CERTIFICATE")
        if not ders:
            raise PKIProblem(f"couldn't load the certificate file {path}: no certificate found")
        self.der = ders[0]
        first = self.pem[: self.pem.index("-----END CERTIFICATE-----") + 25]
        info = _openssl(
            [
                "x509",
                "-noout",
                "-pubkey",
                "-subject",
                "-issuer",
                "-nameopt",
                "RFC2253",
                "-ext",
                "subjectAltName",
            ],
            first.encode(),
        )
        self.spki = pem_blocks(info, "PUBLIC KEY")[0]
        self.subject = _field(info, "subject")
        self.issuer = _field(info, "issuer")
        self.dns_names, self.ips = _sans(info)

    @property
    def spki_sha256(self):
        return hashlib.sha256(self.spki).hexdigest()

    def valid_for(self, name):
        """Whether the certificate carries ``name`` (a DNS name or an IP address) as a SAN."""
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            wanted = name.lower().rstrip(".")
            return any(_dns_match(pattern, wanted) for pattern in self.dns_names)
        return address in self.ips

    def names(self):
        return [*self.dns_names, *(str(ip) for ip in self.ips)]


def _field(text, name):
    for line in text.splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip()
    return ""


def _sans(text):
    """DNS names and addresses from ``openssl x509 -ext subjectAltName`` output."""
    dns, ips = [], []
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if "Subject Alternative Name" in line]
    for line in lines[starts[0] + 1 :] if starts else []:
        if not line.startswith((" ", "\t")):
            break
        for raw in line.split(","):
            item = raw.strip()
            if item.startswith("DNS:"):
                dns.append(item[4:].lower())
            elif item.startswith("IP Address:"):
                try:
                    ips.append(ipaddress.ip_address(item[len("IP Address:") :].strip()))
                except ValueError:
                    continue
    return dns, ips


def _dns_match(pattern, name):
    if pattern == name:
        return True
    if pattern.startswith("*."):
        head, _, tail = name.partition(".")
        return bool(head) and tail == pattern[2:]
    return False


def key_spki(path):
    """DER SubjectPublicKeyInfo of a private key file (unencrypted PEM)."""
    try:
        out = _openssl(["pkey", "-in", path, "-pubout", "-passin", "pass:"])
    except PKIProblem as exc:
        raise PKIProblem(f"couldn't load the private key file {path}: {exc}") from None
    return pem_blocks(out, "PUBLIC KEY")[0]


def public_key_spki(path):
    try:
        out = _openssl(["pkey", "-pubin", "-in", path, "-pubout"])
    except PKIProblem as exc:
        raise PKIProblem(f"couldn't load the public key file {path}: {exc}") from None
    return pem_blocks(out, "PUBLIC KEY")[0]


def signed_by(cert_path, ca_path):
    """None when ``cert_path`` verifies against the CA in ``ca_path``, else openssl's reason."""
    try:
        _openssl(["verify", "-CAfile", ca_path, cert_path])
    except PKIProblem as exc:
        return str(exc).splitlines()[-1] if str(exc) else "verification failed"
    return None


def ca_cert_hash(cert):
    """The discovery pin kubeadm prints: ``sha256:<hex of SHA-256(DER SPKI)>``."""
    return f"sha256:{cert.spki_sha256}"


def certificate_hashes(text):
    """The discovery pin of every certificate in the PEM ``text`` (a CA bundle), in order.

    PKIProblem unless there is at least one block and every block is a certificate openssl reads.
    """
    blocks = _PEM.findall(text)
    if not blocks:
        raise PKIProblem("data does not contain any valid RSA or ECDSA certificates")
    hashes = []
    for number, (kind, body) in enumerate(blocks, 1):
        if kind != "CERTIFICATE":
            raise PKIProblem(f"PEM block {number} is a {kind}, not a CERTIFICATE")
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
            info = _openssl(["x509", "-inform", "DER", "-noout", "-pubkey"], der)
        except (ValueError, PKIProblem):
            raise PKIProblem(f"PEM block {number} is not a valid certificate") from None
        spki = pem_blocks(info, "PUBLIC KEY")[0]
        hashes.append(f"sha256:{hashlib.sha256(spki).hexdigest()}")
    return hashes


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def private_mode_problem(path, shown):
    """A message when a key or kubeconfig is readable by group or others."""
    mode = mode_of(path)
    if mode & 0o077:
        return (
            f"kubeadm-sim: {shown} has mode {mode:04o}; keys and kubeconfigs must not be "
            "readable by group or others (0600)"
        )
    return None


def read_kubeconfig(path, loader):
    """``(server, ca_der)`` of the current context's cluster of a kubeconfig file."""
    try:
        with open(path, encoding="utf-8") as handle:
            docs = loader(handle.read(), path)
    except OSError as exc:
        raise PKIProblem(f"failed to load kubeconfig {path}: {exc.strerror}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise PKIProblem(f"failed to load kubeconfig {path}: not a kubeconfig")
    data = docs[0]
    clusters = {item.get("name"): item.get("cluster") or {} for item in data.get("clusters") or []}
    contexts = {item.get("name"): item.get("context") or {} for item in data.get("contexts") or []}
    current = contexts.get(data.get("current-context"))
    if current is None or current.get("cluster") not in clusters:
        raise PKIProblem(f"failed to load kubeconfig {path}: no current context or cluster")
    cluster = clusters[current["cluster"]]
    ca_data = cluster.get("certificate-authority-data")
    ca_der = None
    if ca_data:
        try:
            ca_der = pem_blocks(base64.b64decode(ca_data).decode("ascii", "replace"), "CERTIFICATE")
        except (ValueError, TypeError):
            ca_der = None
        ca_der = ca_der[0] if ca_der else None
    elif cluster.get("certificate-authority"):
        try:
            with open(
                cluster["certificate-authority"], encoding="ascii", errors="replace"
            ) as handle:
                blocks = pem_blocks(handle.read(), "CERTIFICATE")
            ca_der = blocks[0] if blocks else None
        except OSError:
            ca_der = None
    return cluster.get("server", ""), ca_der
