# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the pure logic of plugins/module_utils/pipe_pages.py."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pipe_pages import (
    MAX_PAGES,
    PipePagesError,
    compare_versions,
    decide_applied,
    is_affected,
    parse_proc_int,
    parse_runc_version_output,
    render_sysctl_file,
    runc_advice,
    validate_soft,
    version_key,
)

DEBIAN_OUTPUT = """runc version 1.1.5+ds1
commit: 1.1.5+ds1-1+deb12u1
spec: 1.0.2-dev
go: go1.19.8
libseccomp: 2.5.4
"""

RC93_OUTPUT = """runc version 1.0.0-rc93
commit: 12644e614e25b05da6fd08a38ffa0cfe1903fdec
spec: 1.0.2-dev
go: go1.13.15
libseccomp: 2.5.1
"""


# --- parse_runc_version_output ------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (DEBIAN_OUTPUT, "1.1.5+ds1"),
        (RC93_OUTPUT, "1.0.0-rc93"),
        ("runc version 1.0.0-rc93\n", "1.0.0-rc93"),
        ("runc version 1.0.0-rc10\nspec: 1.0.1-dev\n", "1.0.0-rc10"),
        ("runc version 1.0.0-rc92+dev\ncommit: abc\nspec: 1.0.2-dev\n", "1.0.0-rc92+dev"),
        ("runc version 1.0.0-rc93-1\n", "1.0.0-rc93-1"),
        ("runc version 1.1.12\r\ncommit: v1.1.12-0-g51d5e946\r\n", "1.1.12"),
        ("  runc version 1.2.0-rc.1\n", "1.2.0-rc.1"),
        ("warning: something odd\nrunc version 1.1.15\n", "1.1.15"),
    ],
)
def test_parse_runc_version_output_known_forms(output, expected):
    assert parse_runc_version_output(output) == expected


@pytest.mark.parametrize(
    "output",
    [
        "runc version spec: 1.0.0\n",  # very old builds report only the OCI spec version
        "runc version\n",
        "runc version unknown\n",
        "spec: 1.0.2-dev\n",
        "sh: runc: command not found\n",
        "",
        None,
    ],
)
def test_parse_runc_version_output_unknown(output):
    assert parse_runc_version_output(output) is None


# --- version_key / compare_versions --------------------------------------------------------


def test_versions_sort_in_release_order():
    expected = [
        "1.0.0-rc9",
        "1.0.0-rc10",
        "1.0.0-rc92",
        "1.0.0-rc93",
        "1.0.0-rc94",
        "1.0.0",
        "1.0.3",
        "1.1.0-rc.1",
        "1.1.0",
        "1.1.5",
        "1.1.15",
        "1.2.0",
        "1.10.0",
    ]
    shuffled = expected[:]
    random.Random(2828).shuffle(shuffled)
    assert sorted(shuffled, key=version_key) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0.0-rc9", "1.0.0-rc10", -1),
        ("1.0.0-rc10", "1.0.0-rc93", -1),
        ("1.0.0-rc93", "1.0.0-rc94", -1),
        ("1.0.0-rc94", "1.0.0", -1),
        ("1.0.0", "1.1.5", -1),
        ("1.1.5", "1.0.0", 1),
        ("1.0.0-rc93+dev", "1.0.0-rc93", 0),
        ("1.0.0~rc93+ds1", "1.0.0-rc93", 0),
        ("1.1.5+ds1", "1.1.5", 0),
        ("v1.1.5", "1.1.5", 0),
        ("1.1", "1.1.0", 0),
    ],
)
def test_compare_versions(left, right, expected):
    assert compare_versions(left, right) == expected


@pytest.mark.parametrize(
    ("version", "key"),
    [
        ("1.0.0-rc93", (1, 0, 0, 0, 93)),
        ("1.0.0-rc93-1", (1, 0, 0, 0, 93)),
        ("1.0.0", (1, 0, 0, 1, 0)),
        ("1.1.7-0ubuntu1~22.04.1", (1, 1, 7, 1, 0)),
        ("1.2.0-rc.1", (1, 2, 0, 0, 1)),
    ],
)
def test_version_key_values(version, key):
    assert version_key(version) == key


@pytest.mark.parametrize("garbage", ["", "abc", "spec:", "1", "1.2.3.4", "rc93", None, 93])
def test_version_key_rejects_garbage(garbage):
    assert version_key(garbage) is None


def test_compare_versions_rejects_garbage():
    with pytest.raises(PipePagesError, match="'nonsense' is not a runc version"):
        compare_versions("1.0.0", "nonsense")


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_release_candidates_sort_numerically(left, right):
    expected = (left > right) - (left < right)
    assert compare_versions(f"1.0.0-rc{left}", f"1.0.0-rc{right}") == expected
    assert compare_versions(f"1.0.0-rc{left}", "1.0.0") == -1


# --- is_affected ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    ["1.0.0-rc93", "1.0.0-rc93+dev", "1.0.0-rc93-1", "1.0.0~rc93+ds1", "v1.0.0-rc93"],
)
def test_rc93_is_affected(version):
    assert is_affected(version) is True


@pytest.mark.parametrize(
    "version",
    [
        "1.0.0-rc92",
        "1.0.0-rc92+dev",
        "1.0.0-rc10",
        "1.0.0-rc94",
        "1.0.0-rc95",
        "1.0.0",
        "1.0.3",
        "1.1.5+ds1",
        "1.1.15",
        "1.2.0",
        "1.0.93",
        "0.1.1",
    ],
)
def test_other_versions_are_not_affected(version):
    assert is_affected(version) is False


