"""``etcdctl`` (API v3) as the simulator answers it: ``member list`` and ``member remove``, the two
calls ``prodgrade.kubernetes.reset`` makes, against a membership kept in the shared state file.

No etcd runs in the kubeadm scenario (the cluster's external etcd is only named in the kubeadm
configuration), so the membership is seeded once from a JSON file (``ETCDCTL_SIM_SEED``, default
``/var/lib/kubeadm-sim/etcd-seed.json``: ``{"members": [{"name", "peer_url", "client_url"}]}``,
written by the scenario from the etcd planner) and then kept under ``etcd`` in the state.

Checked as etcdctl and etcd would: ``ETCDCTL_API`` 3 (or unset), the TLS files of
``--cacert/--cert/--key`` or ``ETCDCTL_CACERT/CERT/KEY`` present, at least one endpoint
(``--endpoints`` or ``ETCDCTL_ENDPOINTS``) a current member's client URL (else etcdctl's
``context deadline exceeded``), a member ID in hex, a member that exists. Every call is logged
in ``/var/log/kubeadm-sim/etcdctl.jsonl`` (``ETCDCTL_SIM_LOG``) with the endpoints and TLS files.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import sys

from . import flags as flagmod
from .errors import SimError, UsageError, run_and_log
from .state import ClusterState, Node, append_log_record

LOG_PATH = "/var/log/kubeadm-sim/etcdctl.jsonl"
SEED_PATH = "/var/lib/kubeadm-sim/etcd-seed.json"
FLAGS = {
    "endpoints": "list",
    "write-out": "str",
    "cacert": "str",
    "cert": "str",
    "key": "str",
    "dial-timeout": "str",
    "command-timeout": "str",
    "hex": "bool",
}
SHORTS = {"w": "write-out"}


def member_id(name):
    """A stable 64-bit member ID, as etcd gives each member a random one."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") or 1


class Ctx:
    def __init__(self, node, out, err):
        self.node = node
        self.out = out
        self.err = err
        self.store = ClusterState(node.state_path)
        self.record = {}

    def say(self, text=""):
        print(text, file=self.out)


def seed(ctx):
    path = ctx.node.env.get("ETCDCTL_SIM_SEED") or ctx.node.path(SEED_PATH)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    members = [
        {
            "ID": member_id(item["name"]),
            "name": item["name"],
            "peerURLs": [item["peer_url"]],
            "clientURLs": [item["client_url"]],
        }
        for item in data.get("members", [])
    ]
    return {
        "cluster_id": member_id("cluster:" + ",".join(m["name"] for m in members)),
        "members": members,
    }


def connect(ctx, parsed, state):
    env = ctx.node.env
    api = env.get("ETCDCTL_API", "3")
    if api != "3":
        raise SimError(f"etcdctl-sim: only API v3 is simulated, ETCDCTL_API={api}")
    tls = {
        "cacert": parsed.get("cacert") or env.get("ETCDCTL_CACERT"),
        "cert": parsed.get("cert") or env.get("ETCDCTL_CERT"),
        "key": parsed.get("key") or env.get("ETCDCTL_KEY"),
    }
    ctx.record["tls"] = tls
    for name, path in tls.items():
        if not path:
            raise SimError(
                f"Error: etcdctl-sim: no --{name} (or ETCDCTL_{name.upper()}): the members "
                "accept TLS clients only"
            )
        if not os.path.isfile(ctx.node.path(path)):
            raise SimError(f"Error: open {path}: no such file or directory")
    endpoints = parsed.get("endpoints") or [
        item for item in env.get("ETCDCTL_ENDPOINTS", "").split(",") if item
    ]
    ctx.record["endpoints"] = endpoints
    if "etcd" not in state or not state["etcd"]:
        seeded = seed(ctx)
        if seeded is None:
            raise SimError(
                "Error: context deadline exceeded (etcdctl-sim: no etcd membership seeded)"
            )
        state["etcd"] = seeded
    urls = {url for member in state["etcd"]["members"] for url in member["clientURLs"]}
    if not endpoints or not any(endpoint in urls for endpoint in endpoints):
        raise SimError(
            "Error: context deadline exceeded (etcdctl-sim: no endpoint is a member: "
            f"{','.join(endpoints) or 'none given'})"
        )
    return state["etcd"]


