# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replacing a CA of the store without downtime, one recorded stage at a time.

The stages follow the Kubernetes "manual rotation of CA certificates" procedure. Only the
store changes here; after each stage the pki role installs the store on every host and
restarts what uses the files, one etcd member at a time:

``trust``      a new CA is made; the CA file becomes a bundle "old, new" and the old key still
               signs, so every host learns to trust the new CA while nothing else changes.
``sign``       the bundle becomes "new, old" and the new key signs: the pki module reissues
               every leaf of this CA (each is "not signed by the current CA"); hosts still
               trust both, so old and new certificates work side by side.
``finishing``  the CA file is the new CA alone: the old one is trusted nowhere once installed.
``done``       recorded after ``finishing`` was installed everywhere.

The service-account key pair (``sa``) goes through the same stages with ``sa.pub`` in the part
of the CA file (kube-apiserver verifies tokens with every key in it, and signs with ``sa.key``):
``trust`` makes it "old, new", ``sign`` switches ``sa.key`` and makes it "new, old", ``finishing``
leaves the new key alone. Tokens signed with the old key stop working at ``finishing``, which is
why the playbook waits between ``sign`` and ``finishing`` (docs/pki.md).

The stage is kept in ``rotation/<ca>/state.json`` with the old and new pairs, so a run that
fails anywhere is resumed by running again: each step is idempotent and never goes back. A new
rotation starts only when no rotation of that CA is in progress (none recorded, or ``done``).
The pki module reads the first certificate of a CA file as the CA that signs, which is what
makes the bundles above work without it knowing about rotations.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_recover import (
    RECOVERY_RECORD,
    forget_lost_key,
    lost_keys_in,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_files import (
    make_private_dirs,
    write_atomic,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.x509_der import pem_blocks

STAGES = ("trust", "sign", "finishing", "done")
# What this file can rotate, by the pki module's names: (trust file, key, CA common name), with
# no common name for the service-account key pair, whose "trust file" is sa.pub.
ROTATABLE = {name: (cert, key, cn) for name, cert, key, cn in pki.CAS}
ROTATABLE["sa"] = (pki.SA_PUB, pki.SA_KEY, None)
_PUBLIC_KEY_RE = re.compile(rb"-----BEGIN PUBLIC KEY-----\s*.+?\s*-----END PUBLIC KEY-----", re.S)


class RotateError(ValueError):
    """The store is not in a state this step can work from; the message says what to do."""


def _paths(store, ca):
    base = os.path.join(store, "rotation", ca)
    return {
        "dir": base,
        "state": os.path.join(base, "state.json"),
        "old.crt": os.path.join(base, "old.crt"),
        "old.key": os.path.join(base, "old.key"),
        "new.crt": os.path.join(base, "new.crt"),
        "new.key": os.path.join(base, "new.key"),
    }


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _blocks(ca, data):
    """The PEM blocks of a trust file: certificates, or public keys for ``sa``."""
    if ROTATABLE[ca][2] is None:
        return [match.group(0) + b"\n" for match in _PUBLIC_KEY_RE.finditer(data)]
    return pem_blocks(data)


def _new_pair(ca, key_algorithm, rsa_key_size, ca_validity_days, passphrase, now):
    """(trust PEM, key PEM) of the replacement: a new CA, or a new service-account key pair."""
    key = pki.generate_key(key_algorithm, rsa_key_size)
    cn = ROTATABLE[ca][2]
    if cn is None:
        # kube-apiserver reads sa.key unencrypted.
        return pki.public_pem(key), pki.private_pem(key)
    return pki.cert_pem(pki.make_ca(cn, key, now, ca_validity_days)), pki.private_pem(
        key, passphrase
    )


def _lost_keys(store):
    try:
        return lost_keys_in(_read(os.path.join(store, RECOVERY_RECORD)))
    except (OSError, ValueError, AttributeError):
        return []


def status(store, ca):
    """``{"ca", "stage"}`` with stage None when no rotation was ever recorded."""
    if ca not in ROTATABLE:
        raise RotateError(f"{ca!r} cannot be rotated: choose one of {', '.join(ROTATABLE)}.")
    path = _paths(store, ca)["state"]
    try:
        state = json.loads(_read(path).decode("utf-8"))
    except FileNotFoundError:
        return {"ca": ca, "stage": None}
    except (OSError, ValueError) as exc:
        raise RotateError(
            f"cannot read {path}: {exc}: restore it from the store's backup."
        ) from None
    if state.get("stage") not in STAGES:
        raise RotateError(f"{path} records an unknown stage {state.get('stage')!r}.")
    return dict(state, ca=ca)


def _result(changed, stage, before, ca, state, now):
    result = {"changed": changed, "stage": stage, "from": before, "ca": ca}
    if state.get("signing_since"):
        result["signing_since"] = state["signing_since"]
        since = datetime.datetime.strptime(state["signing_since"], "%Y-%m-%dT%H:%M:%SZ")
        since = since.replace(tzinfo=datetime.timezone.utc)
        result["signing_for"] = max(0, int((now - since).total_seconds()))
    return result


def _write_state(paths, state, writes):
    writes.append((paths["state"], (json.dumps(state, indent=2) + "\n").encode("ascii"), 0o644))


def advance(
    store,
    ca,
    stage,
    key_algorithm="ecdsa",
    rsa_key_size=2048,
    ca_validity_days=3650,
    ca_key_passphrase=None,
    check_mode=False,
    now=None,
):
    """Bring the rotation of ``ca`` in ``store`` to ``stage`` (never back); return the result.

    ``{"changed", "stage" (after), "from" (before), "old", "new"}`` with the fingerprints of
    the old and the new CA certificate.
    """
    if stage not in STAGES:
        raise RotateError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}.")
    store = os.path.abspath(os.path.expanduser(store))
    cert_rel, key_rel, _ = ROTATABLE.get(ca, (None, None, None))
    current = status(store, ca)
    before = current["stage"]
    paths = _paths(store, ca)
    cert_path, key_path = os.path.join(store, cert_rel), os.path.join(store, key_rel)
    now = now or pki.utcnow()
    writes = []
    in_progress = before not in (None, "done")

    if not in_progress and stage != "trust":
        # Nothing to finish: a rotation is started by its first stage only.
        return {"changed": False, "stage": before, "from": before, "ca": ca}
    if in_progress and STAGES.index(before) >= STAGES.index(stage):
        return _result(False, before, before, ca, current, now)

    lost = _lost_keys(store)
    try:
        bundle = _read(cert_path)
    except FileNotFoundError:
        raise RotateError(f"{cert_path} is missing: there is no {ca} to rotate.") from None
    try:
        key_data = _read(key_path)
    except FileNotFoundError:
        # A key lost with the store (recovery.json) is exactly what a rotation replaces: the
        # old key is never needed, since the old CA only stays trusted until 'finishing'.
        if ca not in lost:
            raise RotateError(
                f"{key_path} is missing: restore the store from its backup; a key recorded as "
                "lost by pki_store_recover is the only one a rotation can do without."
            ) from None
        key_data = None
    blocks = _blocks(ca, bundle)
    passphrase = ca_key_passphrase.encode() if isinstance(ca_key_passphrase, str) else None

    if not in_progress:
        if len(blocks) != 1:
            raise RotateError(
                f"{cert_path} holds {len(blocks)} PEM blocks but no rotation is in progress: "
                f"it must hold the current {'key' if ca == 'sa' else 'CA'} alone before a "
                "rotation starts."
            )
        if check_mode:
            return {"changed": True, "stage": "trust", "from": before, "ca": ca}
        new_cert, new_key = _new_pair(
            ca, key_algorithm, rsa_key_size, ca_validity_days, passphrase, now
        )
        writes += [(paths["old.key"], key_data, pki.KEY_MODE)] if key_data else []
        writes += [
            (paths["old.crt"], blocks[0], pki.CERT_MODE),
            (paths["new.crt"], new_cert, pki.CERT_MODE),
            (paths["new.key"], new_key, pki.KEY_MODE),
            (cert_path, blocks[0] + new_cert, pki.CERT_MODE),
        ]
        state = {"stage": "trust", "started": pki.isoformat(now)}
    else:
        try:
            old_cert, new_cert = _read(paths["old.crt"]), _read(paths["new.crt"])
            new_key = _read(paths["new.key"])
        except FileNotFoundError as exc:
            raise RotateError(
                f"{exc.filename} is missing while the {ca} rotation is at stage {before}: "
                "restore the store from the backup made before this stage."
            ) from None
        state = dict(current)
        state.pop("ca", None)
        if stage in ("sign", "finishing", "done") and STAGES.index(before) < STAGES.index("sign"):
            state["stage"] = "sign"
            # When the new key started to sign: what the wait before 'finishing' counts from.
            state["signing_since"] = pki.isoformat(now)
        if stage in ("finishing", "done"):
            state["stage"] = "finishing"
        if stage == "done":
            state["stage"] = "done"
            state["finished"] = pki.isoformat(now)
        if check_mode:
            return _result(True, state["stage"], before, ca, state, now)
        if state["stage"] == "sign":
            writes += [(cert_path, new_cert + old_cert, pki.CERT_MODE)]
        else:
            writes += [(cert_path, new_cert, pki.CERT_MODE)]
        writes += [(key_path, new_key, pki.KEY_MODE)]
    _write_state(paths, state, writes)
    make_private_dirs(paths["dir"])
    # The CA file last but one and the state last: a crash between writes leaves the stage
    # before, whose files are rewritten by running again.
    for path, data, mode in sorted(writes, key=lambda item: item[0] == paths["state"]):
        write_atomic(path, data, mode)
    if state["stage"] == "done":
        if ca in lost:
            forget_lost_key(store, ca)
        for name in ("old.key", "new.key", "new.crt"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(paths[name])
    return _result(True, state["stage"], before, ca, state, now)
