# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real main() of prodgrade.kubernetes.file_bundle against files in tmp_path.

Owner and group are the names of the user running the tests, so nothing needs root; the
tests that change ownership to another user run only as root.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import json
import os
import pwd
import stat

import pytest
from module_runner import run_module, run_module_raw

from ansible_collections.prodgrade.kubernetes.plugins.modules import file_bundle

USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
SECRET = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKq0-unit-test-secret\n"
CERT = b"-----BEGIN CERTIFICATE-----\nnot really a certificate\n-----END CERTIFICATE-----\n"
OLD = 1_000_000_000  # an mtime far in the past, to see whether a file was rewritten


def b64(data):
    return base64.b64encode(data).decode("ascii")


def item(dest, data, **overrides):
    entry = {"dest": str(dest), "content": b64(data), "owner": USER, "group": GROUP}
    entry.update(overrides)
    return entry


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def age(*paths):
    for path in paths:
        os.utime(path, (OLD, OLD))


def run_raw(args, check_mode=False, diff=False):
    """The raw text the module printed."""
    return run_module_raw(file_bundle.main, args, check_mode=check_mode, diff=diff)[1]


def run(args, check_mode=False, diff=False):
    return run_module(file_bundle.main, args, check_mode=check_mode, diff=diff)


@pytest.fixture
def pki(tmp_path):
    """Two files in a directory that does not exist yet."""
    key = tmp_path / "etc" / "pki" / "apiserver.key"
    crt = tmp_path / "etc" / "pki" / "apiserver.crt"
    files = [item(key, SECRET, mode="0600"), item(crt, CERT)]
    return key, crt, {"files": files}


# --- normal operation -----------------------------------------------------------------------


def test_first_run_writes_files_then_second_run_changes_nothing(pki, tmp_path):
    key, crt, args = pki
    first = run(args)
    assert first["changed"] is True
    assert first["files"] == [
        {"dest": str(key), "changed": True, "reasons": ["created"]},
        {"dest": str(crt), "changed": True, "reasons": ["created"]},
    ]
    assert first["created_dirs"] == [str(tmp_path / "etc"), str(tmp_path / "etc" / "pki")]
    assert key.read_bytes() == SECRET
    assert crt.read_bytes() == CERT
    assert mode_of(key) == 0o600
    assert mode_of(crt) == 0o644
    assert mode_of(key.parent) == 0o755
    assert sorted(p.name for p in key.parent.iterdir()) == ["apiserver.crt", "apiserver.key"]

    age(key, crt)
    again = run(args)
    assert again["changed"] is False
    assert again["created_dirs"] == []
    assert [f["changed"] for f in again["files"]] == [False, False]
    assert [f["reasons"] for f in again["files"]] == [[], []]
    assert key.stat().st_mtime == OLD
    assert crt.stat().st_mtime == OLD


def test_only_the_changed_file_is_rewritten(pki):
    key, crt, args = pki
    run(args)
    age(key, crt)
    crt_inode = crt.stat().st_ino
    args["files"][0]["content"] = b64(SECRET + b"rotated\n")
    result = run(args)
    assert result["changed"] is True
    assert result["files"] == [
        {"dest": str(key), "changed": True, "reasons": ["content"]},
        {"dest": str(crt), "changed": False, "reasons": []},
    ]
    assert key.read_bytes() == SECRET + b"rotated\n"
    assert mode_of(key) == 0o600
    assert key.stat().st_mtime != OLD
    assert crt.stat().st_mtime == OLD
    assert crt.stat().st_ino == crt_inode


def test_mode_change_keeps_content_and_mtime(pki):
    key, _crt, args = pki
    run(args)
    key.chmod(0o644)
    age(key)
    result = run(args)
    assert result["files"][0] == {
        "dest": str(key),
        "changed": True,
        "reasons": ["mode 0644->0600"],
    }
    assert mode_of(key) == 0o600
    assert key.stat().st_mtime == OLD
    assert key.read_bytes() == SECRET


def test_content_and_mode_change_together(pki):
    key, _crt, args = pki
    run(args)
    key.chmod(0o640)
    key.write_bytes(b"stale")
    result = run(args)
    assert result["files"][0]["reasons"] == ["content", "mode 0640->0600"]
    assert key.read_bytes() == SECRET
    assert mode_of(key) == 0o600


def test_replaced_file_gets_new_mode_even_when_old_one_was_wider(tmp_path):
    dest = tmp_path / "admin.conf"
    dest.write_bytes(b"old")
    dest.chmod(0o666)
    run({"files": [item(dest, SECRET, mode="0400")]})
    assert dest.read_bytes() == SECRET
    assert mode_of(dest) == 0o400


