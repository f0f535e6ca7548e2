"""The PKI kubeadm expects on a control-plane node, checked file by file.

With every file provided (the collection's pki phase makes them on the controller), kubeadm
"uses the existing" ones and generates nothing. The simulator checks what kubeadm checks
(presence, CA signature, key match, the API server certificate's SANs, kubeconfig CAs) and what
this collection promises on top (keys and kubeconfigs 0600, nothing left for kubeadm to generate
on a host). Messages quote kubeadm where kubeadm has one; the rest start with ``kubeadm-sim:``.
"""

from __future__ import annotations

import os

from . import manifests, pkicheck
from .pkicheck import Certificate, PKIProblem

LEAVES = (
    # (base name, signing CA base name, kubeadm's UX name)
    ("apiserver", "ca", "apiserver"),
    ("apiserver-kubelet-client", "ca", "apiserver-kubelet-client"),
    ("front-proxy-client", "front-proxy-ca", "front-proxy-client"),
)
LOCAL_ETCD_LEAVES = (
    ("apiserver-etcd-client", "etcd/ca", "apiserver-etcd-client"),
    ("etcd/server", "etcd/ca", "etcd/server"),
    ("etcd/peer", "etcd/ca", "etcd/peer"),
    ("etcd/healthcheck-client", "etcd/ca", "etcd/healthcheck-client"),
)


class Report:
    def __init__(self):
        self.lines = []
        self.problems = []
        self.warnings = []
        self.ca = None
        self.ca_key = False


def url(host, port):
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def apiserver_names(cluster, node_name, advertise):
    """Every SAN kubeadm requires of the API server certificate (certs.GetAPIServerAltNames)."""
    from .config import split_host_port

    d = manifests.cluster_defaults(cluster)
    names = [
        node_name,
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{d['dnsDomain']}",
        manifests.service_ip(d["serviceSubnet"], 1),
        advertise,
    ]
    endpoint = cluster.get("controlPlaneEndpoint")
    if endpoint:
        names.append(split_host_port(endpoint, 6443)[0])
    names += list((cluster.get("apiServer") or {}).get("certSANs") or [])
    return list(dict.fromkeys(names))


