#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pipe_user_pages
short_description: Manage fs.pipe-user-pages-soft and check runc for the runc init pipe hang
version_added: 0.1.0
description:
  - Reads the kernel pipe buffer limits C(fs.pipe-user-pages-soft) and C(fs.pipe-user-pages-hard),
    sets the wanted soft limit at runtime through C(/proc/sys/fs/pipe-user-pages-soft) and,
    optionally, persistently through a file in C(/etc/sysctl.d).
  - The kernel counts the pipe buffer pages held by each user. Once a user is over the soft limit,
    every new pipe it creates gets a tiny buffer. On a container host all containers running as
    root share host UID 0, so their pipes add up and the limit is reached sooner than expected.
  - runc 1.0.0-rc93 writes the seccomp filter into a pipe during C(runc init) and reads the other
    end only afterwards. When that pipe was created with a shrunken buffer the write never
    completes, C(runc init) hangs for good and kubelet ends up reporting C(PLEG is not healthy).
    runc 1.0.0-rc94 reads the pipe while writing and does not hang.
  - The module also locates the installed runc, reads its version and reports whether it is the
    affected release. With O(lift_for_affected_runc) it then applies V(0) (no limit) instead of
    O(soft) and warns that runc must be upgraded.
  - The value is only written when it differs from the current one, and the file only when its
    content differs, so repeated runs report no change.
options:
  soft:
    description:
      - The wanted value of C(fs.pipe-user-pages-soft), in pages.
      - V(0) removes the soft limit. The kernel default is V(16384).
      - Must be between V(0) and V(2147483647), and not above a non-zero
        C(fs.pipe-user-pages-hard).
    type: int
    default: 16384
  lift_for_affected_runc:
    description:
      - When the detected runc is the affected release, apply V(0) (no limit) instead of O(soft).
      - A warning asking to upgrade runc is emitted for an affected runc whatever this is set to.
    type: bool
    default: true
  runc_path:
    description:
      - Path of the runc binary to check.
      - When omitted, C(runc) is looked up on E(PATH), then in C(/usr/bin), C(/usr/sbin),
        C(/usr/local/bin) and C(/usr/local/sbin).
      - A missing runc is not an error; RV(runc.found) is then V(false).
    type: path
  persist:
    description:
      - Also write the value to O(sysctl_file) so it survives a reboot.
      - When V(false), an existing O(sysctl_file) is left as it is.
    type: bool
    default: true
  sysctl_file:
    description:
      - The sysctl.d file holding the persistent value. Its directory is created when missing.
      - The file is written atomically with mode C(0644) and owned entirely by this module.
    type: path
    default: /etc/sysctl.d/60-prodgrade-pipe-user-pages.conf
attributes:
  check_mode:
    description: Reports what would change without writing to C(/proc/sys) or the sysctl file.
    support: full
  diff_mode:
    description: Shows the runtime value and the sysctl file content before and after.
    support: full
  platform:
    description: Linux hosts with C(/proc/sys/fs/pipe-user-pages-soft) (Linux 4.5 or later).
    platforms: posix
    support: full
notes:
  - C(fs.pipe-user-pages-soft) is not namespaced. Run from inside a container, the module changes
    the limit of the whole host, and it can only write it when C(/proc/sys) is writable there,
    that is in a privileged container or one started with C(systempaths=unconfined).
  - Needs root (C(become)) to change the value.
  - Processes with C(CAP_SYS_RESOURCE) or C(CAP_SYS_ADMIN) are not subject to the limits.
  - Raising the soft limit stops new hangs only. A C(runc init) that already hangs stays stuck and
    must be killed; the lasting fix is a runc upgrade to 1.0.0-rc94 or later, preferably 1.1.x.
  - sysctl.d files are applied in lexical order of their names, so a later file setting the same
    key wins at boot.
