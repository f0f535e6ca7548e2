"""Where the simulator keeps what a real cluster keeps in its API server, and the node's settings.

There is no API server, so the "cluster" is one JSON file (default
``/var/lib/kubeadm-sim/cluster.json``; ``KUBEADM_SIM_STATE`` overrides it). Every node of a
scenario must see the same file: Molecule mounts one host directory at ``/var/lib/kubeadm-sim``
in every node container (see docs/kubeadm-contract.md). Changes are made under an exclusive
``flock`` on ``cluster.json.lock`` next to it, and written atomically.

The file holds what kubeadm stores in the cluster: the ClusterConfiguration, KubeletConfiguration
and KubeProxyConfiguration (the kubeadm-config, kubelet-config and kube-proxy ConfigMaps), the
CA certificate (cluster-info), bootstrap tokens (Secrets, in clear, as in a cluster), the uploaded
certificates and their key (the kubeadm-certs Secret), the nodes, and control-plane joins in
progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
import time

DEFAULT_VERSION = "v1.35.9"
STATE_PATH = "/var/lib/kubeadm-sim/cluster.json"
LOG_PATH = "/var/log/kubeadm-sim/calls.jsonl"
VERSION_FILE = "/etc/kubeadm-sim/version"
# A control-plane join lasts at least this long (seconds), so that joins run at the same time
# overlap and are caught; KUBEADM_SIM_CONTROL_PLANE_JOIN_SECONDS overrides it.
CONTROL_PLANE_JOIN_SECONDS = 1.0
# A join "in progress" older than this is left over from a killed process and ignored.
STALE_JOIN_SECONDS = 600


class Node:
    """The simulated host: its root prefix, clock, hostname and settings."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.env = env
        self.root = env.get("KUBEADM_SIM_ROOT", "")
        self.state_path = env.get("KUBEADM_SIM_STATE") or self.path(STATE_PATH)
        self.log_path = env.get("KUBEADM_SIM_LOG") or self.path(LOG_PATH)
        self.hostname = env.get("KUBEADM_SIM_HOSTNAME") or socket.gethostname()
        self.join_seconds = float(
            env.get("KUBEADM_SIM_CONTROL_PLANE_JOIN_SECONDS", CONTROL_PLANE_JOIN_SECONDS)
        )

    def path(self, path):
        """``path`` on this node: absolute paths are placed under KUBEADM_SIM_ROOT."""
        if self.root and os.path.isabs(path):
            return os.path.join(self.root, path.lstrip("/"))
        return path

    def now(self):
        override = self.env.get("KUBEADM_SIM_NOW")
        return float(override) if override else time.time()

    def version(self):
        text = self.env.get("KUBEADM_SIM_VERSION")
        if not text:
            try:
                with open(self.path(VERSION_FILE), encoding="utf-8") as handle:
                    text = handle.read().strip()
            except OSError:
                text = ""
        text = text or DEFAULT_VERSION
        return text if text.startswith("v") else f"v{text}"


def append_log_record(path, record):
    """Append ``record`` as one JSON line to the call log ``path`` (kubeadm, kubectl, etcdctl)."""
    os.makedirs(os.path.dirname(path) or ".", 0o755, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def write_file(path, data, mode):
    """Write ``data`` atomically with ``mode``, creating parent directories (0755)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, 0o755, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    handle, temp = tempfile.mkstemp(prefix=".kubeadm-sim-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def empty_state():
    return {
        "format": 1,
        "cluster": None,
        "nodes": {},
        "tokens": {},
        "uploaded_certs": None,
        "control_plane_joins": {},
    }


class ClusterState:
    """The shared state file; use ``with store.locked() as state:`` to read and change it."""

    def __init__(self, path):
        self.path = path

    def read(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return empty_state()

    @contextlib.contextmanager
    def locked(self, write=True):
        os.makedirs(os.path.dirname(self.path) or ".", 0o755, exist_ok=True)
        with open(f"{self.path}.lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self.read()
                before = json.dumps(state, sort_keys=True)
                yield state
                if write and json.dumps(state, sort_keys=True) != before:
                    write_file(self.path, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o600)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def live_tokens(state, now):
    """Tokens that have not expired, by id."""
    return {
        token_id: token
        for token_id, token in state.get("tokens", {}).items()
        if token.get("expires") is None or token["expires"] > now
    }
