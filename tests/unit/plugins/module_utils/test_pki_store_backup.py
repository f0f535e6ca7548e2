# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/pki_store_backup.py: real cryptography, real files in a
temporary directory, and the real ``openssl`` binary (when installed) for the file format.

PBKDF2 runs with few iterations here, except in the tests that talk to openssl."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki_store_backup as psb

REAL_ITERATIONS = psb.PBKDF2_ITERATIONS
PASSPHRASE = "correct horse battery staple"
NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl binary")

# relpath -> (mode, bytes): a store as the pki module leaves it.
STORE_FILES = {
    "ca.crt": (0o644, b"-----BEGIN CERTIFICATE-----\ncluster ca\n"),
    "ca.key": (0o600, b"-----BEGIN PRIVATE KEY-----\ncluster ca key\n"),
    "etcd/ca.crt": (0o644, b"-----BEGIN CERTIFICATE-----\netcd ca\n"),
    "etcd/ca.key": (0o600, b"-----BEGIN PRIVATE KEY-----\netcd ca key\n"),
    "front-proxy-ca.crt": (0o644, b"-----BEGIN CERTIFICATE-----\nfront proxy ca\n"),
    "front-proxy-ca.key": (0o600, b"-----BEGIN PRIVATE KEY-----\nfront proxy ca key\n"),
    "sa.key": (0o600, b"-----BEGIN PRIVATE KEY-----\nsa\n"),
    "sa.pub": (0o644, b"-----BEGIN PUBLIC KEY-----\nsa\n"),
    "hosts/cp1/apiserver.crt": (0o644, b"-----BEGIN CERTIFICATE-----\napiserver cp1\n"),
    "hosts/cp1/apiserver.key": (0o600, b"-----BEGIN PRIVATE KEY-----\napiserver cp1\n"),
    "hosts/cp1/etcd/server.crt": (0o644, b"-----BEGIN CERTIFICATE-----\netcd server cp1\n"),
    "hosts/worker-1/kubelet.conf": (0o600, b"apiVersion: v1\nkind: Config\n"),
    "servers/registry.crt": (0o644, b"-----BEGIN CERTIFICATE-----\nregistry\n"),
    "servers/registry.key": (0o600, b"-----BEGIN PRIVATE KEY-----\nregistry\n"),
    "store-id": (0o644, b"4d1f0c6e-0b7e-4a43-9d8e-2f0c3b1a7e55\n"),
    "empty.txt": (0o600, b""),
    "block.bin": (0o600, bytes(range(256)) * 4),  # a whole number of AES blocks
}


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch):
    """Few PBKDF2 iterations: the tests that talk to openssl set the real number again."""
    monkeypatch.setattr(psb, "PBKDF2_ITERATIONS", 1000)


@pytest.fixture
def real_kdf(monkeypatch):
    monkeypatch.setattr(psb, "PBKDF2_ITERATIONS", REAL_ITERATIONS)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(psb, "utcnow", lambda: NOW)


def write_store(root, files=None, junk=True):
    """A store directory with ``files`` and, with ``junk``, a lock and a temporary file."""
    os.makedirs(root, mode=0o700, exist_ok=True)
    for rel, (mode, data) in (STORE_FILES if files is None else files).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
    if junk:
        for rel in (".lock", ".pki-a1b2c3", "hosts/cp1/.pki-tmpfile"):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(b"not part of the store")
    return str(root)


