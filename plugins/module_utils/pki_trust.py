# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a directory in kubeadm's PKI layout trusts, and whether hosts and the store agree.

The trust of a cluster is its three CA certificates and the service-account public key. The
same reader serves a host's ``/etc/kubernetes/pki`` (by the ``pki_trust`` module, standard
library only) and the controller's store, whose top level has the same layout.

``compare()`` is the guard of the pki phase: a host that already trusts a CA or a
service-account key the store does not hold means the store is not this cluster's (lost,
emptied, or another controller's). Issuing anything from such a store would replace the trust
of a running cluster, so the caller refuses with ``refusal()`` before any host changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_lock import (
    StoreLocked,
    acquire,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.x509_der import (
    CertificateError,
    pem_certificates,
)

# (name, file in the PKI directory): what a cluster's hosts trust, in kubeadm's layout.
TRUST_FILES = (
    ("ca", "ca.crt"),
    ("etcd-ca", "etcd/ca.crt"),
    ("front-proxy-ca", "front-proxy-ca.crt"),
    ("sa", "sa.pub"),
)
# Written by the pki module into the store and beside the PKI on every host: which store (and
# which trust) last wrote a host's files.
STORE_MARKER = "trust.json"
HOST_MARKER = "prodgrade-trust.json"

_PUBLIC_KEY_RE = re.compile(rb"-----BEGIN PUBLIC KEY-----\s*(.+?)\s*-----END PUBLIC KEY-----", re.S)


def fingerprint(der):
    """SHA-256 fingerprint as openssl prints it (``openssl x509 -noout -fingerprint -sha256``)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def short(value):
    """The first 8 bytes of a fingerprint, enough to tell two CAs apart in a message."""
    return value[:30] + "..." if value and len(value) > 30 else value


def _public_keys(data):
    keys = []
    for match in _PUBLIC_KEY_RE.finditer(data):
        try:
            keys.append(base64.b64decode(b"".join(match.group(1).split()), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise CertificateError(f"bad base64 in a PEM block: {exc}") from None
    return keys


def fingerprints_of(name, data):
    """Fingerprints of the certificates (or, for ``sa``, public keys) in one trust file's bytes.

    Raises CertificateError when a block cannot be decoded or there is none.
    """
    blocks = _public_keys(data) if name == "sa" else pem_certificates(data)
    if not blocks:
        kind = "PEM public key" if name == "sa" else "PEM certificate"
        raise CertificateError(f"holds no {kind}")
    return [fingerprint(der) for der in blocks]


def read_trust(directory, marker=HOST_MARKER):
    """Fingerprints of the trust files under ``directory``.

    Returns ``{"ca": [...], "etcd-ca": [...], "front-proxy-ca": [...], "sa": [...],
    "marker": dict or None, "errors": [...]}``: each list holds one fingerprint per
    certificate (or public key) in the file, in file order, and is None when the file is absent.
    A file that exists but cannot be read or parsed is an error, never "absent".
    """
    result = {"marker": None, "errors": []}
    for name, rel in TRUST_FILES:
        path = os.path.join(directory, rel)
        result[name] = None
        try:
            with open(path, "rb") as handle:
                result[name] = fingerprints_of(name, handle.read())
        except FileNotFoundError:
            continue
        except OSError as exc:
            result["errors"].append(f"cannot read {path}: {exc.strerror}")
        except CertificateError as exc:
            result["errors"].append(f"{path}: {exc}")
    path = os.path.join(directory, marker)
    try:
        with open(path, "rb") as handle:
            result["marker"] = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        result["errors"].append(f"cannot read {path}: {exc}")
    if result["marker"] is not None and not isinstance(result["marker"], dict):
        result["errors"].append(f"{path} is not a JSON object")
        result["marker"] = None
    return result


def holds_trust(report):
    """Whether a trust report names any CA or service-account key."""
    return any(report.get(name) for name, _ in TRUST_FILES)


def marker_content(store_id, cluster_name, trust_files):
    """The bytes of the trust marker of a store: its id, cluster and current fingerprints.

    ``trust_files``: ``{name: bytes or None}`` for the names of TRUST_FILES.
    """
    content = {"store_id": store_id, "cluster_name": cluster_name}
    for name, _ in TRUST_FILES:
        data = trust_files.get(name)
        content[name] = fingerprints_of(name, data)[0] if data else None
    return (json.dumps(content, indent=2, sort_keys=True) + "\n").encode("ascii")


def compare(store, hosts):
    """Findings for each host whose trust the store does not hold.

    ``store``: ``read_trust()`` of the store. ``hosts``: ``{host: read_trust() of the host}``.
    Returns a list of ``{"host", "item", "host_has", "store_has", "problem"}``, problem being
    ``store-lacks`` (the store has no such CA or key), ``differs`` (it has another one) or
    ``unreadable``. The store's first certificate is its current CA; a host holding a bundle
    with it (during a rotation) is fine.
    """
    findings = []
    for host in sorted(hosts):
        report = hosts[host] or {}
        for error in report.get("errors") or []:
            findings.append(
                {
                    "host": host,
                    "item": error,
                    "host_has": None,
                    "store_has": None,
                    "problem": "unreadable",
                }
            )
        for name, _ in TRUST_FILES:
            on_host = report.get(name)
            if not on_host:
                continue
            in_store = store.get(name) or []
            current = in_store[0] if in_store else None
            if current is None:
                problem = "store-lacks"
            elif current not in on_host:
                problem = "differs"
            else:
                continue
            findings.append(
                {
                    "host": host,
                    "item": name,
                    "host_has": on_host,
                    "store_has": current,
                    "problem": problem,
                }
            )
    return findings


def _describe(marker):
    if not marker:
        return ""
    cluster = marker.get("cluster_name")
    store_id = marker.get("store_id")
    return f" (their files were written by store {store_id} of cluster {cluster!r})"


def refusal(findings, store_path, store, hosts):
    """One message for the findings: what the hosts trust, what the store has, the ways out."""
    unreadable = [item for item in findings if item["problem"] == "unreadable"]
    mismatched = [item for item in findings if item["problem"] != "unreadable"]
    parts = []
    if mismatched:
        by_item = {}
        for item in mismatched:
            key = (item["item"], tuple(item["host_has"]), item["store_has"])
            by_item.setdefault(key, []).append(item["host"])
        details = []
        for (name, host_has, store_has), names in by_item.items():
            details.append(
                f"{', '.join(names)} trust {name} {' + '.join(short(fp) for fp in host_has)}, "
                f"the store has {short(store_has) if store_has else 'none'}"
            )
        markers = [hosts[h].get("marker") for h in sorted(hosts) if hosts[h].get("marker")]
        store_empty = not any(store.get(name) for name, _ in TRUST_FILES)
        what = (
            "is missing or empty"
            if store_empty
            else "holds another cluster's CAs (another controller's store?)"
        )
        parts.append(
            f"Refusing to issue or install any certificate: the hosts already trust a cluster "
            f"PKI that the store {store_path} does not hold; the store {what}"
            f"{_describe(markers[0] if markers else None)}. "
            + "; ".join(details)
            + ". Issuing from this store would replace the trust of a running cluster. Nothing "
            "was changed. Ways out: restore the store from its encrypted backup "
            "(prodgrade.kubernetes.pki_store_restore -e pki_store_restore_file=FILE); or "
            "rebuild it from the control-plane hosts (prodgrade.kubernetes.pki_store_recover); "
            "or point pki_store_dir at this cluster's store; a host that belongs to no cluster "
            "any more must have its old /etc/kubernetes/pki removed (prodgrade.kubernetes.reset) "
            "before it joins. See docs/pki.md, 'When the store is lost'."
        )
    if unreadable:
        parts.append(
            "Cannot verify what the hosts trust: "
            + "; ".join(f"{item['host']}: {item['item']}" for item in unreadable)
            + ". Fix or remove the damaged file, then run again."
        )
    return " ".join(parts)


def guard(store, hosts, lock=True, lock_wait=0):
    """The pki_guard check: ``(failure message or None, result)``; raises nothing.

    Takes the store's lock first (when ``lock``), then compares ``hosts`` (``{host: report}``)
    with the store. Runs on the controller, in the pki_guard action (or module).
    """
    result = {"changed": False}
    if lock:
        try:
            result["lock"] = acquire(store, wait_seconds=lock_wait)
        except StoreLocked as exc:
            return str(exc), result
        except OSError as exc:
            return f"Cannot lock the PKI store {store}: {exc}.", result
    store_trust = read_trust(store, marker=STORE_MARKER) if os.path.isdir(store) else {}
    result["store_trust"] = store_trust
    if store_trust.get("errors"):
        return "The PKI store cannot be read: " + "; ".join(store_trust["errors"]), result
    findings = compare(store_trust, hosts)
    if findings:
        result["findings"] = findings
        return refusal(findings, store, store_trust, hosts), result
    result["hosts_with_trust"] = sorted(
        host for host, report in hosts.items() if holds_trust(report or {})
    )
    return None, result
