# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``pipe_user_pages`` module.

Nothing in here touches the system or imports Ansible: it parses ``runc --version``
output, orders runc versions, decides whether a runc build carries the ``runc init``
pipe hang, validates the wanted ``fs.pipe-user-pages-soft`` value and renders the
sysctl.d file.
"""

from __future__ import annotations

import re

SYSCTL_SOFT = "fs.pipe-user-pages-soft"
SYSCTL_HARD = "fs.pipe-user-pages-hard"

DEFAULT_SOFT = 16384
MAX_PAGES = 2147483647

# The only runc release with the hang, and the first release carrying the fix.
AFFECTED_RUNC = "1.0.0-rc93"
FIXED_RUNC = "1.0.0-rc94"
RUNC_ISSUE_URL = "https://github.com/opencontainers/runc/issues/2828"
RUNC_FIX_URL = "https://github.com/opencontainers/runc/pull/2871"

# "runc version 1.1.5+ds1" -> "1.1.5+ds1". Very old builds print "runc version spec: 1.0.0"
# (only the OCI spec version), which is deliberately not matched as a runc version.
_RUNC_LINE_RE = re.compile(r"^\s*runc\s+version\s+(?P<version>\S+)\s*$", re.IGNORECASE)

# 1.1.5, v1.0.0-rc93, 1.0.0-rc93+dev, 1.0.0~rc93+ds1, 1.2.0-rc.1, 1.1.7-0ubuntu1~22.04.1
_VERSION_RE = re.compile(
    r"^v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?"
    r"(?:[-~]rc\.?(?P<rc>\d+))?"
    r"(?P<rest>.*)$"
)


class PipePagesError(ValueError):
    """A value that cannot be applied; the message says what is wrong and how to fix it."""


def parse_runc_version_output(output):
    """Return the runc version string from ``runc --version`` output, or None.

    The version is the word after ``runc version`` on its own line, build suffix
    included (``1.0.0-rc93+dev``). None when no such line exists or the word is not a
    version (for example the ``runc version spec: 1.0.0`` form of very old builds).
    """
    if not output:
        return None
    for line in output.splitlines():
        match = _RUNC_LINE_RE.match(line)
        if match and version_key(match.group("version")) is not None:
            return match.group("version")
    return None


def version_key(version):
    """Return a sortable tuple for a runc version string, or None when it does not parse.

    The tuple is ``(major, minor, patch, is_final, rc)``: a ``-rcN`` pre-release sorts
    before its final release, and release candidates sort numerically (rc9 < rc10).
    Build or packaging suffixes (``+dev``, ``-1``, ``+ds1``) are ignored.
    """
    if not isinstance(version, str):
        return None
    match = _VERSION_RE.match(version.strip())
    if not match:
        return None
    rest = match.group("rest")
    # A digit or dot right after the numbers means a shape we do not understand (1.2.3.4).
    if rest and rest[0] not in "+-~_":
        return None
    rc = match.group("rc")
    return (
        int(match.group("major")),
        int(match.group("minor")),
        int(match.group("patch") or 0),
        0 if rc is not None else 1,
        int(rc) if rc is not None else 0,
    )


def compare_versions(left, right):
    """Compare two runc versions: -1, 0 or 1. Raises PipePagesError when one does not parse."""
    left_key = version_key(left)
    right_key = version_key(right)
    for value, key in ((left, left_key), (right, right_key)):
        if key is None:
            raise PipePagesError(f"cannot compare runc versions: {value!r} is not a runc version")
    if left_key < right_key:
        return -1
    if left_key > right_key:
        return 1
    return 0


def is_affected(version):
    """Whether this runc version has the ``runc init`` seccomp pipe hang.

    True for 1.0.0-rc93 with any build suffix, False for every other parsable version,
    None when the version is unknown or does not parse.
    """
    key = version_key(version) if version is not None else None
    if key is None:
        return None
    return key == version_key(AFFECTED_RUNC)


def runc_advice(found, path=None, version=None, affected=None, error=None):
    """One human sentence or two about the detected runc."""
    if not found:
        return "No runc binary was found, so there is no runc version to check."
    if version is None:
        detail = f" ({error})" if error else ""
        return (
            f"Could not read a runc version from `{path} --version`{detail}. Check it by hand: "
            f"only {AFFECTED_RUNC} hangs in `runc init` when pipes are shrunk by "
            f"{SYSCTL_SOFT}, see {RUNC_ISSUE_URL}."
        )
    if affected:
        return (
            f"runc {version} at {path} hangs in `runc init` once the pipe buffer limit shrinks "
            f"its seccomp pipe ({RUNC_ISSUE_URL}). Upgrade runc to {FIXED_RUNC} or later "
            f"(a 1.1.x release is recommended); lifting {SYSCTL_SOFT} only prevents new hangs "
            "and does not free `runc init` processes that are already stuck."
        )
    return (
        f"runc {version} at {path} does not have the `runc init` pipe hang "
        f"(only {AFFECTED_RUNC} has it)."
    )


def validate_soft(soft, hard=None):
    """Check the wanted soft limit against the allowed range and the current hard limit.

    ``hard`` is the current ``fs.pipe-user-pages-hard`` (0 or None: no hard limit).
    Raises PipePagesError with a message naming the problem and the fix.
    """
    if isinstance(soft, bool) or not isinstance(soft, int):
        raise PipePagesError(
            f"`soft` must be a whole number of pages, got {soft!r}: use 0 for no limit or a "
            f"value from 1 to {MAX_PAGES}."
        )
    if soft < 0 or soft > MAX_PAGES:
        raise PipePagesError(
            f"`soft`={soft} is out of range: {SYSCTL_SOFT} accepts 0 (no limit) to "
            f"{MAX_PAGES} pages; pick a value in that range."
        )
    if hard and soft > 0 and soft > hard:
        raise PipePagesError(
            f"{SYSCTL_SOFT}={soft} would exceed {SYSCTL_HARD}={hard}: "
            "raise the hard limit or lower `soft`."
        )
    return soft


def decide_applied(soft, runc_version=None, affected=None, lift_for_affected_runc=True):
    """Return ``(value, reason)``: the soft limit to apply and a one-line reason.

    An affected runc with ``lift_for_affected_runc`` set gets 0 (no limit) so new pipes are
    never shrunk; everything else gets the configured ``soft``.
    """
    if affected and lift_for_affected_runc and soft != 0:
        return 0, (
            f"lifted to 0 (no limit) instead of the configured {soft} because "
            f"runc {runc_version} is affected by the runc init pipe hang"
        )
    reason = "configured value 0 (no limit)" if soft == 0 else f"configured value {soft}"
    if affected:
        reason += f"; runc {runc_version} is affected by the runc init pipe hang"
        if not lift_for_affected_runc:
            reason += " but lift_for_affected_runc is false"
    return soft, reason


def render_sysctl_file(value, reason):
    """Return the sysctl.d file content: a managed-by header, the reason, the setting."""
    reason_lines = [line.strip() for line in str(reason).splitlines() if line.strip()] or [""]
    lines = [
        "# Managed by prodgrade.kubernetes (module pipe_user_pages); local edits are overwritten.",
        f"# {SYSCTL_SOFT} limits the pipe buffer pages a user may hold before new pipes",
        "# are shrunk; 0 means no limit.",
        f"# Value: {reason_lines[0]}".rstrip(),
    ]
    lines.extend(f"#   {reason_line}" for reason_line in reason_lines[1:])
    lines.append(f"{SYSCTL_SOFT} = {int(value)}")
    return "\n".join(lines) + "\n"


def parse_proc_int(text, name):
    """Parse the integer content of a /proc/sys file; raise PipePagesError when it is not one."""
    stripped = (text or "").strip()
    try:
        return int(stripped)
    except ValueError:
        raise PipePagesError(f"{name} holds {stripped!r}, which is not an integer.") from None