def listing(root):
    """{relpath: (mode, bytes)} of every regular file below ``root``, nothing excluded."""
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            with open(path, "rb") as handle:
                found[rel] = (stat.S_IMODE(os.lstat(path).st_mode), handle.read())
    return found


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def tar_gz(members):
    """A tar.gz of (TarInfo, bytes or None) pairs."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as compressed:  # noqa: SIM117
        with tarfile.open(fileobj=compressed, mode="w") as tar:
            for info, data in members:
                if data is not None:
                    info.size = len(data)
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def member(name, kind=tarfile.REGTYPE, mode=0o600, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = linkname
    return info


def encrypted_file(path, plaintext, passphrase=PASSPHRASE):
    with open(path, "wb") as handle:
        handle.write(psb.encrypt(plaintext, passphrase))
    return str(path)


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "pki")


@pytest.fixture
def dest(tmp_path):
    return str(tmp_path / "backups" / "pki")


def make_backup(store, dest, **kwargs):
    args = {"cluster_name": "kubernetes", "keep": 10, **kwargs}
    return psb.backup(store, dest, PASSPHRASE, **args)


# ---------------------------------------------------------------------------------------------
# The store


def test_the_iterations_are_openssls_recommended_600000():
    assert REAL_ITERATIONS == 600000


def test_store_files_leave_out_the_lock_and_temporary_files(store):
    assert psb.store_files(store) == sorted(STORE_FILES, key=lambda rel: rel.split("/"))
    assert ".lock" not in psb.store_files(store)


def test_store_digest_covers_paths_modes_and_bytes_only(store, tmp_path):
    digest = psb.store_digest(store)
    assert len(digest) == 64
    assert psb.store_digest(write_store(tmp_path / "copy", junk=False)) == digest

    with open(os.path.join(store, ".lock"), "wb") as handle:
        handle.write(b"another holder")
    assert psb.store_digest(store) == digest

    os.chmod(os.path.join(store, "ca.crt"), 0o600)
    assert psb.store_digest(store) != digest
    os.chmod(os.path.join(store, "ca.crt"), 0o644)
    assert psb.store_digest(store) == digest

    with open(os.path.join(store, "sa.pub"), "ab") as handle:
        handle.write(b"x")
    assert psb.store_digest(store) != digest


def test_an_empty_store_has_the_digest_of_nothing(tmp_path):
    empty = write_store(tmp_path / "empty", files={})
    assert psb.store_files(empty) == []
    assert psb.store_digest(empty) == hashlib.sha256().hexdigest()


def test_a_missing_store_is_an_error(tmp_path):
    with pytest.raises(psb.StoreBackupError, match="does not exist"):
        psb.store_digest(str(tmp_path / "nowhere"))
    with pytest.raises(psb.StoreBackupError, match="does not exist"):
        psb.store_files(str(tmp_path / "nowhere"))


# ---------------------------------------------------------------------------------------------
# Backup


def test_backup_writes_an_encrypted_file_named_by_the_digest(store, dest):
    result = make_backup(store, dest)
    digest = psb.store_digest(store)
    path = os.path.join(dest, f"kubernetes-pki-{digest[:16]}.tar.gz.enc")
    assert result["changed"] is True
    assert result["created"] is True
    assert result["path"] == path
    assert result["digest"] == digest
    assert result["files"] == len(STORE_FILES)
    assert result["pruned"] == []
    with open(path, "rb") as handle:
        blob = handle.read()
    assert blob.startswith(b"Salted__")
    assert b"cluster ca key" not in blob
    assert psb.read_backup(path, PASSPHRASE) == STORE_FILES


def test_backup_modes_are_0600_and_new_directories_0700(store, tmp_path):
    dest = str(tmp_path / "a" / "b" / "c")
    result = make_backup(store, dest)
    assert mode_of(result["path"]) == 0o600
    for directory in ("a", "a/b", "a/b/c"):
        assert mode_of(str(tmp_path / directory)) == 0o700, directory
    assert os.listdir(dest) == [os.path.basename(result["path"])]  # no temporary file left


def test_backup_tar_is_reproducible_and_holds_files_and_directories_only(store, tmp_path, dest):
    other = write_store(tmp_path / "elsewhere", junk=False)
    first = psb.decrypt_backup(make_backup(store, dest)["path"], PASSPHRASE)
    second = psb.decrypt_backup(make_backup(other, str(tmp_path / "other"))["path"], PASSPHRASE)
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert "etcd" in names
    assert "hosts/cp1/etcd/server.crt" in names
    assert not [n for n in names if n.startswith("/") or ".lock" in n or ".pki-" in n]
    for m in members:
        assert m.isreg() or m.isdir(), m.name
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "root", "root", 0)
        if m.isreg():
            assert stat.S_IMODE(m.mode) == STORE_FILES[m.name][0]


def test_a_second_backup_of_the_same_store_writes_nothing(store, dest):
    first = make_backup(store, dest)
    before = os.stat(first["path"])
    second = make_backup(store, dest)
    assert second["changed"] is False
    assert second["created"] is False
    assert second["path"] == first["path"]
    assert second["pruned"] == []
    after = os.stat(first["path"])
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(os.listdir(dest)) == 1


def test_a_changed_store_gets_a_new_backup(store, dest):
    first = make_backup(store, dest)
    with open(os.path.join(store, "hosts/cp1/apiserver.crt"), "wb") as handle:
        handle.write(b"renewed")
    second = make_backup(store, dest)
    assert second["changed"] is True
    assert second["path"] != first["path"]
    assert sorted(os.listdir(dest)) == sorted(
        os.path.basename(p) for p in (first["path"], second["path"])
    )


def change(store, number):
    with open(os.path.join(store, "store-id"), "wb") as handle:
        handle.write(b"revision %d\n" % number)


def test_prune_keeps_the_newest_backups_of_this_cluster_only(store, dest):
    made = []
    for number in range(5):
        change(store, number)
        result = make_backup(store, dest, keep=3)
        os.utime(result["path"], (1_700_000_000 + number, 1_700_000_000 + number))
        made.append(result)
    os.makedirs(dest, exist_ok=True)
    unrelated = ["prod-pki-0123456789abcdef.tar.gz.enc", "kubernetes-pki-notes.txt", "README"]
    for name in unrelated:
        with open(os.path.join(dest, name), "wb") as handle:
            handle.write(b"keep me")
        os.utime(os.path.join(dest, name), (1_000_000_000, 1_000_000_000))

    assert made[3]["pruned"] == [made[0]["path"]]
    assert made[4]["pruned"] == [made[1]["path"]]
    expected = {os.path.basename(r["path"]) for r in made[2:]} | set(unrelated)
    assert set(os.listdir(dest)) == expected


def test_prune_never_removes_the_backup_just_made(store, dest):
    old = []
    for number in range(3):
        change(store, number)
        result = make_backup(store, dest)
        # older backups dated in the future: by mtime they are all newer than the next one
        os.utime(result["path"], (4_000_000_000 + number, 4_000_000_000 + number))
        old.append(result["path"])
    change(store, 99)
    result = make_backup(store, dest, keep=1)
    assert result["created"] is True
    assert sorted(result["pruned"]) == sorted(old)
    assert os.listdir(dest) == [os.path.basename(result["path"])]


def test_check_mode_writes_nothing(store, dest):
    result = make_backup(store, dest, check_mode=True)
    assert result["changed"] is True
    assert result["created"] is True
    assert result["path"].startswith(dest + os.sep)
    assert not os.path.exists(os.path.dirname(dest))


def test_check_mode_reports_what_would_be_pruned_and_removes_nothing(store, dest):
    paths = []
    for number in range(3):
        change(store, number)
        result = make_backup(store, dest)
        os.utime(result["path"], (1_700_000_000 + number, 1_700_000_000 + number))
        paths.append(result["path"])
    change(store, 3)
    result = make_backup(store, dest, keep=2, check_mode=True)
    assert result["changed"] is True
    assert result["pruned"] == [paths[1], paths[0]]
    assert sorted(os.listdir(dest)) == sorted(os.path.basename(p) for p in paths)


def test_check_mode_of_an_unchanged_store_is_unchanged(store, dest):
    make_backup(store, dest)
    assert make_backup(store, dest, check_mode=True)["changed"] is False


def test_an_empty_store_is_not_backed_up(tmp_path, dest):
    empty = write_store(tmp_path / "empty", files={})
    result = make_backup(empty, dest)
    assert result["changed"] is False
    assert result["created"] is False
    assert result["path"] is None
    assert result["files"] == 0
    assert "nothing to back up" in result["msg"]
    assert not os.path.exists(dest)


def test_a_short_passphrase_is_refused(store, dest):
    with pytest.raises(psb.StoreBackupError, match="at least 12 characters"):
        psb.backup(store, dest, "short", "kubernetes", 10)
    assert not os.path.exists(dest)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep": 0}, "keep must be"),
        ({"cluster_name": "../prod"}, "not usable in a file name"),
        ({"cluster_name": "prod*"}, "not usable in a file name"),
    ],
)
def test_bad_arguments_are_refused(store, dest, kwargs, message):
    with pytest.raises(psb.StoreBackupError, match=message):
        make_backup(store, dest, **kwargs)


def test_a_missing_store_is_not_backed_up(tmp_path, dest):
    with pytest.raises(psb.StoreBackupError, match="does not exist"):
        make_backup(str(tmp_path / "nowhere"), dest)


def test_the_backup_directory_must_be_outside_the_store(store):
    with pytest.raises(psb.StoreBackupError, match="inside the PKI store"):
        make_backup(store, os.path.join(store, "backups"))


def test_a_link_in_the_store_is_refused_not_skipped(store, dest):
    os.symlink("ca.crt", os.path.join(store, "ca-link.crt"))
    with pytest.raises(psb.StoreBackupError, match=r"ca-link\.crt"):
        make_backup(store, dest)


# ---------------------------------------------------------------------------------------------
# Decryption and the checks of the archive


def test_wrong_passphrase_is_named(store, dest):
    path = make_backup(store, dest)["path"]
    with pytest.raises(psb.StoreBackupError) as error:
        psb.read_backup(path, "not the right passphrase")
    assert str(error.value) == (
        f"cannot decrypt {path} with the given passphrase (wrong passphrase, or not a backup "
        "made by pki_store_backup)."
    )


def test_encrypted_data_that_is_not_a_tar_gz_is_refused_like_a_wrong_passphrase(tmp_path):
    path = encrypted_file(tmp_path / "x.enc", b"plain text, not gzip")
    with pytest.raises(psb.StoreBackupError, match=r"cannot decrypt .* with the given passphrase"):
        psb.decrypt_backup(path, PASSPHRASE)


@pytest.mark.parametrize(
    "content", [b"", b"hello", b"Salted__12345678", b"Salted__12345678" + b"x" * 17]
)
def test_a_file_that_is_not_a_backup_is_refused(tmp_path, content):
    path = tmp_path / "notes.enc"
    path.write_bytes(content)
    with pytest.raises(psb.StoreBackupError, match="not a backup made by pki_store_backup"):
        psb.read_backup(str(path), PASSPHRASE)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (member("../outside.key"), "leads out of the store"),
        (member("hosts/../../outside.key"), "leads out of the store"),
        (member("/etc/kubernetes/pki/ca.key"), "absolute path"),
        (member("ca.crt", tarfile.SYMTYPE, linkname="/etc/shadow"), "symbolic link"),
        (member("ca.crt", tarfile.LNKTYPE, linkname="sa.key"), "hard link"),
        (member("dev", tarfile.CHRTYPE), "character device"),
        (member("fifo", tarfile.FIFOTYPE), "fifo"),
    ],
)
def test_unsafe_members_are_refused_by_name(tmp_path, bad, message):
    data = None if bad.type != tarfile.REGTYPE else b"evil"
    archive = tar_gz([(member("ca.crt"), b"good"), (bad, data)])
    path = encrypted_file(tmp_path / "evil.tar.gz.enc", archive)
    with pytest.raises(psb.StoreBackupError, match=message) as error:
        psb.read_backup(path, PASSPHRASE)
    assert repr(bad.name) in str(error.value)

    target = tmp_path / "pki"
    with pytest.raises(psb.StoreBackupError, match=message):
        psb.restore(path, str(target), PASSPHRASE)
    assert not target.exists()
    assert not (tmp_path / "outside.key").exists()


def test_a_member_twice_is_refused(tmp_path):
    archive = tar_gz([(member("ca.key"), b"one"), (member("ca.key"), b"two")])
    path = encrypted_file(tmp_path / "twice.enc", archive)
    with pytest.raises(psb.StoreBackupError, match="appears twice"):
        psb.read_backup(path, PASSPHRASE)


def test_a_tar_made_by_hand_with_dot_slash_names_is_read(tmp_path):
    archive = tar_gz(
        [
            (member("./", tarfile.DIRTYPE, 0o700), None),
            (member("./etcd", tarfile.DIRTYPE, 0o700), None),
            (member("./etcd/ca.key"), b"key"),
            (member("./.lock"), b"lock"),
        ]
    )
    path = encrypted_file(tmp_path / "manual.enc", archive)
    assert psb.read_backup(path, PASSPHRASE) == {"etcd/ca.key": (0o600, b"key")}


# ---------------------------------------------------------------------------------------------
# Restore


@pytest.fixture
def backup_path(store, dest):
    return make_backup(store, dest)["path"]


def test_restore_into_a_missing_store(backup_path, tmp_path):
    target = str(tmp_path / "new" / "pki")
    result = psb.restore(backup_path, target, PASSPHRASE)
    assert result["changed"] is True
    assert result["store"] == target
    assert result["moved_aside"] is None
    assert sorted(result["restored"]) == sorted(STORE_FILES)
    assert listing(target) == STORE_FILES
    for directory in ("new", "new/pki", "new/pki/etcd", "new/pki/hosts", "new/pki/hosts/cp1"):
        assert mode_of(str(tmp_path / directory)) == 0o700, directory
    assert psb.restore(backup_path, target, PASSPHRASE)["changed"] is False


def test_restore_into_an_empty_store_ignores_its_lock(backup_path, store, tmp_path):
    target = write_store(tmp_path / "empty", files={})  # only a lock and temporary files
    result = psb.restore(backup_path, target, PASSPHRASE)
    assert result["changed"] is True
    assert psb.store_digest(target) == psb.store_digest(store)
    assert os.path.exists(os.path.join(target, ".lock"))


def test_restore_into_the_same_store_changes_nothing(backup_path, store):
    before = {rel: os.stat(os.path.join(store, rel)).st_ino for rel in STORE_FILES}
    result = psb.restore(backup_path, store, PASSPHRASE)
    assert result == {
        "changed": False,
        "store": store,
        "restored": [],
        "moved_aside": None,
        "msg": result["msg"],
    }
    assert {rel: os.stat(os.path.join(store, rel)).st_ino for rel in STORE_FILES} == before


def test_restore_sets_a_mode_that_differs(backup_path, store):
    os.chmod(os.path.join(store, "ca.key"), 0o644)
    result = psb.restore(backup_path, store, PASSPHRASE)
    assert result["changed"] is True
    assert result["restored"] == ["ca.key"]
    assert mode_of(os.path.join(store, "ca.key")) == 0o600


def alter(store):
    with open(os.path.join(store, "hosts/cp1/apiserver.crt"), "wb") as handle:
        handle.write(b"renewed since")
    os.unlink(os.path.join(store, "sa.pub"))
    os.makedirs(os.path.join(store, "hosts/cp2"))
    with open(os.path.join(store, "hosts/cp2/apiserver.crt"), "wb") as handle:
        handle.write(b"new host")
    return listing(store)


def test_restore_into_a_different_store_is_refused_without_force(backup_path, store):
    before = alter(store)
    with pytest.raises(psb.StoreBackupError) as error:
        psb.restore(backup_path, store, PASSPHRASE)
    message = str(error.value)
    assert "hosts/cp1/apiserver.crt (content differs)" in message
    assert "hosts/cp2/apiserver.crt (not in the backup)" in message
    assert "sa.pub (missing from the store)" in message
    assert "force" in message
    assert listing(store) == before
    assert not [n for n in os.listdir(os.path.dirname(store)) if ".replaced-" in n]


def test_refusal_lists_at_most_ten_paths(backup_path, store):
    for rel in STORE_FILES:
        with open(os.path.join(store, rel), "ab") as handle:
            handle.write(b"changed")
    with pytest.raises(psb.StoreBackupError) as error:
        psb.restore(backup_path, store, PASSPHRASE)
    message = str(error.value)
    assert message.count("(content differs)") == 10
    assert f"and {len(STORE_FILES) - 10} more" in message


def test_force_moves_the_store_aside_and_restores(backup_path, store):
    before = alter(store)
    result = psb.restore(backup_path, store, PASSPHRASE, force=True)
    aside = store + ".replaced-20260301T120000Z"
    assert result["changed"] is True
    assert result["moved_aside"] == aside
    assert sorted(result["restored"]) == sorted(STORE_FILES)
    assert listing(aside) == before  # the lock and temporary files went with it
    assert listing(store) == STORE_FILES
    assert mode_of(store) == 0o700

    # the same second again: the first store moved aside is not overwritten
    alter(store)
    again = psb.restore(backup_path, store, PASSPHRASE, force=True)
    assert again["moved_aside"] == aside + "-1"
    assert listing(aside) == before


def test_check_mode_restores_and_moves_nothing(backup_path, store, tmp_path):
    target = str(tmp_path / "new")
    result = psb.restore(backup_path, target, PASSPHRASE, check_mode=True)
    assert result["changed"] is True
    assert sorted(result["restored"]) == sorted(STORE_FILES)
    assert not os.path.exists(target)

    before = alter(store)
    result = psb.restore(backup_path, store, PASSPHRASE, force=True, check_mode=True)
    assert result["changed"] is True
    assert result["moved_aside"] == store + ".replaced-20260301T120000Z"
    assert not os.path.exists(result["moved_aside"])
    assert listing(store) == before


def test_a_link_in_the_store_counts_as_a_difference(backup_path, tmp_path):
    target = tmp_path / "linked"
    target.mkdir()
    os.symlink(str(tmp_path), str(target / "etcd"))
    with pytest.raises(psb.StoreBackupError, match=r"etcd \(not a regular file\)"):
        psb.restore(backup_path, str(target), PASSPHRASE)
    assert not (tmp_path / "ca.key").exists()


def test_restore_with_a_wrong_passphrase_writes_nothing(backup_path, tmp_path):
    target = tmp_path / "new"
    with pytest.raises(psb.StoreBackupError, match="wrong passphrase"):
        psb.restore(backup_path, str(target), "the wrong passphrase")
    assert not target.exists()


def test_restore_of_a_missing_backup(tmp_path):
    with pytest.raises(psb.StoreBackupError, match="does not exist"):
        psb.restore(str(tmp_path / "none.enc"), str(tmp_path / "pki"), PASSPHRASE)


# ---------------------------------------------------------------------------------------------
# The real openssl binary


def openssl(*args, data, passphrase=PASSPHRASE):
    env = {**os.environ, "PKI_BACKUP_PASS": passphrase}
    return subprocess.run(
        [OPENSSL, "enc", *args, "-aes-256-cbc", "-pbkdf2", "-iter", str(REAL_ITERATIONS),
         "-md", "sha256", "-pass", "env:PKI_BACKUP_PASS"],
        input=data, env=env, capture_output=True, check=False,
    )  # fmt: skip


@needs_openssl
@pytest.mark.usefixtures("real_kdf")
@pytest.mark.parametrize("size", [0, 15, 16, 1000])
def test_openssl_decrypts_what_we_encrypt(size):
    plaintext = os.urandom(size)
    res = openssl("-d", data=psb.encrypt(plaintext, PASSPHRASE))
    assert res.returncode == 0, res.stderr
    assert res.stdout == plaintext


@needs_openssl
@pytest.mark.usefixtures("real_kdf")
@pytest.mark.parametrize("size", [0, 15, 16, 1000])
def test_we_decrypt_what_openssl_encrypts(size):
    plaintext = os.urandom(size)
    res = openssl("-e", "-salt", data=plaintext)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(b"Salted__")
    assert psb.decrypt(res.stdout, PASSPHRASE) == plaintext


@needs_openssl
@pytest.mark.usefixtures("real_kdf")
def test_openssl_refuses_a_wrong_passphrase_too(store, dest):
    path = make_backup(store, dest)["path"]
    with open(path, "rb") as handle:
        res = openssl("-d", data=handle.read(), passphrase="not the right passphrase")
    assert res.returncode != 0 or not res.stdout.startswith(b"\x1f\x8b")


@needs_openssl
@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar binary")
@pytest.mark.usefixtures("real_kdf")
def test_a_backup_restores_by_hand_with_openssl_and_tar(store, dest, tmp_path):
    path = make_backup(store, dest)["path"]
    target = tmp_path / "by-hand"
    target.mkdir(mode=0o700)
    env = {**os.environ, "PKI_BACKUP_PASS": PASSPHRASE}
    res = subprocess.run(
        f"{OPENSSL} enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -in {path}"
        f" -pass env:PKI_BACKUP_PASS | tar -xz -C {target}",
        shell=True, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert listing(target) == STORE_FILES


@needs_openssl
@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar binary")
@pytest.mark.usefixtures("real_kdf")
def test_a_store_packed_by_hand_with_tar_and_openssl_restores(store, tmp_path):
    packed = subprocess.run(
        ["tar", "-cz", "-C", store, "--exclude=.lock", "--exclude=.pki-*", "."],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    res = openssl("-e", "-salt", data=packed)
    assert res.returncode == 0, res.stderr
    path = tmp_path / "by-hand.tar.gz.enc"
    path.write_bytes(res.stdout)
    target = str(tmp_path / "restored")
    result = psb.restore(str(path), target, PASSPHRASE)
    assert result["changed"] is True
    assert listing(target) == STORE_FILES
