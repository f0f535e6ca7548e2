# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a container registry's TLS the way the container runtimes will, and say what is wrong.

containerd, CRI-O, Docker and the kubelet are Go programs. Go's crypto/x509 has ignored the
CommonName since Go 1.15 and dropped the ``GODEBUG=x509ignoreCN=0`` escape in Go 1.17, so a
registry certificate without a subjectAltName extension cannot be made to work by any runtime
setting. This module connects from the node with the standard library only (``ssl`` and
``socket``; the certificate is read with ``x509_der``) and, when the handshake fails, finds
out why, so each cause gets its own message:

- ``no_san``: no subjectAltName extension at all (CommonName only);
- ``name_mismatch``: the host name or address is not among the subjectAltNames;
- ``expired`` / ``not_yet_valid``: outside the validity period (the server's certificate or
  one above it in the chain);
- ``untrusted``: the chain does not lead to the given CA;
- ``unreachable``: no TCP connection (name not resolved, refused, timed out);
- ``tls_error``: a TCP connection but no TLS session (not TLS, client certificate refused, ...);
- ``bad_ca``: the CA given is not a readable PEM certificate;
- ``no_registry_api``: TLS is fine but ``GET /v2/`` is answered with neither 200 nor 401.

Verification follows Go rather than OpenSSL's defaults where they differ: the CommonName is
never used as a name, any certificate given as CA is a trust anchor (partial chains, as in a
Go cert pool), and TLS 1.2 is the minimum. The checks that follow a failed handshake use
two more connections: one that does not verify (to read the server's certificate) and one
that verifies the chain but not the name.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import re
import shutil
import socket
import ssl
import tempfile

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.x509_der import (
    CertificateError,
    certificate_details,
    pem_certificates,
)

REASONS = (
    "ok",
    "no_san",
    "name_mismatch",
    "expired",
    "not_yet_valid",
    "untrusted",
    "unreachable",
    "tls_error",
    "bad_ca",
    "no_registry_api",
)
# When a certificate has several problems, the first of these is the reason given.
_PRIORITY = ("no_san", "name_mismatch", "expired", "not_yet_valid", "untrusted")

DEFAULT_PORT = 443
USER_AGENT = "prodgrade-kubernetes-registry-probe"
# X509_V_FLAG_PARTIAL_CHAIN; ssl.VERIFY_X509_PARTIAL_CHAIN exists from Python 3.10 only.
_PARTIAL_CHAIN = getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0x80000)
# OpenSSL verify results that are about time, not trust.
_X509_NOT_YET_VALID = 9
_X509_EXPIRED = 10
_X509_HOSTNAME_MISMATCH = 62

_ADDRESS_RE = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
_AUTH_PARAM_RE = re.compile(r'([A-Za-z_]+)="([^"]*)"')


def parse_address(address):
    """``(hostname, port)`` of ``host``, ``host:port`` or ``[v6]:port`` (no scheme, no path).

    Raises ValueError for anything else, including a bare IPv6 address without brackets,
    which image references cannot carry either.
    """
    match = _ADDRESS_RE.match(address or "")
    if not match:
        raise ValueError(f"{address!r} is not host, host:port or [IPv6]:port (no scheme, no path)")
    port = int(match.group("port")) if match.group("port") else DEFAULT_PORT
    if not 0 < port < 65536:
        raise ValueError(f"{address!r} has port {port}, outside 1-65535")
    if match.group("v6"):
        try:
            hostname = str(ipaddress.IPv6Address(match.group("v6")))
        except ValueError:
            raise ValueError(f"{address!r} has no valid IPv6 address in brackets") from None
    else:
        hostname = match.group("name").lower()
    return hostname, port


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def name_matches(hostname, sans):
    """Whether ``hostname`` is covered by ``sans`` (``{dns: [...], ip: [...]}``), as Go decides.

    An IP address matches iPAddress entries only. A name matches a dNSName exactly (case and
    a trailing dot ignored) or a wildcard that is the whole leftmost label and stands for
    exactly one label: ``*.example.com`` covers ``a.example.com``, not ``example.com`` or
    ``a.b.example.com``.
    """
    address = _ip(hostname)
    if address is not None:
        return any(_ip(ip) == address for ip in sans.get("ip", []))
    host = hostname.lower().rstrip(".")
    for entry in sans.get("dns", []):
        pattern = entry.lower().rstrip(".")
        if pattern == host:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            first, _, rest = host.partition(".")
            if first and rest == pattern[2:]:
                return True
    return False


def describe_sans(sans):
    """``DNS:a, IP:b`` for messages."""
    if sans is None:
        return "none"
    items = [f"DNS:{name}" for name in sans["dns"]] + [f"IP:{ip}" for ip in sans["ip"]]
    return ", ".join(items) or "none of DNS or IP type"