def test_no_temporary_files_are_left_behind(pki):
    key, _crt, args = pki
    run(args)
    args["files"][0]["content"] = b64(b"new")
    run(args)
    assert sorted(p.name for p in key.parent.iterdir()) == ["apiserver.crt", "apiserver.key"]


def test_empty_content_and_binary_content(tmp_path):
    empty = tmp_path / "empty"
    binary = tmp_path / "binary"
    data = bytes(range(256))
    result = run({"files": [item(empty, b""), item(binary, data)]})
    assert result["changed"] is True
    assert empty.read_bytes() == b""
    assert binary.read_bytes() == data


def test_base64_with_line_breaks_is_accepted(tmp_path):
    dest = tmp_path / "wrapped"
    data = os.urandom(200)
    wrapped = base64.encodebytes(data).decode("ascii")  # 76 characters a line
    assert "\n" in wrapped.strip()
    entry = item(dest, b"", content=wrapped)
    run({"files": [entry]})
    assert dest.read_bytes() == data


@pytest.mark.parametrize(("mode", "expected"), [("0600", 0o600), ("640", 0o640), (0o600, 0o600)])
def test_mode_forms(tmp_path, mode, expected):
    dest = tmp_path / "f"
    run({"files": [item(dest, CERT, mode=mode)]})
    assert mode_of(dest) == expected


def test_default_mode_is_0644(tmp_path):
    dest = tmp_path / "f"
    entry = item(dest, CERT)
    entry.pop("mode", None)
    run({"files": [entry]})
    assert mode_of(dest) == 0o644


def test_numeric_owner_and_group(tmp_path):
    dest = tmp_path / "f"
    entry = item(dest, CERT, owner=str(os.geteuid()), group=str(os.getegid()))
    result = run({"files": [entry]})
    assert result["changed"] is True
    assert (dest.stat().st_uid, dest.stat().st_gid) == (os.geteuid(), os.getegid())
    assert run({"files": [entry]})["changed"] is False


def test_directories_get_dir_mode(tmp_path):
    dest = tmp_path / "a" / "b" / "f"
    old_umask = os.umask(0o077)
    try:
        result = run({"files": [item(dest, CERT)], "dir_mode": "0750"})
    finally:
        os.umask(old_umask)
    assert result["created_dirs"] == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    assert mode_of(tmp_path / "a") == 0o750
    assert mode_of(tmp_path / "a" / "b") == 0o750


def test_shared_missing_directory_is_created_once(tmp_path):
    one = tmp_path / "d" / "one"
    two = tmp_path / "d" / "two"
    result = run({"files": [item(one, b"1"), item(two, b"2")]})
    assert result["created_dirs"] == [str(tmp_path / "d")]
    assert one.read_bytes() == b"1"
    assert two.read_bytes() == b"2"


# --- check mode and diff --------------------------------------------------------------------


def test_check_mode_reports_and_writes_nothing(pki, tmp_path):
    key, crt, args = pki
    result = run(args, check_mode=True)
    assert result["changed"] is True
    assert [f["reasons"] for f in result["files"]] == [["created"], ["created"]]
    assert result["created_dirs"] == [str(tmp_path / "etc"), str(tmp_path / "etc" / "pki")]
    assert not (tmp_path / "etc").exists()

    run(args)
    key.chmod(0o644)
    age(key, crt)
    args["files"][1]["content"] = b64(b"other")
    result = run(args, check_mode=True)
    assert [f["reasons"] for f in result["files"]] == [["mode 0644->0600"], ["content"]]
    assert mode_of(key) == 0o644
    assert crt.read_bytes() == CERT
    assert crt.stat().st_mtime == OLD
    assert key.stat().st_mtime == OLD


def test_check_mode_without_changes(pki):
    _key, _crt, args = pki
    run(args)
    assert run(args, check_mode=True)["changed"] is False


def test_diff_never_shows_content(pki):
    key, _crt, args = pki
    raw = run_raw(args, diff=True)
    result = json.loads(raw)
    assert len(result["diff"]) == 2
    new_key = result["diff"][0]
    assert new_key["before_header"] == str(key)
    assert new_key["after_header"] == str(key)
    assert new_key["before"] == ""
    assert new_key["after"] == (
        f"<content not shown: {len(SECRET)} bytes, sha256 {hashlib.sha256(SECRET).hexdigest()}>\n"
        f"mode: 0600\nowner: {USER}\ngroup: {GROUP}\n"
    )
    assert "PRIVATE KEY" not in raw
    assert b64(SECRET) not in raw

    key.chmod(0o640)
    result = run(args, diff=True)
    assert len(result["diff"]) == 1  # the certificate did not change
    changed = result["diff"][0]
    assert changed["before_header"] == str(key)
    before = changed["before"].splitlines()
    after = changed["after"].splitlines()
    assert before[0] == after[0]  # same content
    assert before[1:] == ["mode: 0640", f"owner: {USER}", f"group: {GROUP}"]
    assert after[1:] == ["mode: 0600", f"owner: {USER}", f"group: {GROUP}"]

    key.write_bytes(b"0123456789")
    result = run(args, diff=True)
    before = result["diff"][0]["before"]
    digest = hashlib.sha256(b"0123456789").hexdigest()
    assert before.startswith(f"<content not shown: 10 bytes, sha256 {digest}>\n")
    assert "0123456789\n" not in before.split(">", 1)[1]