def header(etcd, endpoints):
    serving = next(
        member for member in etcd["members"] if set(member["clientURLs"]) & set(endpoints)
    )
    return {"cluster_id": etcd["cluster_id"], "member_id": serving["ID"], "raft_term": 2}


def cmd_member(ctx, parsed):
    args = parsed.args[1:]
    if not args:
        raise UsageError('Error: unknown command "" for "etcdctl member" (list or remove)')
    output = parsed.get("write-out") or "simple"
    if output not in ("simple", "json", "table"):
        raise SimError(
            f'Error: unknown output format "{output}" (etcdctl-sim: simple, json or table)'
        )
    with ctx.store.locked() as state:
        etcd = connect(ctx, parsed, state)
        endpoints = ctx.record["endpoints"]
        if args[0] == "list":
            ctx.record["command"] = "member list"
            if output == "json":
                ctx.say(json.dumps({"header": header(etcd, endpoints), "members": etcd["members"]}))
            else:
                for member in etcd["members"]:
                    ctx.say(
                        f"{member['ID']:x}, started, {member['name']}, "
                        f"{','.join(member['peerURLs'])}, {','.join(member['clientURLs'])}, false"
                    )
            return 0
        if args[0] == "remove":
            ctx.record["command"] = "member remove"
            if len(args) != 2:
                raise SimError("Error: member ID is not provided")
            try:
                wanted = int(args[1], 16)
            except ValueError:
                raise SimError(
                    f'Error: bad member ID arg (strconv.ParseUint: parsing "{args[1]}": invalid '
                    "syntax), expecting ID in Hex"
                ) from None
            remaining = [member for member in etcd["members"] if member["ID"] != wanted]
            if len(remaining) == len(etcd["members"]):
                raise SimError("Error: etcdserver: member not found")
            removed = next(member for member in etcd["members"] if member["ID"] == wanted)
            etcd["members"] = remaining
            etcd.setdefault("removed", []).append({"name": removed["name"], "at": ctx.node.now()})
            ctx.record["removed"] = removed["name"]
            ctx.say(f"Member {wanted:x} removed from cluster {etcd['cluster_id']:x}")
            return 0
    raise UsageError(f'Error: unknown command "{args[0]}" for "etcdctl member"')


def dispatch(ctx, argv):
    parsed = flagmod.parse(argv, FLAGS, SHORTS)
    if not parsed.args:
        ctx.say("etcdctl-sim: member list | member remove <hex ID>")
        return 0
    ctx.record["command"] = parsed.args[0]
    if parsed.args[0] != "member":
        raise UsageError(f'Error: unknown command "{parsed.args[0]}" for "etcdctl"')
    return cmd_member(ctx, parsed)


def log_call(ctx, argv, start, end, code):
    record = {
        "time": datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "start": round(start, 6),
        "end": round(end, 6),
        "command": ctx.record.pop("command", ""),
        "argv": ["etcdctl", *argv],
        "host": ctx.node.hostname,
        "uid": os.geteuid(),
        "exit_code": code,
        **ctx.record,
    }
    path = ctx.node.env.get("ETCDCTL_SIM_LOG") or ctx.node.path(LOG_PATH)
    append_log_record(path, record)


def main(argv=None, environ=None, stdout=None, stderr=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = Ctx(Node(environ), stdout or sys.stdout, stderr or sys.stderr)
    return run_and_log(ctx, argv, dispatch, report_error, log_call, "etcdctl-sim")


def report_error(exc, err):
    """etcdctl's way: ``Error: ...`` on stderr, exit code 1."""
    message = exc.message
    if isinstance(exc, UsageError) and not message.startswith("Error"):
        message = f"Error: {message}"
    print(message, file=err)
    return 1