class PKIChecker:
    """Checks one node's files; ``shown`` paths are the node's own (without the test root)."""

    def __init__(self, node, cluster):
        self.node = node
        self.cluster = cluster
        self.cert_dir = manifests.cluster_defaults(cluster)["certificatesDir"]
        self.report = Report()

    def shown(self, relative):
        return f"{self.cert_dir}/{relative}"

    def real(self, shown_path):
        return self.node.path(shown_path)

    def exists(self, shown_path):
        return os.path.exists(self.real(shown_path))

    def private_mode(self, shown_path):
        problem = pkicheck.private_mode_problem(self.real(shown_path), shown_path)
        if problem:
            self.report.problems.append(problem)

    def load(self, shown_path, what):
        try:
            return Certificate(self.real(shown_path))
        except PKIProblem as exc:
            message = str(exc).replace(self.real(shown_path), shown_path)
            self.report.problems.append(f"failure loading {what}: {message}")
            return None

    def key_matches(self, cert, key_shown, base):
        try:
            spki = pkicheck.key_spki(self.real(key_shown))
        except PKIProblem as exc:
            self.report.problems.append(str(exc).replace(self.real(key_shown), key_shown))
            return
        if spki != cert.spki:
            self.report.problems.append(f"kubeadm-sim: {key_shown} does not match {base}.crt")
        self.private_mode(key_shown)

    def missing(self, shown_path, ca_key_shown):
        if self.exists(ca_key_shown):
            return (
                f"kubeadm-sim: {shown_path} is missing: kubeadm would generate it on this host; "
                "the pki phase must provide it (keys are made on the controller only)"
            )
        return (
            f"{shown_path} is missing and {ca_key_shown} is absent (external CA mode): kubeadm "
            "cannot create it; the pki phase must provide it"
        )

    def check_ca(self, base, what, key_required=False):
        cert_shown = self.shown(f"{base}.crt")
        key_shown = self.shown(f"{base}.key")
        if not self.exists(cert_shown):
            self.report.problems.append(
                f"failure loading certificate for {what}: couldn't load the certificate file "
                f"{cert_shown}: open {cert_shown}: no such file or directory"
            )
            return None, False
        cert = self.load(cert_shown, f"certificate for {what}")
        if cert is None:
            return None, False
        has_key = self.exists(key_shown)
        if has_key:
            self.key_matches(cert, key_shown, base)
            self.report.lines.append(f"[certs] Using existing {base} certificate authority")
        elif key_required:
            self.report.problems.append(f"kubeadm-sim: {key_shown} is missing; it is needed here")
        else:
            self.report.lines.append(
                f"[certs] Using existing {base} certificate authority (external: no {base}.key)"
            )
        return cert, has_key

    def check_leaf(self, base, ca_base, ca_cert, names=()):
        cert_shown = self.shown(f"{base}.crt")
        key_shown = self.shown(f"{base}.key")
        ca_key_shown = self.shown(f"{ca_base}.key")
        for path in (cert_shown, key_shown):
            if not self.exists(path):
                self.report.problems.append(self.missing(path, ca_key_shown))
                return
        cert = self.load(cert_shown, f"{base} certificate")
        if cert is None:
            return
        if ca_cert is not None:
            reason = pkicheck.signed_by(
                self.real(cert_shown), self.real(self.shown(f"{ca_base}.crt"))
            )
            if reason:
                self.report.problems.append(
                    f"certificate {base} is not signed by corresponding CA ({reason})"
                )
        self.key_matches(cert, key_shown, base)
        missing = [name for name in names if not cert.valid_for(name)]
        if missing:
            valid = ", ".join(cert.names())
            self.report.problems.append(
                f"certificate {base} is invalid: x509: certificate is valid for {valid}, "
                f"not {missing[0]}"
                + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            )
        self.report.lines.append(f"[certs] Using existing {base} certificate and key on disk")

    def check_sa(self):
        key_shown, pub_shown = self.shown("sa.key"), self.shown("sa.pub")
        ca_key_shown = self.shown("ca.key")
        if not (self.exists(key_shown) and self.exists(pub_shown)):
            for path in (key_shown, pub_shown):
                if not self.exists(path):
                    self.report.problems.append(self.missing(path, ca_key_shown))
            return
        try:
            if pkicheck.key_spki(self.real(key_shown)) != pkicheck.public_key_spki(
                self.real(pub_shown)
            ):
                self.report.problems.append(f"kubeadm-sim: {pub_shown} does not match {key_shown}")
        except PKIProblem as exc:
            self.report.problems.append(str(exc))
        self.private_mode(key_shown)
        self.report.lines.append('[certs] Using the existing "sa" key')

    def check_external_etcd(self, external):
        ca, cert, key = (external.get(name) for name in ("caFile", "certFile", "keyFile"))
        self.report.lines.append(
            "[certs] External etcd mode: Skipping etcd/ca certificate authority generation"
        )
        if not (ca and cert and key):
            return
        if not all(self.exists(path) for path in (ca, cert, key)):
            return  # preflight (ExternalEtcdClientCertificates) reports missing files
        cert_obj = self.load(cert, "external etcd client certificate")
        if cert_obj is None:
            return
        reason = pkicheck.signed_by(self.real(cert), self.real(ca))
        if reason:
            self.report.problems.append(
                f"kubeadm-sim: etcd.external.certFile {cert} is not signed by "
                f"etcd.external.caFile {ca} ({reason})"
            )
        self.key_matches(
            cert_obj, key, os.path.basename(cert)[: -len(".crt")] if cert.endswith(".crt") else cert
        )

    def check_control_plane(self, node_name, advertise, with_ca_key_warning=False):
        """Every certificate, key and CA of a control-plane node."""
        report = self.report
        ca, ca_key = self.check_ca("ca", "CA")
        report.ca, report.ca_key = ca, ca_key
        if ca is None:
            return report
        if not ca_key and with_ca_key_warning:
            report.warnings.append(
                "assuming external key for CA: couldn't load the private key file "
                f"{self.shown('ca.key')}"
            )
        front_ca, _ = self.check_ca("front-proxy-ca", "front-proxy CA")
        for base, ca_base, _ in LEAVES:
            signer = ca if ca_base == "ca" else front_ca
            names = (
                apiserver_names(self.cluster, node_name, advertise) if base == "apiserver" else ()
            )
            self.check_leaf(base, ca_base, signer, names)
        self.check_sa()
        etcd = self.cluster.get("etcd") or {}
        if etcd.get("external"):
            self.check_external_etcd(etcd["external"])
        else:
            etcd_ca, _ = self.check_ca("etcd/ca", "etcd CA")
            for base, ca_base, _ in LOCAL_ETCD_LEAVES:
                self.check_leaf(base, ca_base, etcd_ca)
        return report

    def check_kubeconfigs(self, files, loader, writer, cluster_name, note):
        """Existing kubeconfigs must embed the CA; missing ones are written when kubeadm could
        make them (the CA key is here). ``files``: [(shown path, expected server, user)]."""
        report = self.report
        for shown, server, user in files:
            real = self.node.path(shown)
            if os.path.exists(real):
                try:
                    current_server, ca_der = pkicheck.read_kubeconfig(real, loader)
                except PKIProblem as exc:
                    report.problems.append(str(exc).replace(real, shown))
                    continue
                if report.ca is not None and ca_der != report.ca.der:
                    report.problems.append(
                        f'a kubeconfig file "{shown}" exists already but has got the wrong CA cert'
                    )
                    continue
                if current_server != server:
                    report.warnings.append(
                        f'a kubeconfig file "{shown}" exists already but has an unexpected API '
                        f"Server URL: expected: {server}, got: {current_server}"
                    )
                self.private_mode(shown)
                report.lines.append(f'[kubeconfig] Using existing kubeconfig file: "{shown}"')
            elif report.ca_key and report.ca is not None:
                content = manifests.kubeconfig(cluster_name, server, report.ca.pem, user, note)
                writer(shown, content)
                report.lines.append(
                    f'[kubeconfig] Writing "{os.path.basename(shown)}" kubeconfig file'
                )
            else:
                report.problems.append(
                    f"kubeadm-sim: {shown} is missing and {self.shown('ca.key')} is absent: "
                    "kubeadm cannot make it (with an external CA every kubeconfig must be provided)"
                )
        return report