seealso:
  - name: runc issue 2828
    description: The report of C(runc init) hanging with a small fs.pipe-user-pages-soft.
    link: https://github.com/opencontainers/runc/issues/2828
  - name: runc pull request 2871
    description: The fix that reads the seccomp pipe while the filter is being written.
    link: https://github.com/opencontainers/runc/pull/2871
  - name: Kernel documentation of /proc/sys/fs
    description: Meaning and defaults of fs.pipe-user-pages-soft and fs.pipe-user-pages-hard.
    link: https://docs.kernel.org/admin-guide/sysctl/fs.html
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Keep the kernel default soft limit, lifting it only for an affected runc
  prodgrade.kubernetes.pipe_user_pages:
  become: true

- name: Remove the soft limit on every node
  prodgrade.kubernetes.pipe_user_pages:
    soft: 0
  become: true

- name: Check a runc installed outside PATH and only change the running kernel
  prodgrade.kubernetes.pipe_user_pages:
    runc_path: /opt/containerd/bin/runc
    persist: false
  become: true
  register: pipe_pages

- name: Fail the play on nodes that still run an affected runc
  ansible.builtin.assert:
    that: not pipe_pages.runc.affected
    fail_msg: "{{ pipe_pages.runc.advice }}"
"""

RETURN = r"""
soft_before:
  description: Value of fs.pipe-user-pages-soft before the module ran.
  returned: success
  type: int
  sample: 16384
soft_after:
  description:
    - Value of fs.pipe-user-pages-soft after the module ran, read back from C(/proc/sys).
    - In check mode, the value that would be set.
  returned: success
  type: int
  sample: 0
hard:
  description: Current value of fs.pipe-user-pages-hard; V(0) means no hard limit.
  returned: success
  type: int
  sample: 0
applied:
  description: The soft limit the module wanted, either O(soft) or V(0) for an affected runc.
  returned: success
  type: int
  sample: 0
reason:
  description: Why RV(applied) was chosen; the same text is written into the sysctl file.
  returned: success
  type: str
  sample: lifted to 0 (no limit) instead of the configured 16384 because runc 1.0.0-rc93 is
    affected by the runc init pipe hang
sysctl_file:
  description: Path of the managed sysctl.d file, or V(null) when O(persist=false).
  returned: success
  type: str
  sample: /etc/sysctl.d/60-prodgrade-pipe-user-pages.conf
runc:
  description: What was found out about the installed runc.
  returned: success
  type: dict
  contains:
    found:
      description: Whether a runc binary was found.
      type: bool
      sample: true
    path:
      description: Path of the runc binary that was checked, V(null) when none was found.
      type: str
      sample: /usr/bin/runc
    version:
      description: Version reported by C(runc --version), V(null) when it could not be read.
      type: str
      sample: 1.1.5+ds1
    affected:
      description:
        - Whether this runc has the C(runc init) pipe hang.
        - V(null) when no runc was found or its version could not be read.
      type: bool
      sample: false
    advice:
      description: A human readable verdict and what to do about it.
      type: str
      sample: runc 1.1.5+ds1 at /usr/bin/runc does not have the `runc init` pipe hang (only
        1.0.0-rc93 has it).
"""

import errno  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pipe_pages import (  # noqa: E402
    DEFAULT_SOFT,
    SYSCTL_HARD,
    SYSCTL_SOFT,
    PipePagesError,
    decide_applied,
    is_affected,
    parse_proc_int,
    parse_runc_version_output,
    render_sysctl_file,
    runc_advice,
    validate_soft,
)

PROC_SOFT = "/proc/sys/fs/pipe-user-pages-soft"
PROC_HARD = "/proc/sys/fs/pipe-user-pages-hard"
DEFAULT_SYSCTL_FILE = "/etc/sysctl.d/60-prodgrade-pipe-user-pages.conf"
RUNC_CANDIDATES = (
    "/usr/bin/runc",
    "/usr/sbin/runc",
    "/usr/local/bin/runc",
    "/usr/local/sbin/runc",
)
FILE_MODE = 0o644
DIR_MODE = 0o755

_READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def read_proc(module, path, name):
    """Read an integer sysctl value, failing the module with a clear message."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            module.fail_json(
                msg=f"Cannot read {name}: {path} does not exist. This kernel does not provide "
                "the setting (it needs Linux 4.5 or later) or /proc is not mounted."
            )
        module.fail_json(msg=f"Cannot read {name} from {path}: {to_native(exc)}")
    try:
        return parse_proc_int(text, path)
    except PipePagesError as exc:
        module.fail_json(msg=f"Cannot read {name}: {to_native(exc)}")


