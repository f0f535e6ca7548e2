#!/usr/bin/env python3
"""An etcd client for the rotation test: one write and one read every 100 ms until told to stop.

    client_loop.py ENDPOINTS PKI_DIR WORK_DIR

Uses the node's health-check client certificate, as a real client would: it keeps its own copy
and reloads it when the node's files change, switching only once the new set works (files are
replaced one at a time, so a half-replaced set is never used). Every write and read with the
set in use counts: an operation fails when ATTEMPTS tries in about a second all end in a non-zero
etcdctl exit or a value that does not read back; tries that needed another are counted apart.
Stops when WORK_DIR/stop exists; writes WORK_DIR/result.json; WORK_DIR/running once it works.
"""

import json
import os
import shutil
import subprocess
import sys
import time

ENDPOINTS, PKI, WORK = sys.argv[1:4]
# Tries of one operation before it counts as failed (about a second, with the pauses).
ATTEMPTS = 3
SOURCES = {
    "ca": f"{PKI}/etcd/ca.crt",
    "cert": f"{PKI}/etcd/healthcheck-client.crt",
    "key": f"{PKI}/etcd/healthcheck-client.key",
}


def etcdctl(creds, *args):
    return subprocess.run(
        ["etcdctl", f"--endpoints={ENDPOINTS}", f"--cacert={creds}/ca", f"--cert={creds}/cert",
         f"--key={creds}/key", "--dial-timeout=2s", "--command-timeout=3s", *args],
        capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"), check=False,
    )  # fmt: skip


def stamp():
    return tuple(os.stat(path).st_mtime_ns for path in SOURCES.values())


def copy(target):
    os.makedirs(target, exist_ok=True)
    for name, path in SOURCES.items():
        shutil.copyfile(path, f"{target}/{name}")
    return target


def main():
    creds, seen, generation = copy(f"{WORK}/creds-0"), stamp(), 0
    ops = failures = reloads = retries = 0
    errors = []
    start = time.monotonic()
    number = 0
    while not os.path.exists(f"{WORK}/stop"):
        tick = time.monotonic()
        if stamp() != seen:
            candidate = copy(f"{WORK}/creds-{generation + 1}")
            if etcdctl(candidate, "get", "rotation/probe").returncode == 0:
                creds, seen, generation = candidate, stamp(), generation + 1
                reloads += 1
        number += 1
        key, value = f"rotation/k{number:06d}", f"v{number}"
        for args, check in (
            (("put", key, value), None),
            (("get", key, "--print-value-only"), value),
        ):
            ops += 1
            # As etcd's own clients do when a member goes away: try again, within a second.
            for attempt in range(ATTEMPTS):
                result = etcdctl(creds, *args)
                ok = result.returncode == 0 and (check is None or result.stdout.strip() == check)
                if ok:
                    break
                retries += attempt < ATTEMPTS - 1
                if len(errors) < 10:
                    errors.append(f"{' '.join(args)}: rc={result.returncode} "
                                  f"{result.stderr.strip()[-200:]}")  # fmt: skip
                time.sleep(0.3)
            failures += not ok
        if number == 3:
            open(f"{WORK}/running", "w").close()
        time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
    with open(f"{WORK}/result.json", "w") as handle:
        json.dump(
            {
                "ops": ops,
                "failures": failures,
                "retries": retries,
                "errors": errors,
                "reloads": reloads,
                "keys": number,
                "seconds": round(time.monotonic() - start, 1),
            },
            handle,
        )


if __name__ == "__main__":
    main()