def test_no_diff_key_without_diff_mode(pki):
    _key, _crt, args = pki
    assert "diff" not in run(args)


# --- the contents never come back -----------------------------------------------------------


def test_content_is_masked_in_the_output(pki):
    _key, _crt, args = pki
    raw = run_raw(args)
    assert b64(SECRET) not in raw
    assert "PRIVATE KEY" not in raw
    result = json.loads(raw)
    invoked = result["invocation"]["module_args"]["files"]
    assert invoked[0]["content"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    for entry in result["files"]:
        assert set(entry) == {"dest", "changed", "reasons"}


def test_content_is_masked_in_a_failure(tmp_path):
    raw = run_raw({"files": [item(tmp_path / "k", SECRET, owner="no-such-user-x")]})
    assert json.loads(raw)["failed"] is True
    assert b64(SECRET) not in raw


# --- validation: nothing written ------------------------------------------------------------


def test_unknown_owner_fails_before_any_file_is_written(tmp_path):
    good = tmp_path / "d" / "good"
    bad = tmp_path / "d" / "bad"
    files = [item(good, CERT), item(bad, SECRET, owner="no-such-user-x")]
    result = run({"files": files})
    assert result["failed"] is True
    assert result["msg"] == (
        f"file_bundle: nothing was written: the owner of {bad}, user 'no-such-user-x', "
        "does not exist on this host"
    )
    assert not (tmp_path / "d").exists()


def test_unknown_group_fails_before_any_file_is_written(tmp_path):
    good = tmp_path / "good"
    bad = tmp_path / "bad"
    files = [item(good, CERT), item(bad, SECRET, group="no-such-group-x")]
    result = run({"files": files})
    assert result["failed"] is True
    assert f"the group of {bad}, group 'no-such-group-x', does not exist" in result["msg"]
    assert not good.exists()


def test_all_problems_are_reported_at_once(tmp_path):
    files = [
        item(tmp_path / "a", CERT, owner="no-such-user-x"),
        item(tmp_path / "b", CERT, mode="u=rw"),
        item(tmp_path / "c", CERT, group="no-such-group-x"),
    ]
    result = run({"files": files})
    assert len(result["errors"]) == 3
    assert "symbolic modes are not supported" in result["errors"][1]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("mode", ["u=rw", "0800", "99999", "", True, 0o10000, -1])
def test_bad_mode_is_refused(tmp_path, mode):
    dest = tmp_path / "f"
    result = run({"files": [item(dest, CERT, mode=mode)]})
    assert result["failed"] is True
    assert f"the mode of {dest}" in result["msg"]
    assert not dest.exists()


def test_bad_dir_mode_is_refused(tmp_path):
    result = run({"files": [item(tmp_path / "d" / "f", CERT)], "dir_mode": "rwx"})
    assert result["failed"] is True
    assert "dir_mode 'rwx' is not an octal number" in result["msg"]
    assert not (tmp_path / "d").exists()


def test_invalid_base64_names_the_file_but_not_the_content(tmp_path):
    dest = tmp_path / "f"
    entry = item(dest, b"", content="not*base64!")
    raw = run_raw({"files": [entry]})
    result = json.loads(raw)
    assert result["failed"] is True
    assert f"the content for {dest} is not valid base64" in result["msg"]
    assert "not*base64!" not in raw
    assert not dest.exists()


def test_src_without_content_explains_the_action_plugin(tmp_path):
    dest = tmp_path / "f"
    entry = {"dest": str(dest), "src": "/controller/ca.crt", "owner": USER, "group": GROUP}
    result = run({"files": [entry]})
    assert result["failed"] is True
    assert "src is read on the controller by the action plugin" in result["msg"]
    assert not dest.exists()


def test_src_and_content_together_are_refused(tmp_path):
    entry = item(tmp_path / "f", CERT, src="/controller/ca.crt")
    result = run({"files": [entry]})
    assert "has both src and content" in result["msg"]


def test_item_without_src_or_content_is_refused(tmp_path):
    entry = {"dest": str(tmp_path / "f"), "owner": USER, "group": GROUP}
    result = run({"files": [entry]})
    assert "needs either src or content" in result["msg"]


def test_unknown_item_key_is_refused(tmp_path):
    entry = item(tmp_path / "f", CERT, permissions="0600")
    result = run({"files": [entry]})
    assert result["failed"] is True
    assert "permissions" in result["msg"]
    assert not (tmp_path / "f").exists()


def test_relative_dest_is_refused():
    result = run({"files": [item("etc/kubernetes/admin.conf", CERT)]})
    assert "is not an absolute path" in result["msg"]


def test_duplicate_dest_is_refused(tmp_path):
    dest = tmp_path / "f"
    result = run({"files": [item(dest, b"1"), item(str(dest) + "/../f", b"2")]})
    assert f"{dest} is listed more than once" in result["msg"]
    assert not dest.exists()


def test_missing_directory_with_create_dirs_false(tmp_path):
    good = tmp_path / "good"
    bad = tmp_path / "missing" / "sub" / "f"
    result = run({"files": [item(good, CERT), item(bad, CERT)], "create_dirs": False})
    assert result["failed"] is True
    missing = tmp_path / "missing"
    assert f"the directory {missing} does not exist and create_dirs is false" in result["msg"]
    assert not good.exists()


def test_existing_directory_works_with_create_dirs_false(tmp_path):
    dest = tmp_path / "f"
    result = run({"files": [item(dest, CERT)], "create_dirs": False})
    assert result["changed"] is True
    assert dest.read_bytes() == CERT


def test_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("x")
    result = run({"files": [item(tmp_path / "plain" / "f", CERT)]})
    assert "exists but is not a directory" in result["msg"]


def test_dest_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "dir").mkdir()
    result = run({"files": [item(tmp_path / "dir", CERT)]})
    assert "exists but is not a regular file" in result["msg"]
    result = run({"files": [item(str(tmp_path / "dir") + "/", CERT)]})
    assert "names a directory" in result["msg"]


