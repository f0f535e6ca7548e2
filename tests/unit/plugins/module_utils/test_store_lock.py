# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The store lock with real processes: a live owner holds it, an ended one leaves it stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import store_lock

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")


def owner_of(process):
    """The lock owner record of a running process, as run_owner() would make it for its run."""
    return {"pid": process.pid, "start": store_lock._stat_fields(process.pid)[1]}


@pytest.fixture
def sleeper():
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_first_taker_creates_the_store_and_the_lock(tmp_path):
    store = tmp_path / "pki"
    result = store_lock.acquire(str(store))
    assert result["taken_over"] is None
    assert oct(os.stat(store).st_mode & 0o777) == "0o700"
    holder = json.loads((store / ".lock").read_text())
    assert holder["pid"] == store_lock.run_owner()["pid"]
    assert oct(os.stat(store / ".lock").st_mode & 0o777) == "0o600"


def test_the_same_run_takes_it_again(tmp_path, sleeper):
    first = store_lock.acquire(str(tmp_path), owner=owner_of(sleeper))
    since = json.loads((tmp_path / ".lock").read_text())["since"]
    again = store_lock.acquire(str(tmp_path), owner=owner_of(sleeper))
    assert first["taken_over"] is None and again["taken_over"] is None
    assert json.loads((tmp_path / ".lock").read_text())["since"] == since


def test_another_live_run_is_refused_naming_it(tmp_path, sleeper):
    store_lock.acquire(str(tmp_path), owner=owner_of(sleeper))
    started = time.monotonic()
    with pytest.raises(store_lock.StoreLocked) as refused:
        store_lock.acquire(str(tmp_path), wait_seconds=1, poll=0.2)
    assert time.monotonic() - started >= 1
    assert f"is in use by another run: ansible-playbook PID {sleeper.pid} of " in str(refused.value)
    assert "Wait for that run to finish" in str(refused.value)


def test_a_run_that_ended_leaves_a_stale_lock_that_is_taken_over(tmp_path, sleeper):
    store_lock.acquire(str(tmp_path), owner=owner_of(sleeper))
    sleeper.kill()
    sleeper.wait()
    result = store_lock.acquire(str(tmp_path))
    assert result["taken_over"]["pid"] == sleeper.pid


def test_waiting_ends_when_the_holder_ends(tmp_path, sleeper):
    store_lock.acquire(str(tmp_path), owner=owner_of(sleeper))
    killer = subprocess.Popen(["sh", "-c", f"sleep 1; kill {sleeper.pid}"])
    result = store_lock.acquire(str(tmp_path), wait_seconds=30, poll=0.2)
    killer.wait()
    assert result["taken_over"]["pid"] == sleeper.pid


def test_a_recycled_pid_is_not_the_holder(tmp_path, sleeper):
    record = dict(owner_of(sleeper), start="1")  # same PID, another start time
    store_lock.acquire(str(tmp_path), owner=record)
    assert store_lock.acquire(str(tmp_path))["taken_over"]["start"] == "1"


def test_the_owner_is_the_main_ansible_playbook_process(tmp_path):
    """An ``ansible-playbook`` that forks a worker, which runs the module through ``sh -c``."""
    collections = os.path.dirname(os.path.dirname(os.path.dirname(store_lock.__file__)))
    collections = os.path.abspath(os.path.join(collections, "..", "..", ".."))
    script = tmp_path / "ansible-playbook"
    script.write_text(
        textwrap.dedent(
            f"""\
            import os, subprocess, sys
            module = (
                "import sys, json; sys.path.insert(0, {collections!r}); "
                "from ansible_collections.prodgrade.kubernetes.plugins.module_utils import "
                "store_lock; print(json.dumps(store_lock.run_owner()))"
            )
            pid = os.fork()
            if pid == 0:  # the worker
                code = subprocess.call(["sh", "-c", '"$0" -c "$1"', sys.executable, module])
                os._exit(code)
            os.waitpid(pid, 0)
            print(os.getpid())
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    owner, main_pid = json.loads(out[0]), int(out[1])
    assert owner["pid"] == main_pid