def write_proc(path, value):
    """Write one integer to a /proc/sys file the way ``echo N > file`` does."""
    data = f"{int(value)}\n".encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        written = os.write(fd, data)
    finally:
        os.close(fd)
    if written != len(data):
        raise OSError(errno.EIO, f"short write ({written} of {len(data)} bytes)")


def proc_write_error(path, value, exc):
    """Explain why writing /proc/sys failed and what to do about it."""
    msg = f"Cannot set {SYSCTL_SOFT}={value}: writing {path} failed: {to_native(exc)}."
    code = getattr(exc, "errno", None)
    if code in _READ_ONLY_ERRNOS:
        msg += (
            " /proc/sys is read-only for this process. Run the module as root (become: true);"
            " inside a container /proc/sys is mounted read-only unless the container is"
            " privileged or started with systempaths=unconfined, and as the setting is"
            " host-wide it is better applied on the host itself."
        )
    elif code == errno.ENOENT:
        msg += " The file does not exist: this kernel does not provide the setting (Linux 4.5+)."
    else:
        msg += " The kernel refused the value or the file is not a writable sysctl."
    return msg + " Nothing was changed."


def find_runc(runc_path=None):
    """Return the path of an executable runc, or None."""
    candidates = [runc_path] if runc_path else [shutil.which("runc"), *RUNC_CANDIDATES]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def inspect_runc(module, runc_path=None):
    """Locate runc and classify its version."""
    path = find_runc(runc_path)
    if path is None:
        if runc_path:
            advice = f"No executable runc at {runc_path}, so there is no runc version to check."
        else:
            advice = runc_advice(False)
        return dict(found=False, path=None, version=None, affected=None, advice=advice)
    rc, out, err = module.run_command([path, "--version"])
    version = parse_runc_version_output(out) if rc == 0 else None
    error = None
    if rc != 0:
        error = f"exit code {rc}: {(err or out or '').strip()}"
    affected = is_affected(version)
    return dict(
        found=True,
        path=path,
        version=version,
        affected=affected,
        advice=runc_advice(True, path=path, version=version, affected=affected, error=error),
    )


def runc_warning(runc, *, soft, applied, hard, lift, check_mode):
    """Text of the warning emitted for an affected runc."""
    verb = "would be" if check_mode else "is"
    if lift and applied == 0 and soft != 0:
        lead = f"{SYSCTL_SOFT} {verb} set to 0 (no limit) instead of {soft} to avoid new hangs."
    elif applied == 0:
        lead = f"{SYSCTL_SOFT} {verb} 0 (no limit), which avoids new hangs."
    else:
        lead = (
            f"lift_for_affected_runc is false, so {SYSCTL_SOFT} {verb} kept at {soft} and "
            "containers can still hang in runc init once root holds more pipe pages than that."
        )
    msg = f"{runc['advice']} {lead}"
    if applied == 0 and hard:
        msg += (
            f" {SYSCTL_HARD}={hard} still applies: once root holds that many pages, "
            "creating new pipes fails."
        )
    return msg