def test_dest_that_is_a_symlink_is_refused(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    result = run({"files": [item(link, CERT)]})
    assert "is a symbolic link" in result["msg"]
    assert link.is_symlink()
    assert target.read_bytes() == b"keep"


def test_files_is_required():
    result = run({})
    assert result["failed"] is True
    assert "files" in result["msg"]


# --- ownership ------------------------------------------------------------------------------


def other_user_and_group():
    user = next((u for u in pwd.getpwall() if u.pw_uid != os.geteuid()), None)
    group = next((g for g in grp.getgrall() if g.gr_gid != os.getegid()), None)
    return user, group


@pytest.mark.skipif(os.geteuid() != 0, reason="changing the owner needs root")
def test_owner_and_group_change_as_root(pki):
    user, group = other_user_and_group()
    if user is None or group is None:
        pytest.skip("no second user and group on this machine")
    key, _crt, args = pki
    run(args)
    age(key)
    args["files"][0].update(owner=user.pw_name, group=group.gr_name)
    result = run(args, diff=True)
    assert result["files"][0]["reasons"] == [
        f"owner {USER}->{user.pw_name}",
        f"group {GROUP}->{group.gr_name}",
    ]
    assert (key.stat().st_uid, key.stat().st_gid) == (user.pw_uid, group.gr_gid)
    assert key.stat().st_mtime == OLD
    assert f"owner: {user.pw_name}" in result["diff"][0]["after"]

    new = key.parent / "new.key"
    args["files"].append(item(new, SECRET, mode="0600", owner=user.pw_name, group=group.gr_name))
    run(args)
    assert (new.stat().st_uid, new.stat().st_gid) == (user.pw_uid, group.gr_gid)
    assert mode_of(new) == 0o600


def test_other_owner_without_root_is_refused_before_writing(tmp_path, monkeypatch):
    user, _group = other_user_and_group()
    if user is None:
        pytest.skip("no second user on this machine")
    monkeypatch.setattr(file_bundle, "is_root", lambda: False)
    good = tmp_path / "good"
    bad = tmp_path / "bad"
    result = run({"files": [item(good, CERT), item(bad, CERT, owner=user.pw_name)]})
    assert result["failed"] is True
    expected = f"{bad} must be owned by {user.pw_name!r}, which needs root: use become"
    assert expected in result["msg"]
    assert not good.exists()


# --- write failures -------------------------------------------------------------------------


def test_write_failure_reports_what_was_done(pki, monkeypatch):
    key, crt, args = pki
    real = file_bundle.write_content

    def fail_on_crt(module, plan):
        if plan["dest"] == str(crt):
            raise OSError(28, "No space left on device")
        real(module, plan)

    monkeypatch.setattr(file_bundle, "write_content", fail_on_crt)
    result = run(args)
    assert result["failed"] is True
    assert result["msg"] == f"file_bundle: cannot write {crt}: [Errno 28] No space left on device"
    assert result["changed"] is True
    assert result["files"] == [{"dest": str(key), "changed": True, "reasons": ["created"]}]
    assert key.read_bytes() == SECRET
    assert not crt.exists()


# --- directories ----------------------------------------------------------------------------


def directory(path, **overrides):
    entry = {"path": str(path), "owner": USER, "group": GROUP}
    entry.update(overrides)
    return entry


def test_directories_are_created_then_second_run_changes_nothing(tmp_path):
    conf = tmp_path / "etc-etcd"
    data = tmp_path / "var-lib-etcd"
    args = {"directories": [directory(conf, mode="0750"), directory(data, mode="0700")]}
    old_umask = os.umask(0o077)
    try:
        first = run(args)
    finally:
        os.umask(old_umask)
    assert first["changed"] is True
    assert first["directories"] == [
        {"path": str(conf), "changed": True, "reasons": ["created"]},
        {"path": str(data), "changed": True, "reasons": ["created"]},
    ]
    assert first["files"] == []
    assert first["created_dirs"] == []
    assert conf.is_dir()
    assert data.is_dir()
    assert mode_of(conf) == 0o750
    assert mode_of(data) == 0o700
    assert (conf.stat().st_uid, conf.stat().st_gid) == (os.geteuid(), os.getegid())

    again = run(args)
    assert again["changed"] is False
    assert again["directories"] == [
        {"path": str(conf), "changed": False, "reasons": []},
        {"path": str(data), "changed": False, "reasons": []},
    ]
    assert run(args, check_mode=True)["changed"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="the default owner root needs root")
def test_directory_defaults(tmp_path):
    path = tmp_path / "d"
    result = run({"directories": [{"path": str(path)}]})
    assert result["directories"][0]["reasons"] == ["created"]
    assert mode_of(path) == 0o755
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)