@pytest.mark.parametrize("version", [None, "", "garbage", "spec: 1.0.0", "rc93"])
def test_unknown_versions_are_undecided(version):
    assert is_affected(version) is None


@given(st.integers(0, 500), st.sampled_from(["", "+dev", "-1", "+ds1", "~bpo11+1"]))
def test_only_rc93_is_affected_whatever_the_suffix(rc, suffix):
    assert is_affected(f"1.0.0-rc{rc}{suffix}") is (rc == 93)


# --- runc_advice ----------------------------------------------------------------------------


def test_advice_for_affected_runc_says_upgrade_and_not_freed():
    advice = runc_advice(True, path="/usr/bin/runc", version="1.0.0-rc93", affected=True)
    assert "runc 1.0.0-rc93 at /usr/bin/runc" in advice
    assert "1.0.0-rc94 or later" in advice
    assert "1.1.x" in advice
    assert "does not free" in advice
    assert "https://github.com/opencontainers/runc/issues/2828" in advice


def test_advice_for_other_cases():
    assert "No runc binary" in runc_advice(False)
    ok = runc_advice(True, path="/usr/bin/runc", version="1.1.5", affected=False)
    assert ok.startswith("runc 1.1.5 at /usr/bin/runc does not have")
    unknown = runc_advice(True, path="/x/runc", version=None, affected=None, error="exit code 2")
    assert "`/x/runc --version` (exit code 2)" in unknown
    assert "1.0.0-rc93" in unknown


# --- validate_soft --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soft", "hard"),
    [(0, 0), (0, None), (1, 0), (16384, 0), (MAX_PAGES, 0), (0, 100), (100, 100), (50, 100)],
)
def test_validate_soft_accepts(soft, hard):
    assert validate_soft(soft, hard) == soft


@pytest.mark.parametrize(
    ("soft", "match"),
    [
        (-1, r"`soft`=-1 is out of range: fs.pipe-user-pages-soft accepts 0 \(no limit\)"),
        (MAX_PAGES + 1, r"`soft`=2147483648 is out of range"),
        (True, r"`soft` must be a whole number of pages, got True"),
        ("10", r"`soft` must be a whole number of pages, got '10'"),
        (None, r"`soft` must be a whole number of pages, got None"),
    ],
)
def test_validate_soft_rejects_bad_values(soft, match):
    with pytest.raises(PipePagesError, match=match):
        validate_soft(soft)


def test_validate_soft_rejects_soft_above_hard():
    with pytest.raises(PipePagesError) as excinfo:
        validate_soft(200, 100)
    assert str(excinfo.value) == (
        "fs.pipe-user-pages-soft=200 would exceed fs.pipe-user-pages-hard=100: "
        "raise the hard limit or lower `soft`."
    )


# --- decide_applied -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((16384, "1.1.5", False, True), (16384, "configured value 16384")),
        ((16384, None, None, True), (16384, "configured value 16384")),
        (
            (16384, "1.0.0-rc93", True, True),
            (
                0,
                "lifted to 0 (no limit) instead of the configured 16384 because "
                "runc 1.0.0-rc93 is affected by the runc init pipe hang",
            ),
        ),
        (
            (16384, "1.0.0-rc93", True, False),
            (
                16384,
                "configured value 16384; runc 1.0.0-rc93 is affected by the runc init pipe "
                "hang but lift_for_affected_runc is false",
            ),
        ),
        (
            (0, "1.0.0-rc93", True, True),
            (
                0,
                "configured value 0 (no limit); runc 1.0.0-rc93 is affected by the runc init "
                "pipe hang",
            ),
        ),
        ((0, "1.1.5", False, True), (0, "configured value 0 (no limit)")),
    ],
)
def test_decide_applied(given, expected):
    soft, version, affected, lift = given
    assert decide_applied(soft, version, affected, lift) == expected


# --- render_sysctl_file ---------------------------------------------------------------------


def test_render_sysctl_file_exact_content():
    assert render_sysctl_file(16384, "configured value 16384") == (
        "# Managed by prodgrade.kubernetes (module pipe_user_pages); local edits are overwritten.\n"
        "# fs.pipe-user-pages-soft limits the pipe buffer pages a user may hold before new pipes\n"
        "# are shrunk; 0 means no limit.\n"
        "# Value: configured value 16384\n"
        "fs.pipe-user-pages-soft = 16384\n"
    )


def test_render_sysctl_file_lifted_and_deterministic():
    value, reason = decide_applied(16384, "1.0.0-rc93", True, True)
    first = render_sysctl_file(value, reason)
    assert first == render_sysctl_file(value, reason)
    lines = first.splitlines()
    assert lines[-1] == "fs.pipe-user-pages-soft = 0"
    assert lines[-2].startswith("# Value: lifted to 0 (no limit)")
    assert "runc 1.0.0-rc93" in lines[-2]
    # every line but the setting is a comment, so sysctl reads exactly one key
    assert all(line.startswith("#") for line in lines[:-1])


def test_render_sysctl_file_keeps_multiline_reason_commented():
    content = render_sysctl_file(5, "first line\n\nsecond line\n")
    assert "# Value: first line\n#   second line\nfs.pipe-user-pages-soft = 5\n" in content
    assert all(line.startswith("#") for line in content.splitlines()[:-1])


# --- parse_proc_int -------------------------------------------------------------------------


def test_parse_proc_int():
    assert parse_proc_int("16384\n", "/proc/sys/fs/pipe-user-pages-soft") == 16384
    assert parse_proc_int(" 0 ", "x") == 0
    with pytest.raises(PipePagesError, match=r"/proc/version holds 'Linux', which is not"):
        parse_proc_int("Linux\n", "/proc/version")
