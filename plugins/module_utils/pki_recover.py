# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rebuild a lost PKI store from the files the hosts hold, behind ``pki_store_recover``.

Distribution is a map from store files to host files (``pki.host_files``); recovery runs it
backwards. The playbook fetches every destination of that map from every host into one
directory (``<fetched>/<host>/<destination>``, as ``ansible.builtin.fetch`` lays it out); this
file checks that copies of one store file agree, writes them into the empty store with the
modes distribution uses, and records in ``recovery.json`` which keys no host held: the etcd and
front-proxy CA keys never leave the controller, and ``ca.key`` stays there too when the CA keys
are encrypted or external. The pki module then keeps every certificate those CAs signed but
refuses to issue new ones (see ``pki.py``): the honest state of a store whose keys are gone.
"""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import STORE_MARKER
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_files import (
    PRIVATE_DIR_MODE,
    make_private_dirs,
    write_atomic,
)

# (name, certificate, key) of what a store cannot work without.
CA_FILES = (
    ("ca", "ca.crt", "ca.key"),
    ("etcd-ca", "etcd/ca.crt", "etcd/ca.key"),
    ("front-proxy-ca", "front-proxy-ca.crt", "front-proxy-ca.key"),
    ("sa", "sa.pub", "sa.key"),
)
RECOVERY_RECORD = "recovery.json"


def lost_keys_in(data):
    """The CA names ``recovery.json``'s bytes list as lost; ValueError when it is not that JSON."""
    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    return [name for name in record.get("lost_keys") or [] if isinstance(name, str)]


def _record_bytes(record):
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("ascii")


def forget_lost_key(store, ca):
    """The key of ``ca`` exists again (a rotation replaced it): drop it from recovery.json."""
    path = os.path.join(store, RECOVERY_RECORD)
    with open(path, "rb") as handle:
        record = json.loads(handle.read().decode("utf-8"))
    record["lost_keys"] = [name for name in record.get("lost_keys") or [] if name != ca]
    write_atomic(path, _record_bytes(record), 0o644)


class RecoverError(ValueError):
    """The store cannot be rebuilt as asked; the message says why and what to do."""


def gather(store, fetched, host_files):
    """``{store file: {"mode": int, "copies": {host: bytes}}}`` from the fetched host files."""
    found = {}
    for host in sorted(host_files):
        for item in host_files[host]:
            rel = os.path.relpath(item["src"], store)
            entry = found.setdefault(rel, {"mode": int(item["mode"], 8), "copies": {}})
            path = os.path.join(fetched, host, item["dest"].lstrip("/"))
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    entry["copies"][host] = handle.read()
    return found


def recover(store, fetched, host_files, check_mode=False, now=None):
    """Write the store files the hosts gave back; return what was recovered and what was not.

    Refuses (RecoverError) when the store already holds a CA or service-account key, or when
    two hosts hold different copies of one shared file.
    """
    store = os.path.abspath(os.path.expanduser(store))
    present = [
        rel
        for _, cert, key in CA_FILES
        for rel in (cert, key)
        if os.path.lexists(os.path.join(store, rel))
    ]
    if present:
        raise RecoverError(
            f"The store {store} already holds {', '.join(present)}: recovery only fills a store "
            "that has no CA or service-account key. If it is a wrong store, move it aside (it "
            "may be the only copy of a key) and run again."
        )
    found = gather(store, fetched, host_files)
    conflicts = []
    chosen = {}
    for rel, entry in sorted(found.items()):
        versions = set(entry["copies"].values())
        if len(versions) > 1:
            if rel == STORE_MARKER:
                continue  # only names the store that wrote them; the pki module makes a new one
            conflicts.append(f"{rel} (from {', '.join(sorted(entry['copies']))})")
        elif versions:
            chosen[rel] = (versions.pop(), entry["mode"])
    if conflicts:
        raise RecoverError(
            "The hosts hold different copies of: " + "; ".join(conflicts) + ". Recovery cannot "
            "tell which one the cluster uses: remove the stale copy from the host that should "
            "not have it (or leave that host out with --limit), then run again."
        )
    lost = [name for name, cert, key in CA_FILES if cert in chosen and key not in chosen]
    missing = sorted(rel for rel in found if rel not in chosen and rel != STORE_MARKER)
    hosts = sorted({host for entry in found.values() for host in entry["copies"]})
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    record = {
        "recovered_at": moment.isoformat(),
        "from_hosts": hosts,
        "lost_keys": lost,
        "not_found": missing,
    }
    if not check_mode and chosen:
        make_private_dirs(store)
        os.chmod(store, PRIVATE_DIR_MODE)
        for rel, (data, mode) in chosen.items():
            target = os.path.join(store, rel)
            make_private_dirs(os.path.dirname(target))
            write_atomic(target, data, mode)
        write_atomic(os.path.join(store, RECOVERY_RECORD), _record_bytes(record), 0o644)
    return {
        "changed": bool(chosen),
        "recovered": sorted(chosen),
        "lost_keys": lost,
        "not_found": missing,
        "from_hosts": hosts,
        "store": store,
    }