def test_existing_directory_mode_is_fixed_but_not_recursively(tmp_path):
    path = tmp_path / "conf"
    path.mkdir()
    path.chmod(0o755)
    inner = path / "inner"
    inner.mkdir()
    inner.chmod(0o755)
    (path / "f").write_bytes(b"x")
    (path / "f").chmod(0o644)
    age(path / "f")
    result = run({"directories": [directory(path, mode="0700")]})
    assert result["changed"] is True
    assert result["directories"] == [
        {"path": str(path), "changed": True, "reasons": ["mode 0755->0700"]}
    ]
    assert mode_of(path) == 0o700
    assert mode_of(inner) == 0o755
    assert mode_of(path / "f") == 0o644
    assert (path / "f").stat().st_mtime == OLD
    assert run({"directories": [directory(path, mode="0700")]})["changed"] is False


def test_directory_mode_forms_and_trailing_slash(tmp_path):
    path = tmp_path / "d"
    result = run({"directories": [directory(str(path) + "/", mode=0o711)]})
    assert result["directories"][0]["path"] == str(path)
    assert mode_of(path) == 0o711
    assert run({"directories": [directory(path, mode="711")]})["changed"] is False


@pytest.mark.skipif(os.geteuid() != 0, reason="changing the owner needs root")
def test_directory_owner_and_group_change_as_root(tmp_path):
    user, group = other_user_and_group()
    if user is None or group is None:
        pytest.skip("no second user and group on this machine")
    path = tmp_path / "data"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    entry = directory(path, mode="0700", owner=user.pw_name, group=group.gr_name)
    result = run({"directories": [entry]}, diff=True)
    assert result["directories"][0]["reasons"] == [
        "mode 0755->0700",
        f"owner {USER}->{user.pw_name}",
        f"group {GROUP}->{group.gr_name}",
    ]
    assert (path.stat().st_uid, path.stat().st_gid) == (user.pw_uid, group.gr_gid)
    assert mode_of(path) == 0o700
    assert result["diff"] == [
        {
            "before_header": str(path),
            "after_header": str(path),
            "before": f"state: directory\nmode: 0755\nowner: {USER}\ngroup: {GROUP}\n",
            "after": (
                f"state: directory\nmode: 0700\nowner: {user.pw_name}\ngroup: {group.gr_name}\n"
            ),
        }
    ]
    assert run({"directories": [entry]})["changed"] is False

    new = tmp_path / "new"
    entry = directory(new, mode="0750", owner=user.pw_name, group=group.gr_name)
    assert run({"directories": [entry]})["directories"][0]["reasons"] == ["created"]
    assert (new.stat().st_uid, new.stat().st_gid) == (user.pw_uid, group.gr_gid)
    assert mode_of(new) == 0o750


