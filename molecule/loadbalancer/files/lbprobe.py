#!/usr/bin/python3
"""Measurements for the loadbalancer scenarios, run on the nodes (ansible.builtin.script).
Each command prints one JSON object; times are seconds on the machine's clock, which all the
node containers share, so a time taken on one node bounds a wait on another.

    lbprobe.py requests URL [--count N] [--interval S] [--ca FILE] [--verify-name NAME]
        N HTTPS GETs, each on a new connection, the certificate verified with the CA for the
        URL's host (or NAME): {"ok": n, "failed": n, "errors": [...], "answers": {body: count}}
    lbprobe.py wait-server SOCKET SERVER UP|DOWN [--since T] [--timeout S]
        polls haproxy's `show stat` until SERVER of backend kube-apiserver has that status:
        {"status": ..., "at": when seen, "elapsed": seconds since T}; exit 1 on timeout.
        Started before the change it waits for (async), "at" times the change itself.
    lbprobe.py servers SOCKET
        {"server": "status", ...} of backend kube-apiserver
    lbprobe.py wait-vip ADDRESS held|released [--since T] [--timeout S]
        polls this node's addresses until it holds (or no longer holds) ADDRESS; output and
        exit status as wait-server
"""

import argparse
import collections
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse


def get(url, context, name):
    """One GET on a new connection; the certificate verified for `name` (default: URL host)."""
    parts = urllib.parse.urlsplit(url)
    raw = socket.create_connection((parts.hostname, parts.port or 443), timeout=5)
    with context.wrap_socket(raw, server_hostname=name or parts.hostname) as tls:
        tls.sendall(f"GET {parts.path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode()
    if " 200 " not in status:
        raise RuntimeError(status)
    return body.decode().strip()


def requests(args):
    context = ssl.create_default_context(cafile=args.ca)
    answers = collections.Counter()
    errors = []
    for index in range(args.count):
        if index and args.interval:
            time.sleep(args.interval)
        try:
            answers[get(args.url, context, args.verify_name)] += 1
        # Every failure is reported, none ends the run.
        except Exception as exc:
            errors.append(f"{time.time():.3f} {type(exc).__name__}: {exc}")
    return {"ok": sum(answers.values()), "failed": len(errors), "errors": errors,
            "answers": dict(answers)}  # fmt: skip


def show_stat(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(path)
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
    servers = [r for r in rows if r["pxname"] == "kube-apiserver"]
    return {r["svname"]: r["status"] for r in servers if r["svname"] not in ("FRONTEND", "BACKEND")}


def observed(since, **result):
    """The result, with when it was observed ("at") and how long after `since` ("elapsed")."""
    now = time.time()
    result["at"] = round(now, 3)
    if since:
        result["elapsed"] = round(now - since, 2)
    return result


def wait_server(args):
    deadline = time.time() + args.timeout
    while True:
        status = show_stat(args.socket).get(args.server)
        if status == args.state:
            return observed(args.since, server=args.server, status=status)
        if time.time() > deadline:
            print(json.dumps({"server": args.server, "status": status, "timeout": args.timeout}))
            sys.exit(1)
        time.sleep(0.1)


def holds(address):
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "to", f"{address}/32"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return bool(out.strip())


def wait_vip(args):
    deadline = time.time() + args.timeout
    want = args.state == "held"
    while holds(args.address) != want:
        if time.time() > deadline:
            print(
                json.dumps({"address": args.address, "state": args.state, "timeout": args.timeout})
            )
            sys.exit(1)
        time.sleep(0.1)
    return observed(args.since, address=args.address, state=args.state)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    req = sub.add_parser("requests")
    req.add_argument("url")
    req.add_argument("--count", type=int, default=30)
    req.add_argument("--interval", type=float, default=0)
    req.add_argument("--ca", default="/etc/kubernetes/pki/ca.crt")
    req.add_argument("--verify-name", help="the name to verify the certificate for")
    srv = sub.add_parser("wait-server")
    srv.add_argument("socket")
    srv.add_argument("server")
    srv.add_argument("state", choices=["UP", "DOWN"])
    srv.add_argument("--since", type=float)
    srv.add_argument("--timeout", type=float, default=30)
    lst = sub.add_parser("servers")
    lst.add_argument("socket")
    vip = sub.add_parser("wait-vip")
    vip.add_argument("address")
    vip.add_argument("state", choices=["held", "released"])
    vip.add_argument("--since", type=float)
    vip.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    if args.command == "requests":
        result = requests(args)
    elif args.command == "wait-server":
        result = wait_server(args)
    elif args.command == "servers":
        result = show_stat(args.socket)
    else:
        result = wait_vip(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