def read_file_state(module, path):
    """Return ``(exists, content_bytes, mode)`` of the sysctl file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False, b"", None
        module.fail_json(msg=f"Cannot inspect {path}: {to_native(exc)}")
    if not stat.S_ISREG(st.st_mode):
        module.fail_json(
            msg=f"{path} exists but is not a regular file: remove it or choose another sysctl_file."
        )
    try:
        with open(path, "rb") as handle:
            return True, handle.read(), stat.S_IMODE(st.st_mode)
    except OSError as exc:
        module.fail_json(msg=f"Cannot read {path}: {to_native(exc)}")


def write_file(module, path, data):
    """Write ``data`` to ``path`` atomically with FILE_MODE, creating the directory if needed."""
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        os.makedirs(parent, DIR_MODE)
    fd, tmp_path = tempfile.mkstemp(prefix=".pipe_user_pages.", dir=parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_path, FILE_MODE)
        module.atomic_move(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
    os.chmod(path, FILE_MODE)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            soft=dict(type="int", default=DEFAULT_SOFT),
            lift_for_affected_runc=dict(type="bool", default=True),
            runc_path=dict(type="path"),
            persist=dict(type="bool", default=True),
            sysctl_file=dict(type="path", default=DEFAULT_SYSCTL_FILE),
        ),
        supports_check_mode=True,
    )
    soft = module.params["soft"]
    lift = module.params["lift_for_affected_runc"]
    persist = module.params["persist"]
    sysctl_file = module.params["sysctl_file"] if persist else None

    try:
        validate_soft(soft)
    except PipePagesError as exc:
        module.fail_json(msg=to_native(exc))

    soft_before = read_proc(module, PROC_SOFT, SYSCTL_SOFT)
    hard = read_proc(module, PROC_HARD, SYSCTL_HARD)
    try:
        validate_soft(soft, hard)
    except PipePagesError as exc:
        module.fail_json(msg=to_native(exc), soft_before=soft_before, hard=hard)

    runc = inspect_runc(module, module.params["runc_path"])
    applied, reason = decide_applied(soft, runc["version"], runc["affected"], lift)
    if runc["affected"]:
        module.warn(
            runc_warning(
                runc,
                soft=soft,
                applied=applied,
                hard=hard,
                lift=lift,
                check_mode=module.check_mode,
            )
        )

    runtime_changed = soft_before != applied
    diff = [
        dict(
            before_header=PROC_SOFT,
            after_header=PROC_SOFT,
            before=f"{soft_before}\n",
            after=f"{applied}\n",
        )
    ]
    file_changed = False
    content = None
    if persist:
        content = render_sysctl_file(applied, reason).encode("utf-8")
        exists, current, mode = read_file_state(module, sysctl_file)
        file_changed = current != content or mode != FILE_MODE
        diff.append(
            dict(
                before_header=sysctl_file if exists else f"{sysctl_file} (absent)",
                after_header=sysctl_file,
                before=current.decode("utf-8", errors="replace"),
                after=content.decode("utf-8"),
            )
        )

    soft_after = applied if runtime_changed else soft_before
    if not module.check_mode:
        if runtime_changed:
            try:
                write_proc(PROC_SOFT, applied)
            except OSError as exc:
                module.fail_json(
                    msg=proc_write_error(PROC_SOFT, applied, exc),
                    soft_before=soft_before,
                    hard=hard,
                    runc=runc,
                )
            soft_after = read_proc(module, PROC_SOFT, SYSCTL_SOFT)
        if file_changed:
            try:
                write_file(module, sysctl_file, content)
            except Exception as exc:
                module.fail_json(
                    msg=f"Cannot write {sysctl_file}: {to_native(exc)}. The runtime value of "
                    f"{SYSCTL_SOFT} is {soft_after}.",
                    changed=runtime_changed,
                    soft_before=soft_before,
                    soft_after=soft_after,
                    hard=hard,
                    runc=runc,
                )

    result = dict(
        changed=runtime_changed or file_changed,
        soft_before=soft_before,
        soft_after=soft_after,
        hard=hard,
        applied=applied,
        reason=reason,
        sysctl_file=sysctl_file,
        runc=runc,
    )
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