def test_files_go_into_directories_of_the_same_task(tmp_path):
    etc = tmp_path / "etc"
    pki = etc / "pki"
    conf = etc / "etcd.conf.yml"
    key = pki / "server.key"
    args = {
        "directories": [directory(etc, mode="0750"), directory(pki, mode="0700")],
        "files": [item(conf, CERT, mode="0640"), item(key, SECRET, mode="0600")],
        "create_dirs": False,  # the listed directories are enough
    }
    result = run(args, check_mode=True)
    assert result["changed"] is True
    assert [d["reasons"] for d in result["directories"]] == [["created"], ["created"]]
    assert [f["reasons"] for f in result["files"]] == [["created"], ["created"]]
    assert not etc.exists()

    result = run(args)
    assert result["changed"] is True
    assert result["created_dirs"] == []
    assert mode_of(etc) == 0o750
    assert mode_of(pki) == 0o700
    assert conf.read_bytes() == CERT
    assert key.read_bytes() == SECRET
    assert mode_of(key) == 0o600
    assert run(args)["changed"] is False


def test_missing_parent_of_a_directory_is_created_with_dir_mode(tmp_path):
    path = tmp_path / "a" / "b" / "c"
    result = run({"directories": [directory(path, mode="0700")], "dir_mode": "0751"})
    assert result["created_dirs"] == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    assert mode_of(tmp_path / "a") == 0o751
    assert mode_of(tmp_path / "a" / "b") == 0o751
    assert mode_of(path) == 0o700


def test_missing_parent_of_a_directory_with_create_dirs_false(tmp_path):
    good = tmp_path / "good"
    bad = tmp_path / "missing" / "d"
    result = run({"directories": [directory(good), directory(bad)], "create_dirs": False})
    assert result["failed"] is True
    missing = tmp_path / "missing"
    assert f"the directory {missing} does not exist and create_dirs is false" in result["msg"]
    assert not good.exists()


def test_parent_listed_after_its_child_is_refused(tmp_path):
    parent = tmp_path / "parent"
    child = parent / "child"
    result = run({"directories": [directory(child), directory(parent)]})
    assert result["failed"] is True
    assert f"its parent {parent} is listed later in directories" in result["msg"]
    assert not parent.exists()


def test_file_at_a_directory_path_is_refused_before_any_write(tmp_path):
    good_dir = tmp_path / "good"
    plain = tmp_path / "plain"
    plain.write_bytes(b"keep")
    good_file = tmp_path / "f"
    result = run(
        {"directories": [directory(good_dir), directory(plain)], "files": [item(good_file, CERT)]}
    )
    assert result["failed"] is True
    assert result["msg"].startswith("file_bundle: nothing was written: ")
    assert f"{plain} exists but is not a directory" in result["msg"]
    assert not good_dir.exists()
    assert not good_file.exists()
    assert plain.read_bytes() == b"keep"