def ca_subjects(ca_pem):
    """The subjects of the certificates in ``ca_pem``; raises CertificateError if there are none."""
    data = ca_pem.encode("utf-8") if isinstance(ca_pem, str) else ca_pem
    blocks = pem_certificates(data)
    if not blocks:
        raise CertificateError("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
    return [certificate_details(der)["subject"] for der in blocks]


def _certificate_summary(info):
    return {
        "subject": info["subject"],
        "issuer": info["issuer"],
        "subject_alt_names": info["subject_alt_names"],
        "not_before": info["not_before"].isoformat(),
        "not_after": info["not_after"].isoformat(),
    }


class _ClientFiles:
    """The client certificate and key in private temporary files (ssl wants paths)."""

    def __init__(self, cert_pem, key_pem):
        self.dir = None
        self.cert = self.key = None
        if cert_pem and key_pem:
            self.dir = tempfile.mkdtemp(prefix="registry-probe-")
            self.cert = self._write("client.cert", cert_pem)
            self.key = self._write("client.key", key_pem)

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _context(ca_pem, client, verify_chain=True, check_hostname=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify_chain:
        ctx.check_hostname = check_hostname
        if getattr(ssl, "HAS_NEVER_CHECK_COMMON_NAME", False):
            ctx.hostname_checks_common_name = False
        ctx.verify_flags |= _PARTIAL_CHAIN
        if ca_pem:
            # DER, so that text around the PEM blocks (as openssl pkcs12 writes) does not matter.
            data = ca_pem.encode("utf-8") if isinstance(ca_pem, str) else ca_pem
            ctx.load_verify_locations(cadata=b"".join(pem_certificates(data)))
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client.cert:
        ctx.load_cert_chain(client.cert, client.key)
    return ctx


class _Unreachable(Exception):
    pass


def _connect(hostname, port, timeout):
    try:
        return socket.create_connection((hostname, port), timeout=timeout)
    except socket.gaierror as exc:
        raise _Unreachable(f"the name {hostname} does not resolve on this node ({exc})") from None
    except ConnectionRefusedError:
        raise _Unreachable(f"connection to port {port} refused (nothing listens there?)") from None
    except (socket.timeout, TimeoutError):
        raise _Unreachable(
            f"no answer within {timeout:g}s (a firewall, a wrong address or a down host?)"
        ) from None
    except OSError as exc:
        raise _Unreachable(exc.strerror or str(exc)) from None


def _handshake(ctx, hostname, port, timeout):
    sock = _connect(hostname, port, timeout)
    try:
        return ctx.wrap_socket(sock, server_hostname=hostname)
    except BaseException:
        sock.close()
        raise


def _tls_error_text(exc, timeout, during_handshake=True):
    """A sentence for a handshake that failed for another reason than the certificate."""
    if isinstance(exc, (socket.timeout, TimeoutError)) and not during_handshake:
        return f"no answer to GET /v2/ within {timeout:g}s"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return (
            f"no TLS handshake within {timeout:g}s: something accepts connections on this port "
            "but does not speak TLS to us"
        )
    reason = getattr(exc, "reason", None)
    # OpenSSL's reason codes (WRONG_VERSION_NUMBER) read better as words.
    text = reason.replace("_", " ").lower() if isinstance(reason, str) else str(exc)
    lowered = text.lower()
    if "wrong version number" in lowered or "record layer failure" in lowered:
        hint = "the port does not speak TLS (a plain-HTTP registry?)"
    elif "certificate required" in lowered or "bad certificate" in lowered:
        hint = "the registry asks for a client certificate it did not get or did not accept"
    elif "unknown ca" in lowered:
        hint = "the registry does not trust the client certificate's issuer"
    elif isinstance(exc, (ssl.SSLEOFError, ConnectionResetError, EOFError)):
        hint = (
            "the server closed the connection (it may require a client certificate, or not "
            "speak TLS)"
        )
    else:
        hint = ""
    return f"{text}: {hint}" if hint else text


def _peer_certificate(ca_pem, client, hostname, port, timeout):
    """The server's certificate, read without verifying it."""
    with _handshake(_context(ca_pem, client, verify_chain=False), hostname, port, timeout) as tls:
        return tls.getpeercert(binary_form=True)


def _chain_error(ca_pem, client, hostname, port, timeout):
    """None when the chain verifies (the name not checked), else the SSLCertVerificationError."""
    ctx = _context(ca_pem, client, verify_chain=True, check_hostname=False)
    try:
        with _handshake(ctx, hostname, port, timeout):
            return None
    except ssl.SSLCertVerificationError as exc:
        return exc


def _fmt(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _findings(info, hostname, now, chain_error):
    """``[(reason, sentence)]`` for everything wrong with the certificate, most important first."""
    found = {}
    sans = info["subject_alt_names"]
    kind = "IP" if _ip(hostname) is not None else "DNS"
    if sans is None:
        found["no_san"] = (
            f"its certificate ({info['subject']}) has no subjectAltName extension: the name is "
            "only in the CommonName. Go (containerd, CRI-O, Docker, the kubelet) ignores the "
            "CommonName since Go 1.15 and removed GODEBUG=x509ignoreCN=0 in Go 1.17, so no "
            "runtime flag can accept it any more. Reissue the certificate with subjectAltName "
            f"{kind}:{hostname}"
        )
    elif not name_matches(hostname, sans):
        found["name_mismatch"] = (
            f"the name {hostname} is not in its certificate's subjectAltName "
            f"({describe_sans(sans)}). Reissue the certificate with {kind}:{hostname} added, "
            "or use a name it carries"
        )
    validity = f"valid from {_fmt(info['not_before'])} to {_fmt(info['not_after'])}"
    if now > info["not_after"]:
        found["expired"] = (
            f"its certificate expired on {_fmt(info['not_after'])} ({validity}, now "
            f"{_fmt(now)}). Renew it"
        )
    elif now < info["not_before"]:
        found["not_yet_valid"] = (
            f"its certificate is not valid before {_fmt(info['not_before'])} ({validity}, now "
            f"{_fmt(now)} on this node). Check the clocks of this node and of the issuing CA"
        )
    if chain_error is not None:
        code = getattr(chain_error, "verify_code", None)
        detail = getattr(chain_error, "verify_message", None) or str(chain_error)
        if code == _X509_EXPIRED and "expired" not in found:
            found["expired"] = (
                "a CA or intermediate certificate above the registry's own has expired "
                f"({detail}). Renew that certificate and give the renewed CA"
            )
        elif code == _X509_NOT_YET_VALID and "not_yet_valid" not in found:
            found["not_yet_valid"] = (
                f"a CA or intermediate certificate above the registry's own is not valid yet "
                f"({detail}). Check the clocks"
            )
        elif code not in (_X509_EXPIRED, _X509_NOT_YET_VALID):
            found["untrusted"] = (
                f"the certificate chain does not lead to the given CA: the certificate "
                f"({info['subject']}) was issued by {info['issuer']} ({detail}). Give the CA that "
                "issued it (and make the registry serve any intermediate), or reissue the "
                "certificate from the given CA"
            )
    return [(reason, found[reason]) for reason in _PRIORITY if reason in found]


def _sentences(address, findings):
    """One message for all findings: the address once, then a sentence per problem."""
    return f"{address}: " + " ".join(f"{text[0].upper()}{text[1:]}." for _, text in findings)


def _with_ca_note(findings, subjects):
    """Name the CA that was given (or the system store) in the ``untrusted`` sentence."""
    note = f"the CA given: {'; '.join(subjects)}" if subjects else "no CA given: system CAs used"
    return [(r, f"{text} ({note})" if r == "untrusted" else text) for r, text in findings]


def _parse_challenge(header):
    if not header:
        return None, None, None
    scheme, _, params = header.strip().partition(" ")
    values = dict(_AUTH_PARAM_RE.findall(params))
    return scheme.lower() or None, values.get("realm"), values.get("service")


def _get_v2(tls, host_header):
    """Status and auth challenge of ``GET /v2/`` over an established TLS connection."""
    request = (
        f"GET /v2/ HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    )
    tls.sendall(request.encode("ascii"))
    response = http.client.HTTPResponse(tls)
    try:
        response.begin()
        scheme, realm, service = _parse_challenge(response.getheader("WWW-Authenticate"))
        return {
            "status": response.status,
            "auth_scheme": scheme,
            "realm": realm,
            "service": service,
            "api_version": response.getheader("Docker-Distribution-API-Version"),
        }
    finally:
        response.close()


def _host_header(hostname, port):
    shown = f"[{hostname}]" if ":" in hostname else hostname
    return shown if port == DEFAULT_PORT else f"{shown}:{port}"


def _api_result(api, address):
    """``(reason, sentence)`` when ``GET /v2/`` shows no registry, else None."""
    if api["status"] in (200, 401):
        return None
    return (
        "no_registry_api",
        f"{address}: TLS is fine, but GET /v2/ answered HTTP {api['status']}, not 200 or 401, "
        "so no registry API is served there: check the port, or whether the registry is "
        "served under a path prefix (containerd's override_path)",
    )


def probe(address, ca_pem=None, client_cert=None, client_key=None, timeout=5.0, check_api=True,
          api_when_unverified=False, now=None):  # fmt: skip
    """Probe one registry; return a dict with ``ok``, ``reason``, ``message`` and details.

    ``ca_pem`` is the PEM text of the CA(s) to trust; None trusts the system's CA store.
    ``client_cert``/``client_key`` are PEM texts for registries that ask for a client
    certificate. With ``api_when_unverified`` the ``/v2/`` check is made even when the
    certificate does not verify (over an unverified connection), for skip_verify registries.
    Raises ValueError when ``address`` is not ``host``, ``host:port`` or ``[IPv6]:port``.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    result = {
        "host": address,
        "hostname": None,
        "port": None,
        "ok": False,
        "reason": None,
        "message": None,
        "problems": [],
        "certificate": None,
        "api": None,
    }

    def finish(reason, message, problems=None):
        result.update(ok=reason == "ok", reason=reason, message=message)
        if problems is None:
            problems = [] if reason == "ok" else [reason]
        result["problems"] = problems
        return result

    hostname, port = parse_address(address)
    result.update(hostname=hostname, port=port)
    shown = _host_header(hostname, port)
    if ca_pem:
        try:
            subjects = ca_subjects(ca_pem)
        except CertificateError as exc:
            return finish("bad_ca", f"{address}: the CA given cannot be read: {exc}")
    else:
        subjects = None

    with _ClientFiles(client_cert, client_key) as client:
        try:
            ctx = _context(ca_pem, client)
        except ssl.SSLError as exc:
            what = "client certificate or key" if client.cert else "CA"
            return finish("bad_ca", f"{address}: the {what} given cannot be loaded: {exc}")

        verify_error = None
        try:
            with _handshake(ctx, hostname, port, timeout) as tls:
                info = certificate_details(tls.getpeercert(binary_form=True))
                result["certificate"] = _certificate_summary(info)
                # Go's rules, checked again in case the local OpenSSL still falls back to the CN.
                findings = _findings(info, hostname, now, None)
                if findings:
                    return finish(
                        findings[0][0], _sentences(address, findings), [r for r, _ in findings]
                    )
                if check_api:
                    result["api"] = _get_v2(tls, shown)
        except _Unreachable as exc:
            return finish("unreachable", f"{address}: registry unreachable from this node: {exc}.")
        except ssl.SSLCertVerificationError as exc:
            verify_error = exc
        except CertificateError as exc:
            return finish(
                "tls_error", f"{address}: the server's certificate cannot be read: {exc}."
            )
        except (ssl.SSLError, OSError, EOFError, http.client.HTTPException) as exc:
            shaken = result["certificate"] is not None
            stage = "GET /v2/ failed" if shaken else "TLS handshake failed"
            detail = _tls_error_text(exc, timeout, during_handshake=not shaken)
            return finish("tls_error", f"{address}: {stage}: {detail}.")

        if verify_error is None:
            problem = _api_result(result["api"], address) if check_api else None
            if problem:
                return finish(*problem)
            return finish("ok", f"{address}: certificate trusted, name and dates valid.")

        # The handshake refused the certificate: look at it to say why.
        try:
            der = _peer_certificate(ca_pem, client, hostname, port, timeout)
            info = certificate_details(der)
            chain_error = _chain_error(ca_pem, client, hostname, port, timeout)
        except _Unreachable as exc:
            return finish("unreachable", f"{address}: registry unreachable from this node: {exc}.")
        except CertificateError as exc:
            return finish(
                "tls_error", f"{address}: the server's certificate cannot be read: {exc}."
            )
        except (ssl.SSLError, OSError) as exc:
            return finish(
                "tls_error", f"{address}: TLS handshake failed: {_tls_error_text(exc, timeout)}."
            )
        result["certificate"] = _certificate_summary(info)
        findings = _findings(info, hostname, now, chain_error)
        if not findings:
            # OpenSSL refused what the checks above accept: report its own words.
            code = getattr(verify_error, "verify_code", None)
            reason = "name_mismatch" if code == _X509_HOSTNAME_MISMATCH else "untrusted"
            detail = getattr(verify_error, "verify_message", None) or str(verify_error)
            findings = [(reason, f"the certificate was refused: {detail}")]
        findings = _with_ca_note(findings, subjects)
        if api_when_unverified and check_api:
            try:
                with _handshake(
                    _context(None, client, verify_chain=False), hostname, port, timeout
                ) as tls:
                    result["api"] = _get_v2(tls, shown)
            except (_Unreachable, ssl.SSLError, OSError, EOFError, http.client.HTTPException):
                result["api"] = None
        return finish(findings[0][0], _sentences(address, findings), [r for r, _ in findings])
