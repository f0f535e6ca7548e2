# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real main() of prodgrade.kubernetes.pipe_user_pages against temporary files."""

from __future__ import annotations

import errno
import os
import stat

import pytest
from module_runner import run_module, warning_texts

from ansible_collections.prodgrade.kubernetes.plugins.modules import pipe_user_pages

RC93 = (
    "runc version 1.0.0-rc93\ncommit: 12644e614e25b05da6fd08a38ffa0cfe1903fdec\nspec: 1.0.2-dev\n"
)
DEBIAN = (
    "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n"
    "go: go1.19.8\nlibseccomp: 2.5.4\n"
)


def make_runc(directory, output, exit_code=0, name="runc"):
    """A small executable shell script standing in for runc."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    quoted = "'" + output.replace("'", "'\\''") + "'"
    # printf is a shell builtin, so the script works even with an empty PATH
    script.write_text(f"#!/bin/sh\nprintf '%s' {quoted}\nexit {exit_code}\n")
    script.chmod(0o755)
    return str(script)


class Host:
    """Temporary stand-ins for the proc files, runc and the sysctl.d file."""

    def __init__(self, tmp_path, monkeypatch):
        self.tmp_path = tmp_path
        self.proc_soft = tmp_path / "proc" / "pipe-user-pages-soft"
        self.proc_hard = tmp_path / "proc" / "pipe-user-pages-hard"
        self.proc_soft.parent.mkdir()
        self.set_proc(soft=16384, hard=0)
        self.sysctl_file = tmp_path / "etc" / "sysctl.d" / "60-prodgrade-pipe-user-pages.conf"
        self.runc = make_runc(tmp_path / "bin", DEBIAN)
        monkeypatch.setattr(pipe_user_pages, "PROC_SOFT", str(self.proc_soft))
        monkeypatch.setattr(pipe_user_pages, "PROC_HARD", str(self.proc_hard))

    def set_proc(self, soft=None, hard=None):
        if soft is not None:
            self.proc_soft.write_text(f"{soft}\n")
        if hard is not None:
            self.proc_hard.write_text(f"{hard}\n")

    @property
    def soft(self):
        return self.proc_soft.read_text()

    def args(self, **overrides):
        args = {"runc_path": self.runc, "sysctl_file": str(self.sysctl_file)}
        args.update(overrides)
        return args


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


def run(args, check_mode=False, diff=False):
    return run_module(pipe_user_pages.main, args, check_mode=check_mode, diff=diff)


def test_first_run_sets_value_and_writes_file_then_second_run_is_unchanged(host):
    host.set_proc(soft=0)
    first = run(host.args(soft=16384))
    assert first["changed"] is True
    assert first["soft_before"] == 0
    assert first["soft_after"] == 16384
    assert first["applied"] == 16384
    assert first["hard"] == 0
    assert first["reason"] == "configured value 16384"
    assert first["sysctl_file"] == str(host.sysctl_file)
    assert host.soft == "16384\n"
    content = host.sysctl_file.read_text()
    assert content.startswith("# Managed by prodgrade.kubernetes")
    assert "# Value: configured value 16384\n" in content
    assert content.endswith("\nfs.pipe-user-pages-soft = 16384\n")
    assert stat.S_IMODE(host.sysctl_file.stat().st_mode) == 0o644
    assert first["runc"] == {
        "found": True,
        "path": host.runc,
        "version": "1.1.5+ds1",
        "affected": False,
        "advice": (
            f"runc 1.1.5+ds1 at {host.runc} does not have the `runc init` pipe hang "
            "(only 1.0.0-rc93 has it)."
        ),
    }
    assert not first.get("warnings")
    inode = host.sysctl_file.stat().st_ino

    second = run(host.args(soft=16384))
    assert second["changed"] is False
    assert second["soft_before"] == second["soft_after"] == 16384
    assert host.sysctl_file.stat().st_ino == inode
    assert "diff" not in second


def test_default_soft_is_16384(host):
    host.set_proc(soft=4)
    result = run(host.args())
    assert result["applied"] == 16384
    assert host.soft == "16384\n"


def test_only_runtime_drift_is_repaired_without_rewriting_file(host):
    run(host.args(soft=8192))
    inode = host.sysctl_file.stat().st_ino
    host.set_proc(soft=1)
    result = run(host.args(soft=8192))
    assert result["changed"] is True
    assert result["soft_before"] == 1
    assert host.soft == "8192\n"
    assert host.sysctl_file.stat().st_ino == inode


def test_file_drift_is_repaired_and_mode_reset(host):
    run(host.args(soft=8192))
    host.sysctl_file.write_text("fs.pipe-user-pages-soft = 1\n")
    host.sysctl_file.chmod(0o600)
    result = run(host.args(soft=8192))
    assert result["changed"] is True
    assert host.sysctl_file.read_text().endswith("fs.pipe-user-pages-soft = 8192\n")
    assert stat.S_IMODE(host.sysctl_file.stat().st_mode) == 0o644
    assert run(host.args(soft=8192))["changed"] is False


def test_persist_false_leaves_no_file(host):
    result = run(host.args(soft=100, persist=False), diff=True)
    assert result["changed"] is True
    assert result["sysctl_file"] is None
    assert host.soft == "100\n"
    assert not host.sysctl_file.exists()
    assert [d["before_header"] for d in result["diff"]] == [str(host.proc_soft)]


# --- check and diff mode --------------------------------------------------------------------


def test_check_mode_reports_but_writes_nothing(host):
    result = run(host.args(soft=0), check_mode=True)
    assert result["changed"] is True
    assert result["soft_before"] == 16384
    assert result["soft_after"] == 0
    assert result["applied"] == 0
    assert host.soft == "16384\n"
    assert not host.sysctl_file.exists()
    assert not host.sysctl_file.parent.exists()


def test_check_mode_unchanged_after_real_run(host):
    run(host.args(soft=0))
    result = run(host.args(soft=0), check_mode=True, diff=True)
    assert result["changed"] is False
    assert all(d["before"] == d["after"] for d in result["diff"])


def test_diff_shows_runtime_value_and_file(host):
    result = run(host.args(soft=0), check_mode=True, diff=True)
    runtime, sysctl = result["diff"]
    assert runtime == {
        "before_header": str(host.proc_soft),
        "after_header": str(host.proc_soft),
        "before": "16384\n",
        "after": "0\n",
    }
    assert sysctl["before_header"] == f"{host.sysctl_file} (absent)"
    assert sysctl["after_header"] == str(host.sysctl_file)
    assert sysctl["before"] == ""
    assert sysctl["after"].endswith(
        "# Value: configured value 0 (no limit)\nfs.pipe-user-pages-soft = 0\n"
    )

    run(host.args(soft=0))
    written = host.sysctl_file.read_text()
    assert written == sysctl["after"]
    again = run(host.args(soft=5), diff=True)
    assert again["diff"][0]["before"] == "0\n"
    assert again["diff"][0]["after"] == "5\n"
    assert again["diff"][1]["before_header"] == str(host.sysctl_file)
    assert again["diff"][1]["before"] == written
    assert again["diff"][1]["after"].endswith("fs.pipe-user-pages-soft = 5\n")


# --- affected runc --------------------------------------------------------------------------


def test_affected_runc_lifts_limit_and_warns(host):
    runc = make_runc(host.tmp_path / "rc93", RC93)
    result = run(host.args(runc_path=runc))
    assert result["changed"] is True
    assert result["applied"] == 0
    assert result["soft_after"] == 0
    assert host.soft == "0\n"
    assert result["runc"]["version"] == "1.0.0-rc93"
    assert result["runc"]["affected"] is True
    assert result["reason"].startswith("lifted to 0 (no limit) instead of the configured 16384")
    content = host.sysctl_file.read_text()
    assert "runc 1.0.0-rc93 is affected" in content
    assert content.endswith("fs.pipe-user-pages-soft = 0\n")
    warnings = warning_texts(result)
    assert len(warnings) == 1
    assert "1.0.0-rc94 or later" in warnings[0]
    assert "1.1.x" in warnings[0]
    assert "does not free `runc init` processes that are already stuck" in warnings[0]
    assert "set to 0 (no limit) instead of 16384" in warnings[0]
    # idempotent as well, and still warning
    again = run(host.args(runc_path=runc))
    assert again["changed"] is False
    assert warning_texts(again)


def test_affected_runc_with_hard_limit_mentions_it(host):
    host.set_proc(hard=65536)
    runc = make_runc(host.tmp_path / "rc93", "runc version 1.0.0-rc93+dev\n")
    result = run(host.args(runc_path=runc, soft=1024))
    assert result["applied"] == 0
    assert "fs.pipe-user-pages-hard=65536 still applies" in warning_texts(result)[0]


def test_lift_disabled_keeps_configured_value_but_warns(host):
    runc = make_runc(host.tmp_path / "rc93", RC93)
    result = run(host.args(runc_path=runc, lift_for_affected_runc=False))
    assert result["applied"] == 16384
    assert result["soft_after"] == 16384
    assert host.soft == "16384\n"
    assert result["changed"] is True  # only the file was new
    assert result["reason"].endswith("but lift_for_affected_runc is false")
    warnings = warning_texts(result)
    assert len(warnings) == 1
    assert "1.0.0-rc94 or later" in warnings[0]
    assert "lift_for_affected_runc is false" in warnings[0]


def test_check_mode_warning_uses_conditional(host):
    runc = make_runc(host.tmp_path / "rc93", RC93)
    result = run(host.args(runc_path=runc), check_mode=True)
    assert "would be set to 0" in warning_texts(result)[0]
    assert host.soft == "16384\n"


# --- validation: nothing written ------------------------------------------------------------


def test_soft_above_hard_is_refused_before_writing(host):
    host.set_proc(soft=50, hard=100)
    result = run(host.args(soft=200))
    assert result["failed"] is True
    assert result["msg"] == (
        "fs.pipe-user-pages-soft=200 would exceed fs.pipe-user-pages-hard=100: "
        "raise the hard limit or lower `soft`."
    )
    assert host.soft == "50\n"
    assert not host.sysctl_file.exists()


def test_soft_zero_is_allowed_with_hard_limit(host):
    host.set_proc(hard=100)
    result = run(host.args(soft=0))
    assert result["changed"] is True
    assert host.soft == "0\n"


@pytest.mark.parametrize("soft", [-1, 2147483648])
def test_out_of_range_is_refused_before_writing(host, soft):
    result = run(host.args(soft=soft))
    assert result["failed"] is True
    assert f"`soft`={soft} is out of range" in result["msg"]
    assert "0 (no limit) to 2147483647 pages" in result["msg"]
    assert host.soft == "16384\n"
    assert not host.sysctl_file.exists()


def test_missing_proc_file_is_reported(host, monkeypatch, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "pipe-user-pages-soft"
    monkeypatch.setattr(pipe_user_pages, "PROC_SOFT", str(missing))
    result = run(host.args(soft=0))
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"Cannot read fs.pipe-user-pages-soft: {missing} does not exist."
    )
    assert "Linux 4.5" in result["msg"]
    assert not missing.exists()
    assert not host.sysctl_file.exists()


@pytest.mark.skipif(not os.path.exists("/proc/version"), reason="needs Linux /proc")
def test_unwritable_proc_file_gives_clear_message(host, monkeypatch):
    """Writes go to /proc/version, which refuses writes even for root (EIO or EACCES)."""
    real_write = pipe_user_pages.write_proc
    monkeypatch.setattr(
        pipe_user_pages, "write_proc", lambda path, value: real_write("/proc/version", value)
    )
    result = run(host.args(soft=0))
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"Cannot set fs.pipe-user-pages-soft=0: writing {host.proc_soft} failed:"
    )
    assert result["msg"].endswith("Nothing was changed.")
    assert host.soft == "16384\n"
    assert not host.sysctl_file.exists()


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_proc_sys_explains_containers(host, monkeypatch, code):
    def refuse(path, value):
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(pipe_user_pages, "write_proc", refuse)
    result = run(host.args(soft=0))
    assert result["failed"] is True
    msg = result["msg"]
    assert f"writing {host.proc_soft} failed: [Errno {code}]" in msg
    assert "/proc/sys is read-only" in msg
    assert "privileged" in msg
    assert "systempaths=unconfined" in msg
    assert not host.sysctl_file.exists()


def test_sysctl_file_that_is_a_directory_is_refused(host):
    host.sysctl_file.mkdir(parents=True)
    result = run(host.args(soft=0))
    assert result["failed"] is True
    assert "is not a regular file" in result["msg"]
    assert host.soft == "16384\n"


# --- runc detection -------------------------------------------------------------------------


def test_runc_path_missing_is_not_an_error(host, tmp_path):
    missing = str(tmp_path / "nowhere" / "runc")
    result = run(host.args(runc_path=missing))
    assert "failed" not in result
    assert result["runc"] == {
        "found": False,
        "path": None,
        "version": None,
        "affected": None,
        "advice": f"No executable runc at {missing}, so there is no runc version to check.",
    }
    assert result["applied"] == 16384


def test_runc_not_found_anywhere(host, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(pipe_user_pages, "RUNC_CANDIDATES", (str(tmp_path / "nope" / "runc"),))
    args = host.args()
    del args["runc_path"]
    result = run(args)
    assert result["runc"]["found"] is False
    assert result["runc"]["affected"] is None
    assert result["runc"]["advice"].startswith("No runc binary was found")


def test_runc_found_on_path(host, monkeypatch, tmp_path):
    bindir = tmp_path / "pathbin"
    runc = make_runc(bindir, RC93)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(pipe_user_pages, "RUNC_CANDIDATES", ())
    args = host.args()
    del args["runc_path"]
    result = run(args)
    assert result["runc"]["path"] == runc
    assert result["runc"]["affected"] is True


def test_runc_found_in_fallback_locations(host, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    runc = make_runc(tmp_path / "sbin", DEBIAN)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(pipe_user_pages, "RUNC_CANDIDATES", (str(tmp_path / "nope" / "runc"), runc))
    args = host.args()
    del args["runc_path"]
    result = run(args)
    assert result["runc"]["path"] == runc
    assert result["runc"]["version"] == "1.1.5+ds1"


def test_runc_failing_or_unparsable_gives_unknown_version(host, tmp_path):
    broken = make_runc(tmp_path / "broken", "boom\n", exit_code=3)
    result = run(host.args(runc_path=broken))
    assert result["runc"]["found"] is True
    assert result["runc"]["version"] is None
    assert result["runc"]["affected"] is None
    assert "exit code 3: boom" in result["runc"]["advice"]
    assert result["applied"] == 16384
    assert not warning_texts(result)

    old = make_runc(tmp_path / "old", "runc version spec: 1.0.0\n")
    result = run(host.args(runc_path=old))
    assert result["runc"]["version"] is None
    assert result["runc"]["affected"] is None
    assert "Could not read a runc version" in result["runc"]["advice"]
