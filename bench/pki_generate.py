#!/usr/bin/env python3
"""Time the PKI engine for 3 and 100 nodes (ECDSA and RSA), first run and idempotent run.

    .venv/bin/python bench/pki_generate.py [--repeat N]

Calls the same code the `prodgrade.kubernetes.pki` module runs, on a throwaway store, and
prints the median of N runs for each case, and ratios against the 3-node ECDSA first run.
Absolute seconds depend on the machine; quote the ratios.
"""

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".cache" / "collections"))

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki  # noqa: E402


def params(store, nodes, algorithm):
    control_plane = [{"host": f"cp{i}", "name": f"cp{i}", "ip": f"10.0.0.{i}"} for i in (1, 2, 3)]
    workers = [
        {"host": f"w{i}", "name": f"w{i}", "ip": f"10.0.{1 + i // 250}.{i % 250 + 1}"}
        for i in range(nodes - 3)
    ]
    return {
        "store": str(store), "cluster_name": "bench", "dns_domain": "cluster.local",
        "service_cidr": "10.96.0.0/12", "api_endpoint": "api.bench.test:6443",
        "apiserver_bind_port": 6443, "extra_sans": [], "control_plane": control_plane,
        "etcd": control_plane, "nodes": control_plane + workers, "key_algorithm": algorithm,
        "rsa_key_size": 2048, "ca_validity_days": 3650, "cert_validity_days": 365,
        "renew_before_days": 30, "external_ca": False, "ca_key_passphrase": None,
        "pki_dir": "/etc/kubernetes/pki", "kubeconfig_dir": "/etc/kubernetes", "etcd_owner": "etcd",
    }  # fmt: skip


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"{args.repeat} runs per case (median)")  # fmt: skip
    results = {}
    for algorithm in ("ecdsa", "rsa"):
        for nodes in (3, 100):
            first, second = [], []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    p = params(Path(tmp) / "pki", nodes, algorithm)
                    first.append(timed(lambda p=p: pki.converge(p)))
                    second.append(timed(lambda p=p: pki.converge(p)))
            results[(algorithm, nodes)] = (statistics.median(first), statistics.median(second))
    base = results[("ecdsa", 3)][0]
    print(f"{'case':<16}{'first run':>12}{'second run':>12}{'first/base':>12}")
    for (algorithm, nodes), (first, second) in results.items():
        print(f"{algorithm + ' ' + str(nodes) + ' nodes':<16}{first:>11.3f}s{second:>11.3f}s"
              f"{first / base:>12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
