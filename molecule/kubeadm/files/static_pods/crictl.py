#!/usr/bin/python3
"""A crictl stand-in for the kubeadm scenario (installed as /usr/local/bin/crictl).

No container runtime runs in the test nodes: the control-plane "containers" are the systemd
units static-pod-standin@COMPONENT.service. This answers the one form the playbooks use:

    crictl ps [--name REGEX] [--state running] -q|--quiet     (options in any order)

It prints one container ID per running stand-in whose component name matches REGEX (Python
re.search, as crictl's Go regexp.MatchString). The ID is derived from the unit's main PID and
start time, so it changes whenever the "container" is recreated, and is printed like crictl's
-q output (64 hex digits). `crictl ps` without --state lists running containers, as crictl.
Anything else exits 1 with "crictl stand-in: unsupported: ...".
"""

import hashlib
import re
import subprocess
import sys

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
UNIT = "static-pod-standin@{}.service"


def unsupported(what):
    print(f"crictl stand-in: unsupported: {what}", file=sys.stderr)
    sys.exit(1)


def parse(args):
    if not args or args[0] != "ps":
        unsupported(" ".join(args) or "no command (only `ps` is supported)")
    name, state, quiet = None, "running", False
    rest = list(args[1:])
    while rest:
        arg = rest.pop(0)
        flag, eq, value = arg.partition("=")
        if flag in ("--name", "--state", "-s") and not eq:
            if not rest:
                unsupported(f"{arg} needs a value")
            value = rest.pop(0)
        if flag == "--name":
            name = value
        elif flag in ("--state", "-s"):
            state = value.lower()
        elif arg in ("-q", "--quiet"):
            quiet = True
        else:
            unsupported(f"ps option {arg!r}")
    if state != "running":
        unsupported(f"--state {state!r} (only running containers exist here)")
    if not quiet:
        unsupported("ps without -q/--quiet (the table output is not implemented)")
    try:
        pattern = re.compile(name or "")
    except re.error as exc:
        unsupported(f"--name {name!r} is not a regular expression: {exc}")
    return pattern


def running():
    """{component: ID} of the stand-ins whose unit has a main process."""
    units = [UNIT.format(c) for c in COMPONENTS]
    props = ["Id", "MainPID", "ExecMainStartTimestampMonotonic"]
    result = subprocess.run(
        ["systemctl", "show", *(f"--property={p}" for p in props), *units],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        print(f"crictl stand-in: systemctl show failed: {result.stderr.strip()}", file=sys.stderr)
        sys.exit(1)
    found = {}
    for block in result.stdout.strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit, pid = values.get("Id", ""), values.get("MainPID", "0")
        component = unit.removeprefix("static-pod-standin@").removesuffix(".service")
        if component in COMPONENTS and pid not in ("", "0"):
            seed = f"standin-{component}-{pid}-{values.get('ExecMainStartTimestampMonotonic')}"
            found[component] = hashlib.sha256(seed.encode()).hexdigest()
    return found


def main(argv):
    pattern = parse(argv[1:])
    for component, container_id in running().items():
        if pattern.search(component):
            print(container_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
