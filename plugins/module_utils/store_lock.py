# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A lock on the PKI store for the lifetime of one ansible-playbook run.

Modules are short-lived processes, so the lock cannot be a held file descriptor. Instead the
lock file names its owner: the ansible-playbook process that runs the module (found by walking
up the process tree) with its start time, so a recycled PID is not mistaken for it. The owner
may take the lock again (the guard runs in preflight and again in the pki phase); anyone else
waits while the owner is alive. A lock whose owner has ended is stale and taken over: no unlock
step is needed, which is what makes a failed or interrupted run harmless.

Deciding and writing happen under ``flock`` on the lock file, so two runs starting together
cannot both win. Linux only for the liveness check (``/proc``); elsewhere a lock older than
``STALE_WITHOUT_PROC`` seconds is taken over.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

LOCK_NAME = ".lock"
STALE_WITHOUT_PROC = 4 * 3600


class StoreLocked(RuntimeError):
    """Another live run holds the store."""


def _stat_fields(pid):
    """(parent pid, start time in clock ticks) of a live process; None when gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = data[data.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None  # ended, only not yet reaped by its parent
    return int(fields[1]), fields[19]


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def _is_playbook(pid):
    return any(os.path.basename(arg) == b"ansible-playbook" for arg in _cmdline(pid)[:3])


def run_owner(pid=None):
    """``{"pid", "start"}`` of the ansible-playbook run this process belongs to.

    The module runs under a worker forked from the main ansible-playbook process; both carry
    its command line, so the owner is the topmost of the consecutive ansible-playbook
    ancestors. Without one (another tool runs the module), the parent process.
    """
    pid = pid or os.getpid()
    if _stat_fields(pid) is None:
        return {"pid": os.getppid(), "start": None}
    owner = None
    current = pid
    for _ in range(64):
        fields = _stat_fields(current)
        if fields is None:
            break
        parent, _start = fields
        if _is_playbook(current):
            owner = current
        elif owner is not None:
            break
        if parent <= 1:
            break
        current = parent
    if owner is None:
        owner = os.getppid()
    fields = _stat_fields(owner)
    return {"pid": owner, "start": fields[1] if fields else None}


def _alive(holder):
    if holder.get("host") != socket.gethostname():
        return True  # cannot tell: another machine's run (a shared store) is honoured
    if holder.get("start") is None or not os.path.isdir("/proc"):
        return time.time() - float(holder.get("since", 0)) < STALE_WITHOUT_PROC
    fields = _stat_fields(holder.get("pid"))
    return fields is not None and fields[1] == holder.get("start")


def describe(holder, path):
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("since", 0))))
    return (
        f"ansible-playbook PID {holder.get('pid')} of {holder.get('user')}@{holder.get('host')}, "
        f"since {since} ({path})"
    )


def acquire(store, wait_seconds=0, owner=None, poll=0.5):
    """Take (or keep) the lock on ``store`` for this run; create the store (0700) if missing.

    Returns ``{"path", "taken_over": holder or None}``. Raises StoreLocked naming the holder
    when another live run still has it after ``wait_seconds``.
    """
    os.makedirs(store, 0o700, exist_ok=True)
    path = os.path.join(store, LOCK_NAME)
    owner = owner or run_owner()
    me = {
        "pid": owner["pid"],
        "start": owner["start"],
        "host": socket.gethostname(),
        "user": os.environ.get("USER") or str(os.getuid()),
    }
    deadline = time.monotonic() + max(0, wait_seconds)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.read(fd, 65536)
            try:
                holder = json.loads(raw.decode("utf-8")) if raw.strip() else None
            except ValueError:
                holder = None
            ours = holder is not None and all(
                holder.get(key) == me[key] for key in ("pid", "start", "host")
            )
            if holder is None or ours or not _alive(holder):
                record = dict(me, since=holder["since"] if ours else time.time())
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(record).encode("utf-8"))
                os.fsync(fd)
                return {"path": path, "taken_over": None if (ours or holder is None) else holder}
        finally:
            os.close(fd)
        if time.monotonic() >= deadline:
            raise StoreLocked(
                f"The PKI store {store} is in use by another run: {describe(holder, path)}. "
                "Two runs must not write one store at once. Wait for that run to finish (or "
                "give pki_store_lock_wait more seconds to wait); if it is gone and the lock "
                f"stayed (another machine sharing the store), remove {path}."
            )
        time.sleep(poll)