def test_symlink_to_a_directory_is_refused(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    target.chmod(0o755)
    link = tmp_path / "link"
    link.symlink_to(target)
    result = run({"directories": [directory(link, mode="0700")]})
    assert result["failed"] is True
    assert f"{link} is a symbolic link" in result["msg"]
    assert link.is_symlink()
    assert mode_of(target) == 0o755


def test_unknown_directory_owner_or_group_is_refused_before_any_write(tmp_path):
    good = tmp_path / "good"
    bad_owner = tmp_path / "bad-owner"
    bad_group = tmp_path / "bad-group"
    dest = good / "f"
    result = run(
        {
            "directories": [
                directory(good),
                directory(bad_owner, owner="no-such-user-x"),
                directory(bad_group, group="no-such-group-x"),
            ],
            "files": [item(dest, CERT)],
        }
    )
    assert result["failed"] is True
    assert result["errors"] == [
        f"the owner of {bad_owner}, user 'no-such-user-x', does not exist on this host",
        f"the group of {bad_group}, group 'no-such-group-x', does not exist on this host",
    ]
    assert result["msg"].startswith("file_bundle: nothing was written: ")
    assert not list(tmp_path.iterdir())


def test_unknown_file_owner_leaves_the_directories_alone(tmp_path):
    path = tmp_path / "d"
    result = run(
        {
            "directories": [directory(path)],
            "files": [item(path / "f", CERT, owner="no-such-user-x")],
        }
    )
    assert result["failed"] is True
    assert not path.exists()


@pytest.mark.parametrize("mode", ["u=rwx", "0800", True])
def test_bad_directory_mode_is_refused(tmp_path, mode):
    path = tmp_path / "d"
    result = run({"directories": [directory(path, mode=mode)]})
    assert result["failed"] is True
    assert f"the mode of {path}" in result["msg"]
    assert not path.exists()


def test_malformed_directory_items_are_refused(tmp_path):
    path = tmp_path / "d"
    result = run({"directories": [directory(path), directory(str(path) + "/.")]})
    assert f"the directory {path} is listed more than once" in result["msg"]
    result = run({"directories": [directory("var/lib/etcd")]})
    assert "directory path 'var/lib/etcd' is not an absolute path" in result["msg"]
    result = run({"directories": [directory(path, recurse=True)]})
    assert result["failed"] is True
    assert "recurse" in result["msg"]
    result = run({"directories": [{"mode": "0700"}]})
    assert result["failed"] is True
    assert "path" in result["msg"]
    assert not path.exists()


def test_same_path_as_directory_and_file_is_refused(tmp_path):
    path = tmp_path / "x"
    result = run({"directories": [directory(path)], "files": [item(path, CERT)]})
    assert f"{path} is listed both in directories and in files" in result["msg"]
    assert not path.exists()

    result = run({"files": [item(path, CERT), item(path / "inner", CERT)]})
    assert f"its parent {path} is a file of this task" in result["msg"]
    assert not path.exists()


def test_files_without_directories_and_nothing_at_all(tmp_path):
    result = run({"files": [], "directories": []})
    assert result["failed"] is True
    assert "give at least one item in files, directories or links" in result["msg"]
    result = run({"directories": [directory(tmp_path / "d")]})
    assert result["changed"] is True
    assert result["files"] == []


def test_directory_check_mode_changes_nothing(tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir()
    existing.chmod(0o755)
    new = tmp_path / "new" / "sub"
    args = {"directories": [directory(existing, mode="0700"), directory(new, mode="0700")]}
    result = run(args, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["directories"] == [
        {"path": str(existing), "changed": True, "reasons": ["mode 0755->0700"]},
        {"path": str(new), "changed": True, "reasons": ["created"]},
    ]
    assert result["created_dirs"] == [str(tmp_path / "new")]
    assert mode_of(existing) == 0o755
    assert not (tmp_path / "new").exists()
    assert result["diff"][1] == {
        "before_header": str(new),
        "after_header": str(new),
        "before": "state: absent\n",
        "after": f"state: directory\nmode: 0700\nowner: {USER}\ngroup: {GROUP}\n",
    }


def test_directory_diff_entries_come_first_and_only_for_changes(tmp_path):
    same = tmp_path / "same"
    same.mkdir()
    same.chmod(0o755)
    new = tmp_path / "new"
    dest = new / "f"
    args = {
        "directories": [directory(same), directory(new, mode="0750")],
        "files": [item(dest, CERT)],
    }
    result = run(args, diff=True)
    assert [d["before_header"] for d in result["diff"]] == [str(new), str(dest)]
    assert result["diff"][0]["before"] == "state: absent\n"
    assert "mode: 0750\n" in result["diff"][0]["after"]
    assert run(args, diff=True)["diff"] == []


def test_other_directory_owner_without_root_is_refused(tmp_path, monkeypatch):
    user, _group = other_user_and_group()
    if user is None:
        pytest.skip("no second user on this machine")
    monkeypatch.setattr(file_bundle, "is_root", lambda: False)
    good = tmp_path / "good"
    bad = tmp_path / "bad"
    result = run({"directories": [directory(good), directory(bad, owner=user.pw_name)]})
    assert result["failed"] is True
    assert (
        f"{bad} must be owned by {user.pw_name!r}, which needs root: use become" in (result["msg"])
    )
    assert not good.exists()


def test_directory_failure_reports_what_was_done(tmp_path, monkeypatch):
    one = tmp_path / "one"
    two = tmp_path / "two"
    dest = one / "f"
    real = file_bundle.apply_directory

    def fail_on_two(module, plan):
        if plan["path"] == str(two):
            raise OSError(13, "Permission denied")
        real(module, plan)

    monkeypatch.setattr(file_bundle, "apply_directory", fail_on_two)
    result = run({"directories": [directory(one), directory(two)], "files": [item(dest, CERT)]})
    assert result["failed"] is True
    assert result["msg"] == (
        f"file_bundle: cannot set up the directory {two}: [Errno 13] Permission denied"
    )
    assert result["changed"] is True
    assert result["directories"] == [{"path": str(one), "changed": True, "reasons": ["created"]}]
    assert result["files"] == []
    assert one.is_dir()
    assert not dest.exists()


# --- show_diff ------------------------------------------------------------------------------

CONFIG = b"name: etcd-1\nlisten-client-urls: https://10.0.0.1:2379\n"


def test_show_diff_shows_the_text_of_a_new_and_a_changed_file(tmp_path):
    conf = tmp_path / "etcd.conf.yml"
    key = tmp_path / "server.key"
    args = {
        "files": [
            item(conf, CONFIG, mode="0640", show_diff=True),
            item(key, SECRET, mode="0600"),
        ]
    }
    raw = run_raw(args, diff=True)
    result = json.loads(raw)
    assert result["diff"][0] == {
        "before_header": str(conf),
        "after_header": f"{conf} (mode 0640, owner {USER}, group {GROUP})",
        "before": "",
        "after": CONFIG.decode(),
    }
    assert result["diff"][1]["after"].startswith("<content not shown: ")
    assert "PRIVATE KEY" not in raw

    conf.chmod(0o644)
    new_config = CONFIG.replace(b"etcd-1", b"etcd-2")
    args["files"][0]["content"] = b64(new_config)
    raw = run_raw(args, diff=True)
    result = json.loads(raw)
    assert result["files"][0]["reasons"] == ["content", "mode 0644->0640"]
    assert result["diff"] == [
        {
            "before_header": f"{conf} (mode 0644, owner {USER}, group {GROUP})",
            "after_header": f"{conf} (mode 0640, owner {USER}, group {GROUP})",
            "before": CONFIG.decode(),
            "after": new_config.decode(),
        }
    ]
    assert conf.read_bytes() == new_config
    assert "PRIVATE KEY" not in raw


def test_show_diff_in_check_mode_reads_the_current_content(tmp_path):
    conf = tmp_path / "kubelet.yaml"
    conf.write_bytes(b"old: true\n")
    args = {"files": [item(conf, b"new: true\n", show_diff=True)]}
    result = run(args, check_mode=True, diff=True)
    assert result["diff"][0]["before"] == "old: true\n"
    assert result["diff"][0]["after"] == "new: true\n"
    assert conf.read_bytes() == b"old: true\n"


def test_secret_file_stays_hidden_by_default(tmp_path):
    key = tmp_path / "server.key"
    key.write_bytes(SECRET + b"old\n")
    entry = item(key, SECRET, mode="0600")
    assert "show_diff" not in entry
    raw = run_raw({"files": [entry]}, diff=True)
    result = json.loads(raw)
    assert result["diff"][0]["before"].startswith("<content not shown: ")
    assert result["diff"][0]["after"].startswith("<content not shown: ")
    assert "PRIVATE KEY" not in raw
    raw = run_raw({"files": [item(key, CERT, show_diff=False)]}, diff=True)
    assert "PRIVATE KEY" not in raw
    assert "CERTIFICATE" not in raw


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, bytes(range(256))),  # a new binary file
        (b"\xff\xfe not utf-8\n", b"text: now\n"),  # binary before
        (b"text: before\n", b"\xc3\x28 invalid\n"),  # binary after
        (b"text: before\n", b"nul\x00inside\n"),  # NUL bytes
    ],
)
def test_show_diff_falls_back_to_the_description_for_binary(tmp_path, old, new):
    dest = tmp_path / "blob"
    if old is not None:
        dest.write_bytes(old)
    result = run({"files": [item(dest, new, show_diff=True)]}, diff=True)
    entry = result["diff"][0]
    digest = hashlib.sha256(new).hexdigest()
    assert entry["after"].startswith(f"<content not shown: {len(new)} bytes, sha256 {digest}>\n")
    assert entry["before_header"] == entry["after_header"] == str(dest)
    if old is None:
        assert entry["before"] == ""
    else:
        assert entry["before"].startswith(f"<content not shown: {len(old)} bytes")
    assert dest.read_bytes() == new


def test_show_diff_with_only_an_attribute_change_describes_it(tmp_path):
    conf = tmp_path / "conf"
    args = {"files": [item(conf, CONFIG, mode="0640", show_diff=True)]}
    run(args)
    conf.chmod(0o644)
    result = run(args, diff=True)
    before = result["diff"][0]["before"].splitlines()
    after = result["diff"][0]["after"].splitlines()
    assert before[0] == after[0]
    assert before[1] == "mode: 0644"
    assert after[1] == "mode: 0640"


def test_show_diff_content_is_never_in_the_result_without_diff(tmp_path):
    conf = tmp_path / "conf"
    raw = run_raw({"files": [item(conf, CONFIG, show_diff=True)]})
    result = json.loads(raw)
    assert "diff" not in result
    assert "listen-client-urls" not in raw
    assert result["invocation"]["module_args"]["files"][0]["show_diff"] is True
