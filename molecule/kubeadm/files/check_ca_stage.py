#!/usr/bin/env python3
"""One node's side of a cluster CA rotation stage, checked file by file (kubeadm scenario).

    check_ca_stage.py --trust FILE --signer FILE [--apiserver-address IP]

--trust is the CA file every host must hold at this stage (the store's ca.crt), --signer the
one CA certificate that must have signed every leaf of the cluster CA. Checks: the node's
/etc/kubernetes/pki/ca.crt is the trust file; every kubeconfig present embeds it as its
certificate-authority-data and a client certificate --signer signed; apiserver.crt and
apiserver-kubelet-client.crt (control planes) too; with --apiserver-address, the certificate
the API server stand-in presents is the apiserver.crt now on disk (so it was restarted after
the file changed) and verifies against the trust file. Prints the problems as JSON, exit 1 if any.
"""

import argparse
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile

import yaml

PKI = "/etc/kubernetes/pki"
KUBECONFIGS = [
    f"/etc/kubernetes/{name}.conf"
    for name in ("admin", "super-admin", "controller-manager", "scheduler", "kubelet")
]


def signed_by(cert_pem, signer):
    """openssl's verdict on cert_pem against the single CA certificate in signer."""
    with tempfile.NamedTemporaryFile("w", suffix=".crt") as leaf:
        leaf.write(cert_pem)
        leaf.flush()
        run = subprocess.run(
            ["openssl", "verify", "-CAfile", signer, leaf.name],
            capture_output=True,
            text=True,
            check=False,
        )
    return run.returncode == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trust", required=True)
    parser.add_argument("--signer", required=True)
    parser.add_argument("--apiserver-address")
    args = parser.parse_args()
    with open(args.trust, encoding="ascii") as handle:
        trust = handle.read()
    problems = []
    with open(f"{PKI}/ca.crt", encoding="ascii") as handle:
        if handle.read() != trust:
            problems.append(f"{PKI}/ca.crt is not the stage's CA file")
    checked = []
    for path in KUBECONFIGS:
        if not os.path.exists(path):
            continue
        with open(path, encoding="ascii") as handle:
            config = yaml.safe_load(handle)
        cluster = config["clusters"][0]["cluster"]
        if base64.b64decode(cluster["certificate-authority-data"]).decode() != trust:
            problems.append(f"{path}: certificate-authority-data is not the stage's CA file")
        user = config["users"][0]["user"]
        client = base64.b64decode(user["client-certificate-data"]).decode()
        if not signed_by(client, args.signer):
            problems.append(f"{path}: its client certificate is not signed by the signer")
        checked.append(path)
    for name in ("apiserver.crt", "apiserver-kubelet-client.crt"):
        path = f"{PKI}/{name}"
        if os.path.exists(path):
            with open(path, encoding="ascii") as handle:
                if not signed_by(handle.read(), args.signer):
                    problems.append(f"{path} is not signed by the signer")
            checked.append(path)
    if args.apiserver_address:
        context = ssl.create_default_context(cafile=args.trust)
        context.check_hostname = False  # the address is checked by the rotation's own wait
        served = ssl.get_server_certificate((args.apiserver_address, 6443))
        with open(f"{PKI}/apiserver.crt", encoding="ascii") as handle:
            on_disk = handle.read()
        if ssl.PEM_cert_to_DER_cert(served) != ssl.PEM_cert_to_DER_cert(on_disk):
            problems.append("the API server presents another certificate than apiserver.crt")
        try:
            with (
                socket.create_connection((args.apiserver_address, 6443), timeout=5) as sock,
                context.wrap_socket(sock),
            ):
                pass
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"the API server's certificate does not verify: {exc}")
        checked.append("served apiserver certificate")
    print(json.dumps({"problems": problems, "checked": checked}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
