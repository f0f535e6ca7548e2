# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Encrypted backups of the PKI store on the controller, behind ``pki_store_backup`` and
``pki_store_restore``.

A backup is a gzip-compressed tar of the store (paths relative to the store, regular files and
directories only, modes kept, owner root, mtime 0, so identical stores give identical tars),
encrypted exactly as ``openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -salt`` does:

    b"Salted__" + 8-byte salt + AES-256-CBC(PKCS#7 padded tar.gz)

with key (32 bytes) and IV (16 bytes) = PBKDF2-HMAC-SHA256(passphrase, salt, 600000, 48 bytes).
So a backup can always be restored by hand:

    openssl enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -in FILE | tar -xz -C STORE

The store's ``.lock`` and temporary ``.pki-*`` files (and directories) are never backed up.
This file does not import Ansible; the modules turn ``StoreBackupError`` into ``fail_json``.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
import traceback
import zlib

try:
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_files import (
    PRIVATE_DIR_MODE,
    TEMP_PREFIX,
    fsync_dir,
    make_private_dirs,
    write_atomic,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_lock import LOCK_NAME

# openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -salt
PBKDF2_ITERATIONS = 600000
OPENSSL_MAGIC = b"Salted__"
SALT_SIZE = 8
KEY_SIZE = 32
IV_SIZE = 16
BLOCK_SIZE = 16
OPENSSL_DECRYPT_COMMAND = (
    "openssl enc -d -aes-256-cbc -pbkdf2 -iter {iterations} -md sha256 -in {backup}"
    " | tar -xz -C {store}"
)

MIN_PASSPHRASE_LENGTH = 12
SUFFIX = ".tar.gz.enc"
DIGEST_IN_NAME = 16
DIR_MODE = PRIVATE_DIR_MODE
BACKUP_MODE = 0o600
MAX_LISTED = 10
_CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


class StoreBackupError(ValueError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def utcnow():
    """The current time, timezone-aware UTC (tests freeze it)."""
    return datetime.datetime.now(datetime.timezone.utc)


def excluded(name):
    """Whether a file or directory name is left out of backups (lock and temporary files)."""
    return name == LOCK_NAME or name.startswith(TEMP_PREFIX)


def backup_name(cluster_name, digest):
    return f"{cluster_name}-pki-{digest[:DIGEST_IN_NAME]}{SUFFIX}"


def _backup_name_re(cluster_name):
    return re.compile(
        rf"^{re.escape(cluster_name)}-pki-[0-9a-f]{{{DIGEST_IN_NAME}}}{re.escape(SUFFIX)}$"
    )


def _sort_key(relpath):
    return relpath.split("/")


# ---------------------------------------------------------------------------------------------
# Reading the store


class _Scan:
    """What a store holds: regular files, directories, and anything else (links, devices...)."""

    def __init__(self):
        self.files = {}  # relpath -> mode
        self.dirs = {}  # relpath -> mode
        self.others = []  # relpaths of symbolic links, sockets, devices, fifos


def _scan(store):
    if not os.path.exists(store):
        raise StoreBackupError(f"the PKI store {store} does not exist.")
    if not os.path.isdir(store):
        raise StoreBackupError(f"the PKI store {store} is not a directory.")
    scan = _Scan()

    def walk(directory, prefix):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise StoreBackupError(f"cannot list {directory}: {exc.strerror}.") from exc
        for entry in entries:
            if excluded(entry.name):
                continue
            rel = prefix + entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                raise StoreBackupError(f"cannot inspect {entry.path}: {exc.strerror}.") from exc
            if stat.S_ISDIR(info.st_mode):
                scan.dirs[rel] = stat.S_IMODE(info.st_mode)
                walk(entry.path, rel + "/")
            elif stat.S_ISREG(info.st_mode):
                scan.files[rel] = stat.S_IMODE(info.st_mode)
            else:
                scan.others.append(rel)

    walk(store, "")
    return scan


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise StoreBackupError(f"cannot read {path}: {exc.strerror}.") from exc


def _contents(store, scan):
    """{relpath: (mode, bytes)} of every file of the scan."""
    return {rel: (mode, _read(os.path.join(store, rel))) for rel, mode in scan.files.items()}


def _digest(contents):
    digest = hashlib.sha256()
    for rel in sorted(contents, key=_sort_key):
        mode, data = contents[rel]
        name = os.fsencode(rel)
        digest.update(b"%d:%s\0%o\0%d\0" % (len(name), name, mode, len(data)))
        digest.update(data)
    return digest.hexdigest()


def store_files(store):
    """The relative paths of the files a backup of ``store`` holds, sorted.

    Raises StoreBackupError when the store does not exist.
    """
    return sorted(_scan(store).files, key=_sort_key)


def store_digest(store):
    """sha256 (hex) over the relative path, mode and bytes of every file a backup holds.

    An empty store gives the digest of nothing. Raises StoreBackupError when the store does
    not exist.
    """
    scan = _scan(store)
    return _digest(_contents(store, scan))


# ---------------------------------------------------------------------------------------------
# The tar.gz


def _tarinfo(rel, kind, mode, size=0):
    info = tarfile.TarInfo(rel)
    info.type = kind
    info.mode = mode
    info.size = size
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def make_tar(dirs, contents):
    """A reproducible tar.gz of the directories ({relpath: mode}) and files ({relpath: (mode,
    bytes)}): the same input always gives the same bytes."""
    entries = [(rel, tarfile.DIRTYPE, mode, None) for rel, mode in dirs.items()]
    entries += [(rel, tarfile.REGTYPE, mode, data) for rel, (mode, data) in contents.items()]
    entries.sort(key=lambda entry: _sort_key(entry[0]))
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:  # noqa: SIM117
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel, kind, mode, data in entries:
                if kind == tarfile.DIRTYPE:
                    tar.addfile(_tarinfo(rel, kind, mode))
                else:
                    tar.addfile(_tarinfo(rel, kind, mode, len(data)), io.BytesIO(data))
    return raw.getvalue()


_MEMBER_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a fifo",
}


def _member_path(label, member):
    """The member's path relative to the store ("" for the store itself); refuses unsafe ones."""
    name = member.name
    if name.startswith("/"):
        raise StoreBackupError(f"{label}: member {name!r} has an absolute path; refused.")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise StoreBackupError(f"{label}: member {name!r} leads out of the store (..); refused.")
    if not (member.isreg() or member.isdir()):
        kind = _MEMBER_KINDS.get(member.type, f"of tar type {member.type!r}")
        raise StoreBackupError(
            f"{label}: member {name!r} is {kind}; a backup holds only regular files and "
            "directories. Refused."
        )
    return "/".join(parts)


def _tar_entries(data, label):
    """[(member, bytes or None)] of a tar.gz, in order; the bytes only of regular files."""
    entries = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isreg() else None
                entries.append((member, handle.read() if handle else None))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise StoreBackupError(f"{label} is not a gzip-compressed tar: {exc}.") from exc
    return entries


def read_tar(data, label):
    """{relpath: (mode, bytes)} of the regular files of a tar.gz, every member checked.

    ``label`` names the backup in messages. Directories are only checked; lock and temporary
    files are skipped.
    """
    files, dirs = {}, set()
    for member, content in _tar_entries(data, label):
        rel = _member_path(label, member)
        if not rel or any(excluded(part) for part in rel.split("/")):
            continue
        if rel in files:
            raise StoreBackupError(f"{label}: member {rel!r} appears twice; refused.")
        if member.isdir():
            dirs.add(rel)
        elif rel in dirs:
            raise StoreBackupError(f"{label}: {rel!r} is both a file and a directory; refused.")
        else:
            files[rel] = (stat.S_IMODE(member.mode), content)
    for rel in files:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise StoreBackupError(
                    f"{label}: {parent!r} is both a file and a directory; refused."
                )
    return files


# ---------------------------------------------------------------------------------------------
# openssl enc compatible encryption


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise StoreBackupError("the Python library cryptography is required on the controller.")


def _key_iv(passphrase, salt):
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE + IV_SIZE,
        salt=salt,
        iterations=PBKDF2_ITERATIONS,
    )
    material = kdf.derive(passphrase.encode("utf-8"))
    return material[:KEY_SIZE], material[KEY_SIZE:]


def encrypt(plaintext, passphrase, salt=None):
    """``plaintext`` encrypted as ``openssl enc -aes-256-cbc -pbkdf2 -md sha256 -salt`` does."""
    _require_cryptography()
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    key, iv = _key_iv(passphrase, salt)
    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return OPENSSL_MAGIC + salt + encryptor.update(padded) + encryptor.finalize()


def _wrong_passphrase(label):
    return StoreBackupError(
        f"cannot decrypt {label} with the given passphrase (wrong passphrase, or not a backup "
        "made by pki_store_backup)."
    )


def decrypt(blob, passphrase, label="the backup"):
    """The plaintext of an ``openssl enc -aes-256-cbc -pbkdf2 -md sha256 -salt`` file.

    Raises StoreBackupError when the data is not of that format or the padding is wrong
    (which is what a wrong passphrase almost always gives).
    """
    _require_cryptography()
    header = len(OPENSSL_MAGIC) + SALT_SIZE
    if not blob.startswith(OPENSSL_MAGIC):
        raise StoreBackupError(
            f"{label} is not a backup made by pki_store_backup: it does not start with "
            f"openssl's {OPENSSL_MAGIC.decode()} header."
        )
    body = blob[header:]
    if not body or len(body) % BLOCK_SIZE:
        raise StoreBackupError(
            f"{label} is truncated or not a backup made by pki_store_backup: its encrypted part "
            f"is {len(body)} bytes, not a whole number of {BLOCK_SIZE}-byte blocks."
        )
    key, iv = _key_iv(passphrase, blob[len(OPENSSL_MAGIC) : header])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise _wrong_passphrase(label) from exc


def _is_gzip_tar(data):
    if not data.startswith(b"\x1f\x8b"):
        return False
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.getmembers()
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return False
    return True


def decrypt_backup(path, passphrase):
    """The tar.gz bytes of the backup at ``path``.

    Raises StoreBackupError when it cannot be read, or it does not decrypt with ``passphrase``
    into a gzip-compressed tar.
    """
    plaintext = decrypt(_read(path), passphrase, label=path)
    if not _is_gzip_tar(plaintext):
        raise _wrong_passphrase(path)
    return plaintext


def read_backup(path, passphrase):
    """{relpath: (mode, bytes)} of every file of the backup at ``path``.

    Every member is checked: only regular files and directories, no absolute path, no ``..``;
    otherwise StoreBackupError names the member.
    """
    return read_tar(decrypt_backup(path, passphrase), path)


# ---------------------------------------------------------------------------------------------
# Writing


def _make_dirs(path, mode=DIR_MODE):
    """Create ``path`` and every missing parent with ``mode``; return the ones created."""
    try:
        return make_private_dirs(path, mode)
    except NotADirectoryError as exc:
        raise StoreBackupError(f"{exc}.") from None
    except OSError as exc:
        raise StoreBackupError(f"cannot create {exc.filename or path}: {exc.strerror}.") from exc


def _write_atomic(path, data, mode):
    """write_atomic, with the failure in this module's words."""
    try:
        write_atomic(path, data, mode)
    except OSError as exc:
        raise StoreBackupError(f"cannot write {path}: {exc.strerror}.") from exc


# ---------------------------------------------------------------------------------------------
# Backup


def _check_passphrase(passphrase):
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise StoreBackupError(
            f"the passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters long."
        )


def _inside(path, directory):
    path, directory = os.path.realpath(path), os.path.realpath(directory)
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _to_prune(dest_dir, cluster_name, keep, newest_name):
    """This cluster's backups in ``dest_dir`` beyond the ``keep`` newest, ``newest_name``
    (the one just made) counted first and never listed."""
    pattern = _backup_name_re(cluster_name)
    try:
        names = os.listdir(dest_dir)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreBackupError(f"cannot list {dest_dir}: {exc.strerror}.") from exc
    others = []
    for name in names:
        if name == newest_name or not pattern.match(name):
            continue
        path = os.path.join(dest_dir, name)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            others.append((info.st_mtime, name, path))
    others.sort(reverse=True)
    return [path for _mtime, _name, path in others[keep - 1 :]]


def backup(store, dest_dir, passphrase, cluster_name, keep, check_mode=False):
    """Write an encrypted backup of ``store`` to ``dest_dir`` unless one of this content exists.

    The file is ``<cluster_name>-pki-<digest[:16]>.tar.gz.enc`` (mode 0600, ``dest_dir`` and
    missing parents 0700). After writing it, this cluster's older backups beyond the ``keep``
    newest (by mtime) are removed. Returns {changed, path, digest, created, pruned, files, msg}.
    """
    _check_passphrase(passphrase)
    if not isinstance(cluster_name, str) or not _CLUSTER_NAME_RE.match(cluster_name):
        raise StoreBackupError(
            f"cluster_name {cluster_name!r} is not usable in a file name: use letters, digits, "
            "'.', '_' and '-', starting and ending with a letter or digit."
        )
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise StoreBackupError(f"keep must be a whole number of at least 1, not {keep!r}.")
    scan = _scan(store)
    if _inside(dest_dir, store):
        raise StoreBackupError(
            f"the backup directory {dest_dir} is inside the PKI store {store}: choose a "
            "directory outside it."
        )
    if scan.others:
        listed = ", ".join(sorted(scan.others, key=_sort_key)[:MAX_LISTED])
        raise StoreBackupError(
            f"the PKI store {store} holds entries that are neither regular files nor "
            f"directories ({listed}); a backup cannot hold them. Move them out of the store."
        )
    result = {
        "changed": False,
        "path": None,
        "digest": None,
        "created": False,
        "pruned": [],
        "files": len(scan.files),
    }
    contents = _contents(store, scan)
    digest = _digest(contents)
    result["digest"] = digest
    if not contents:
        result["msg"] = f"nothing to back up: the PKI store {store} has no files."
        return result
    name = backup_name(cluster_name, digest)
    path = os.path.join(dest_dir, name)
    result["path"] = path
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise StoreBackupError(f"{path} exists but is not a regular file; move it away.")
        result["msg"] = f"{path} already holds this content of the PKI store; nothing written."
        return result
    result.update(changed=True, created=True, pruned=_to_prune(dest_dir, cluster_name, keep, name))
    if check_mode:
        result["msg"] = f"{path} would be created (check mode)."
        return result
    _require_cryptography()
    blob = encrypt(make_tar(scan.dirs, contents), passphrase)
    _make_dirs(dest_dir)
    _write_atomic(path, blob, BACKUP_MODE)
    fsync_dir(dest_dir)
    # Listed again now that the file exists: another run may have added or removed backups.
    result["pruned"] = _to_prune(dest_dir, cluster_name, keep, name)
    for old in result["pruned"]:
        try:
            os.unlink(old)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreBackupError(f"cannot remove the old backup {old}: {exc.strerror}.") from exc
    result["msg"] = f"created {path}."
    return result


# ---------------------------------------------------------------------------------------------
# Restore


def _differences(current, wanted):
    """Sorted "<path> (<how>)" for every file that differs between the store and the backup."""
    found = []
    for rel in sorted(set(current) | set(wanted), key=_sort_key):
        if rel not in wanted:
            found.append(f"{rel} (not in the backup)")
        elif rel not in current:
            found.append(f"{rel} (missing from the store)")
        elif current[rel][1] != wanted[rel][1]:
            found.append(f"{rel} (content differs)")
    return found


def _aside_path(store):
    base = f"{store.rstrip(os.sep)}.replaced-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    candidate, number = base, 1
    while os.path.lexists(candidate):
        candidate = f"{base}-{number}"
        number += 1
    return candidate


def _write_store(store, wanted):
    _make_dirs(store)
    for rel in sorted(wanted, key=_sort_key):
        mode, data = wanted[rel]
        target = os.path.join(store, rel)
        parent = os.path.dirname(target)
        _make_dirs(parent)
        _write_atomic(target, data, mode)
    for directory in sorted({os.path.dirname(os.path.join(store, rel)) for rel in wanted}):
        fsync_dir(directory)


def restore(backup_path, store, passphrase, force=False, check_mode=False):
    """Restore the backup at ``backup_path`` into ``store``.

    A store that is missing or holds no files gets every file of the backup. A store that
    holds exactly the backup's files and bytes is left alone (only file modes that differ are
    set). Any other store is refused, unless ``force``: it is then moved aside to
    ``<store>.replaced-<UTC timestamp>`` (never deleted) and the backup restored in its place.
    Returns {changed, store, restored, moved_aside, msg}.
    """
    store = os.path.abspath(store)
    if not os.path.isfile(backup_path):
        raise StoreBackupError(f"the backup {backup_path} does not exist or is not a file.")
    wanted = read_backup(backup_path, passphrase)
    if not wanted:
        raise StoreBackupError(f"the backup {backup_path} holds no files; nothing to restore.")
    result = {"changed": False, "store": store, "restored": [], "moved_aside": None}
    everything = sorted(wanted, key=_sort_key)

    scan = _scan(store) if os.path.lexists(store) else None
    if scan is None or (not scan.files and not scan.others):
        result.update(changed=True, restored=everything)
        if not check_mode:
            _write_store(store, wanted)
        result["msg"] = f"restored {len(everything)} files into {store}."
        return result

    current = _contents(store, scan)
    # Links and other special entries first: they are what a listing is least likely to show.
    differences = [f"{rel} (not a regular file)" for rel in sorted(scan.others, key=_sort_key)]
    differences += _differences(current, wanted)
    if not differences:
        modes = [rel for rel in everything if current[rel][0] != wanted[rel][0]]
        result.update(changed=bool(modes), restored=modes)
        if modes and not check_mode:
            for rel in modes:
                try:
                    os.chmod(os.path.join(store, rel), wanted[rel][0])
                except OSError as exc:
                    raise StoreBackupError(
                        f"cannot set the mode of {os.path.join(store, rel)}: {exc.strerror}."
                    ) from exc
        result["msg"] = f"the PKI store {store} already holds the files of {backup_path}" + (
            f"; set the mode of {len(modes)} files." if modes else "."
        )
        return result

    if not force:
        listed = ", ".join(differences[:MAX_LISTED])
        more = len(differences) - MAX_LISTED
        if more > 0:
            listed += f" and {more} more"
        raise StoreBackupError(
            f"the PKI store {store} holds something else than the backup {backup_path}: "
            f"{listed}. Nothing was changed. To replace it, use force (force=true), which "
            f"first moves the current store aside to {store}.replaced-<UTC timestamp>."
        )
    aside = _aside_path(store)
    result.update(changed=True, restored=everything, moved_aside=aside)
    if not check_mode:
        try:
            os.rename(store, aside)
        except OSError as exc:
            raise StoreBackupError(
                f"cannot move {store} aside to {aside}: {exc.strerror}."
            ) from exc
        _write_store(store, wanted)
    result["msg"] = f"moved the PKI store aside to {aside} and restored {len(everything)} files."
    return result
