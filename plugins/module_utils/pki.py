# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cluster PKI behind the ``pki`` module: plan, validate, inspect, issue, write.

Everything happens in one store directory on the controller, laid out like kubeadm's
``/etc/kubernetes/pki`` and ``/etc/kubernetes``: files shared by several hosts at the top,
files of one host under ``hosts/<inventory host>/``. ``converge()`` runs in three phases:

1. ``build_config()`` checks every input and turns it into a ``Config``; nothing is read yet.
2. Every file of the plan is read and judged: existing CAs are checked (a CA is never
   replaced), each leaf certificate and kubeconfig is kept or marked for (re)issue with the
   reason. Any problem found so far is raised as one ``PKIError`` before anything is written.
3. Outside check mode, new keys and certificates are made in memory, then only the files
   whose bytes or mode differ are written, atomically.

``host_files()`` lists, per inventory host, which store file goes where on that host.
This file does not import Ansible; the module turns ``PKIError`` into ``fail_json``.
"""

from __future__ import annotations

import base64
import datetime
import errno
import inspect
import ipaddress
import json
import os
import re
import secrets
import stat
import traceback

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_recover import (
    RECOVERY_RECORD,
    lost_keys_in,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import (
    HOST_MARKER,
    STORE_MARKER,
    TRUST_FILES,
    marker_content,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_files import write_atomic

ROTATE_CA_URL = "https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/"

DEFAULTS = {
    "cluster_name": "kubernetes",
    "dns_domain": "cluster.local",
    "service_cidr": "10.96.0.0/12",
    "apiserver_bind_port": 6443,
    "control_plane_kubelet_local": True,
    "extra_sans": [],
    "etcd": [],
    "key_algorithm": "ecdsa",
    "rsa_key_size": 2048,
    "ca_validity_days": 3650,
    "cert_validity_days": 365,
    "renew_before_days": 30,
    "external_ca": False,
    "ca_key_passphrase": None,
    "pki_dir": "/etc/kubernetes/pki",
    "kubeconfig_dir": "/etc/kubernetes",
    "etcd_owner": "etcd",
    "servers": [],
    "servers_only": False,
    "host_files_only": False,
}
DEFAULT_API_PORT = 6443
# Upper bound of the *_days options (100 years); X.509 dates end in 9999.
MAX_DAYS = 36500
KEY_ALGORITHMS = ("ecdsa", "rsa")
RSA_KEY_SIZES = (2048, 3072, 4096)
# Certificates start this long before "now", so hosts whose clock lags a little accept them.
CLOCK_SKEW = datetime.timedelta(minutes=5)

KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700

# (name, certificate, key, common name) of the three CAs, in kubeadm's layout.
CAS = (
    ("ca", "ca.crt", "ca.key", "kubernetes-ca"),
    ("etcd-ca", "etcd/ca.crt", "etcd/ca.key", "etcd-ca"),
    ("front-proxy-ca", "front-proxy-ca.crt", "front-proxy-ca.key", "kubernetes-front-proxy-ca"),
)
SA_KEY = "sa.key"
SA_PUB = "sa.pub"

SERVER_AUTH = "serverAuth"
CLIENT_AUTH = "clientAuth"

_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$")
_OWNER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")
# Scalars of a kubeconfig that may be written without quotes.
_PLAIN_YAML_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._:/@-]*$")
_YAML_KEYWORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


class PKIError(ValueError):
    """Input or store content the module cannot work with; the message says how to fix it."""


def utcnow():
    """The current time, timezone-aware UTC. The only clock of this file (tests freeze it)."""
    return datetime.datetime.now(datetime.timezone.utc)


def isoformat(moment):
    """ISO 8601 in UTC with a ``Z``, to the second."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- input validation -----------------------------------------------------------------------


def parse_ip(value):
    """Return an ``ipaddress`` address for ``value``, or None when it is not a plain address."""
    if not isinstance(value, str) or "%" in value or "/" in value:
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_dns_name(value, wildcard=False):
    """Whether ``value`` is an RFC 1123 host name (253 characters at most, labels of letters,
    digits and inner hyphens, 63 at most each, a last label that is not all digits).

    With ``wildcard`` a single leading ``*.`` is accepted as well.
    """
    if not isinstance(value, str) or not value:
        return False
    if wildcard and value.startswith("*."):
        value = value[2:]
    if len(value) > 253:
        return False
    labels = value.split(".")
    if not all(_LABEL_RE.match(label) for label in labels):
        return False
    # 1.2.3 or 10.0.0.256 is a mistyped address, not a name (RFC 1123 section 2.1).
    return not labels[-1].isdigit()


def parse_api_endpoint(value):
    """Split ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address.

    Returns ``(host, port)``; ``host`` is lower case (names) or canonical (addresses) and the
    port defaults to 6443. Raises PKIError with what is wrong.
    """
    usage = (
        "give it as host, host:port, [IPv6]:port or a bare IPv6 address, for example "
        "k8s-api.example.com:6443"
    )
    if not isinstance(value, str) or not value.strip():
        raise PKIError(f"api_endpoint is empty: {usage}.")
    text = value.strip()
    if "://" in text or "/" in text:
        raise PKIError(f"api_endpoint {value!r} looks like a URL: {usage}, without scheme or path.")
    port_text = None
    if text.startswith("["):
        match = re.match(r"^\[([^\]]+)\](?::([^:]*))?$", text)
        if not match:
            raise PKIError(f"api_endpoint {value!r} is not a valid [IPv6]:port: {usage}.")
        host, port_text = match.group(1), match.group(2)
        address = parse_ip(host)
        if address is None or address.version != 6:
            raise PKIError(
                f"api_endpoint {value!r}: {host!r} in brackets is not an IPv6 address: {usage}."
            )
    elif text.count(":") > 1:
        host = text
        if parse_ip(host) is None:
            raise PKIError(f"api_endpoint {value!r} is not a valid IPv6 address: {usage}.")
    elif ":" in text:
        host, port_text = text.split(":", 1)
    else:
        host = text
    port = DEFAULT_API_PORT
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise PKIError(
                f"api_endpoint {value!r} has port {port_text!r}: the port must be a number "
                "from 1 to 65535."
            )
        port = int(port_text)
    address = parse_ip(host)
    if address is not None:
        return str(address), port
    if not is_dns_name(host):
        raise PKIError(
            f"api_endpoint {value!r}: {host!r} is neither an IP address nor a valid DNS name "
            "(RFC 1123: labels of letters, digits and hyphens, 63 characters at most each, not "
            f"starting or ending with a hyphen, 253 characters in all): {usage}."
        )
    return host.lower(), port


def service_ips(service_cidr):
    """The first address of each service CIDR (``10.96.0.0/12`` -> ``10.96.0.1``).

    ``service_cidr`` may hold one CIDR or two of different families separated by a comma
    (dual stack). Raises PKIError when it cannot be used.
    """
    parts = [part.strip() for part in str(service_cidr or "").split(",")]
    if not any(parts) or not all(parts):
        raise PKIError(
            f"service_cidr {service_cidr!r} is empty or has an empty entry: give one CIDR such "
            "as 10.96.0.0/12, or two of different families separated by a comma for dual stack."
        )
    if len(parts) > 2:
        raise PKIError(
            f"service_cidr {service_cidr!r} has {len(parts)} entries: Kubernetes takes one "
            "CIDR, or two (one IPv4, one IPv6) for dual stack."
        )
    result = []
    families = set()
    for part in parts:
        try:
            if "/" not in part:
                raise ValueError("no prefix length")
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise PKIError(
                f"service_cidr entry {part!r} is not a CIDR: write it as address/prefix, for "
                "example 10.96.0.0/12 or fd00:10:96::/112."
            ) from None
        if network.num_addresses < 2:
            raise PKIError(
                f"service_cidr entry {part!r} has no room for the API server's service address: "
                "use a larger network, for example a /12 or /16."
            )
        if network.version in families:
            raise PKIError(
                f"service_cidr {service_cidr!r} has two IPv{network.version} networks: dual "
                "stack takes one IPv4 and one IPv6 CIDR."
            )
        families.add(network.version)
        result.append(str(network.network_address + 1))
    return result


class HostEntry:
    """One host of ``control_plane``, ``etcd`` or ``nodes``."""

    __slots__ = ("extra_names", "host", "ip", "name")

    def __init__(self, host, name, ip, extra_names=()):
        self.host = host
        self.name = name
        self.ip = ip
        self.extra_names = tuple(extra_names)

    def __repr__(self):
        return f"HostEntry({self.host!r}, {self.name!r}, {self.ip!r})"


class Config:
    """The validated input of one run. Built by ``build_config()`` only."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @property
    def api_server(self):
        return https_url(self.api_host, self.api_port)


def https_url(host, port):
    """``https://host:port`` with IPv6 addresses in brackets."""
    address = parse_ip(host)
    if address is not None and address.version == 6:
        host = f"[{address}]"
    return f"https://{host}:{port}"


def _san(value, what, problems, wildcard=False):
    """Return ``DNS:name`` or ``IP:address`` for an extra name, or note a problem."""
    if not isinstance(value, str):
        problems.append(f"{what}: {value!r} is not a string: give a DNS name or an IP address.")
        return None
    address = parse_ip(value)
    if address is not None:
        return f"IP:{address}"
    if is_dns_name(value, wildcard=wildcard):
        return f"DNS:{value.lower()}"
    allowed = " (a single leading '*.' is allowed)" if wildcard else ""
    problems.append(
        f"{what}: {value!r} is neither a valid IP address nor a valid DNS name (RFC 1123: "
        "labels of letters, digits and hyphens, 63 characters at most each, not starting or "
        f"ending with a hyphen, 253 characters in all{allowed}): correct it or remove it."
    )
    return None


def _host_entries(items, list_name, problems, with_extra_names=False):
    """Validate one of the host lists; return its HostEntry objects (valid ones only)."""
    if items is None:
        items = []
    if not isinstance(items, (list, tuple)):
        problems.append(f"{list_name} must be a list of {{host, name, ip}} entries.")
        return []
    entries = []
    seen = set()
    for index, item in enumerate(items):
        where = f"{list_name}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be a dict with host, name and ip.")
            continue
        missing = [key for key in ("host", "name", "ip") if not item.get(key)]
        if missing:
            problems.append(
                f"{where} has no {', '.join(missing)}: every entry needs host, name, ip."
            )
            continue
        host, name, ip_text = (str(item[key]) for key in ("host", "name", "ip"))
        where = f"{list_name} host {host!r}"
        ok = True
        if host in (".", "..") or "/" in host or "\0" in host:
            problems.append(
                f"{where}: the inventory name cannot be used as a directory name in the store "
                "(it is '.' or '..' or holds '/'): rename the inventory host."
            )
            ok = False
        if host in seen:
            problems.append(f"{list_name}: host {host!r} is listed twice: list each host once.")
            ok = False
        seen.add(host)
        if not is_dns_name(name):
            problems.append(
                f"{where}: node name {name!r} is not a valid DNS name (RFC 1123 labels of "
                "letters, digits and hyphens, 63 characters at most each): set a valid node_name."
            )
            ok = False
        elif name != name.lower():
            problems.append(
                f"{where}: node name {name!r} has upper-case letters, which Kubernetes node "
                f"names cannot have: use {name.lower()!r}."
            )
            ok = False
        address = parse_ip(ip_text)
        if address is None:
            problems.append(
                f"{where}: ip {ip_text!r} is not an IP address: set node_ip to the address "
                "Kubernetes and etcd use on this host."
            )
            ok = False
        elif address.is_unspecified or address.is_multicast:
            problems.append(
                f"{where}: ip {ip_text!r} cannot be a host address: set node_ip to the address "
                "Kubernetes and etcd use on this host."
            )
            ok = False
        extra = []
        if with_extra_names:
            raw = item.get("extra_names") or []
            if not isinstance(raw, (list, tuple)):
                problems.append(f"{where}: extra_names must be a list of DNS names or IPs.")
                raw = []
            for value in raw:
                san = _san(value, f"{where} extra_names", problems)
                ok = ok and san is not None
                extra.append(san)
        if ok:
            entries.append(HostEntry(host, name, str(address), extra))
    return entries


def _cross_check(lists, problems):
    """One inventory host has one name and ip everywhere; names and ips are not shared."""
    by_host = {}
    by_name = {}
    by_ip = {}
    reported = set()
    for list_name, entries in lists:
        for entry in entries:
            first = by_host.setdefault(entry.host, (list_name, entry))
            if first[1] is not entry and (first[1].name, first[1].ip) != (entry.name, entry.ip):
                problems.append(
                    f"host {entry.host!r} has name {first[1].name!r} and ip {first[1].ip!r} in "
                    f"{first[0]} but name {entry.name!r} and ip {entry.ip!r} in {list_name}: give "
                    "each host one node_name and one node_ip."
                )
            for key, index, label in ((entry.name, by_name, "node name"), (entry.ip, by_ip, "ip")):
                other = index.setdefault(key, entry.host)
                pair = (label, key, frozenset((other, entry.host)))
                if other != entry.host and pair not in reported:
                    reported.add(pair)
                    problems.append(
                        f"{label} {key!r} is used by hosts {other!r} and {entry.host!r}: every "
                        f"host needs its own {label}; duplicate {label}s break certificates and "
                        "node registration."
                    )


def _int_option(params, name, problems, minimum, maximum=MAX_DAYS):
    value = params.get(name)
    if value is None:
        value = DEFAULTS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{name} must be a whole number, got {value!r}.")
        return None
    if not minimum <= value <= maximum:
        problems.append(f"{name} is {value}: it must be from {minimum} to {maximum}.")
        return None
    return value


def _server_entries(items, problems):
    """Validate ``servers``: [(name, [SAN, ...])], each name once, usable as a file name."""
    if items is None:
        items = []
    if not isinstance(items, (list, tuple)):
        problems.append("servers must be a list of {name, sans} entries.")
        return []
    result = []
    seen = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name"):
            problems.append(f"servers[{index}] must be a dict with a name (and sans).")
            continue
        name = str(item["name"])
        where = f"servers entry {name!r}"
        if not _LABEL_RE.match(name.replace(".", "-").replace("_", "-")):
            problems.append(
                f"{where}: the name is used as a file name in the store (servers/<name>.crt): "
                "use letters, digits, '.', '_' and '-'."
            )
            continue
        if name in seen:
            problems.append(f"servers: {name!r} is listed twice: list each server once.")
            continue
        seen.add(name)
        raw = item.get("sans")
        if raw is None:
            raw = []
        if not isinstance(raw, (list, tuple)):
            problems.append(f"{where}: sans must be a list of DNS names or IP addresses.")
            continue
        sans = [_san(value, f"{where} sans", problems) for value in raw]
        if None in sans:
            continue
        if not sans:
            problems.append(
                f"{where} has no sans: list the DNS names and addresses clients use to reach it."
            )
            continue
        result.append((name, list(dict.fromkeys(sans))))
    return result


def build_config(params):
    """Check every input and return a Config. Raises PKIError naming every problem found.

    ``params`` is the module's parameters (missing optional keys take their defaults).
    """
    problems = []

    def get(name):
        value = params.get(name)
        return DEFAULTS.get(name) if value is None else value

    store = params.get("store")
    if not store or not isinstance(store, str):
        problems.append("store is required: the directory on the controller holding the PKI.")
    else:
        store = os.path.abspath(os.path.expanduser(store))

    cluster_name = get("cluster_name")
    if not isinstance(cluster_name, str) or not _CLUSTER_NAME_RE.match(cluster_name):
        problems.append(
            f"cluster_name {cluster_name!r} is not usable in a kubeconfig: use letters, digits, "
            "'.', '_' and '-', starting and ending with a letter or digit."
        )
    dns_domain = get("dns_domain")
    if not is_dns_name(dns_domain):
        problems.append(
            f"dns_domain {dns_domain!r} is not a valid DNS domain (RFC 1123): use the cluster "
            "DNS domain, cluster.local by default."
        )
    else:
        dns_domain = dns_domain.lower()
    try:
        svc_ips = service_ips(get("service_cidr"))
    except PKIError as exc:
        problems.append(str(exc))
        svc_ips = []
    api_host, api_port = None, None
    if not get("servers_only") or params.get("api_endpoint"):
        try:
            api_host, api_port = parse_api_endpoint(params.get("api_endpoint"))
        except PKIError as exc:
            problems.append(str(exc))

    bind_port = get("apiserver_bind_port")
    if isinstance(bind_port, bool) or not isinstance(bind_port, int) or not 1 <= bind_port <= 65535:
        problems.append(f"apiserver_bind_port {bind_port!r} must be a port number from 1 to 65535.")

    extra_sans = []
    raw_sans = get("extra_sans")
    if not isinstance(raw_sans, (list, tuple)):
        problems.append("extra_sans must be a list of DNS names and IP addresses.")
        raw_sans = []
    for value in raw_sans:
        san = _san(value, "extra_sans", problems, wildcard=True)
        if san:
            extra_sans.append(san)

    servers_only = bool(get("servers_only"))
    servers = _server_entries(get("servers"), problems)
    if servers_only:
        # Only the cluster CA and the extra servers: no cluster inventory is needed yet
        # (a bundle server is set up before the cluster exists).
        if not servers:
            problems.append("servers_only is set but servers is empty: list the servers.")
        control_plane, etcd, nodes = [], [], []
    else:
        control_plane = _host_entries(
            params.get("control_plane"), "control_plane", problems, with_extra_names=True
        )
        if not params.get("control_plane"):
            problems.append("control_plane is empty: list at least one control-plane host.")
        etcd = _host_entries(get("etcd"), "etcd", problems)
        if params.get("nodes") is None:
            problems.append("nodes is required: list every host that runs a kubelet.")
        nodes = _host_entries(params.get("nodes"), "nodes", problems)
        _cross_check((("control_plane", control_plane), ("etcd", etcd), ("nodes", nodes)), problems)

    key_algorithm = get("key_algorithm")
    if key_algorithm not in KEY_ALGORITHMS:
        problems.append(
            f"key_algorithm {key_algorithm!r} is not one of {', '.join(KEY_ALGORITHMS)}."
        )
    rsa_key_size = get("rsa_key_size")
    if rsa_key_size not in RSA_KEY_SIZES:
        problems.append(
            f"rsa_key_size {rsa_key_size!r} is not one of {', '.join(map(str, RSA_KEY_SIZES))}."
        )
    ca_days = _int_option(params, "ca_validity_days", problems, 1)
    cert_days = _int_option(params, "cert_validity_days", problems, 1)
    # renew_before_days >= cert_validity_days renews every leaf on every run: a forced renewal.
    renew_days = _int_option(params, "renew_before_days", problems, 0)

    passphrase = params.get("ca_key_passphrase")
    if passphrase is not None:
        if not isinstance(passphrase, str) or passphrase == "":
            problems.append(
                "ca_key_passphrase is empty: set a passphrase or leave the option unset."
            )
            passphrase = None
        else:
            passphrase = passphrase.encode("utf-8")

    dirs = {}
    for name in ("pki_dir", "kubeconfig_dir"):
        value = get(name)
        if not isinstance(value, str) or not os.path.isabs(value):
            problems.append(f"{name} {value!r} must be an absolute path on the hosts.")
        else:
            dirs[name] = os.path.normpath(value)
    etcd_owner = get("etcd_owner")
    if not isinstance(etcd_owner, str) or not _OWNER_RE.match(etcd_owner):
        problems.append(f"etcd_owner {etcd_owner!r} is not a valid user name.")

    if problems:
        raise PKIError(" ".join(problems))
    return Config(
        store=store,
        cluster_name=cluster_name,
        dns_domain=dns_domain,
        service_ips=svc_ips,
        api_host=api_host,
        api_port=api_port,
        apiserver_bind_port=bind_port,
        control_plane_kubelet_local=bool(get("control_plane_kubelet_local")),
        extra_sans=extra_sans,
        control_plane=control_plane,
        etcd=etcd,
        nodes=nodes,
        key_algorithm=key_algorithm,
        rsa_key_size=rsa_key_size,
        ca_validity_days=ca_days,
        cert_validity_days=cert_days,
        renew_before_days=renew_days,
        external_ca=bool(get("external_ca")),
        ca_key_passphrase=passphrase,
        pki_dir=dirs["pki_dir"],
        kubeconfig_dir=dirs["kubeconfig_dir"],
        etcd_owner=etcd_owner,
        servers=servers,
        servers_only=servers_only,
    )


# --- the plan -------------------------------------------------------------------------------


class Leaf:
    """One certificate signed by a cluster CA, kept as .crt/.key or inside a kubeconfig."""

    def __init__(self, name, ca, cn, org=None, eku=(), sans=(), path=None, kubeconfig=None):
        self.name = name
        self.ca = ca
        self.cn = cn
        self.org = org
        self.eku = tuple(eku)
        self.sans = tuple(dict.fromkeys(sans))  # order kept, duplicates dropped
        self.kubeconfig = kubeconfig  # (server, user) for a kubeconfig, else None
        if kubeconfig:
            self.files = (path,)
            self.cert_path = self.key_path = None
        else:
            self.cert_path = f"{path}.crt"
            self.key_path = f"{path}.key"
            self.files = (self.key_path, self.cert_path)

    @property
    def file(self):
        return self.files[-1]

    @property
    def subject_text(self):
        parts = [f"CN={_escape_dn(self.cn)}"]
        if self.org:
            parts.append(f"O={_escape_dn(self.org)}")
        return ",".join(parts)


def _escape_dn(value):
    return re.sub(r'([,+"\\<>;=])', r"\\\1", value)


def host_dir(host):
    return f"hosts/{host}"


def server_leaves(cfg):
    """The extra servers' certificates (``servers/<name>``), signed by the cluster CA."""
    leaves = []
    for name, sans in cfg.servers:
        dns = [san for san in sans if san.startswith("DNS:")]
        ips = [san for san in sans if san.startswith("IP:")]
        leaves.append(
            Leaf(
                f"server@{name}",
                "ca",
                name,
                eku=(SERVER_AUTH,),
                sans=dns + ips,
                path=f"servers/{name}",
            )
        )
    return leaves


def plan_leaves(cfg):
    """Every leaf certificate and kubeconfig of the cluster, in a stable order."""
    if cfg.servers_only:
        return server_leaves(cfg)
    leaves = []
    base_dns = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{cfg.dns_domain}",
    ]
    endpoint_san = f"IP:{cfg.api_host}" if parse_ip(cfg.api_host) else f"DNS:{cfg.api_host}"
    for cp in cfg.control_plane:
        sans = [f"DNS:{name}" for name in base_dns]
        sans += [f"IP:{ip}" for ip in cfg.service_ips]
        sans += [endpoint_san, f"DNS:{cp.name}", f"IP:{cp.ip}", *cp.extra_names, *cfg.extra_sans]
        dns = [san for san in sans if san.startswith("DNS:")]
        ips = [san for san in sans if san.startswith("IP:")]
        leaves.append(
            Leaf(
                f"apiserver@{cp.host}",
                "ca",
                "kube-apiserver",
                eku=(SERVER_AUTH,),
                sans=dns + ips,
                path=f"{host_dir(cp.host)}/apiserver",
            )
        )
    leaves += [
        Leaf(
            "apiserver-kubelet-client",
            "ca",
            "kube-apiserver-kubelet-client",
            org="kubeadm:cluster-admins",
            eku=(CLIENT_AUTH,),
            path="apiserver-kubelet-client",
        ),
        Leaf(
            "apiserver-etcd-client",
            "etcd-ca",
            "kube-apiserver-etcd-client",
            eku=(CLIENT_AUTH,),
            path="apiserver-etcd-client",
        ),
        Leaf(
            "front-proxy-client",
            "front-proxy-ca",
            "front-proxy-client",
            eku=(CLIENT_AUTH,),
            path="front-proxy-client",
        ),
        Leaf(
            "etcd-healthcheck-client",
            "etcd-ca",
            "kube-etcd-healthcheck-client",
            eku=(CLIENT_AUTH,),
            path="etcd/healthcheck-client",
        ),
    ]
    for member in cfg.etcd:
        sans = [f"DNS:{member.name}", "DNS:localhost", f"IP:{member.ip}", "IP:127.0.0.1", "IP:::1"]
        for kind in ("server", "peer"):
            leaves.append(
                Leaf(
                    f"etcd-{kind}@{member.host}",
                    "etcd-ca",
                    member.name,
                    eku=(SERVER_AUTH, CLIENT_AUTH),
                    sans=sans,
                    path=f"{host_dir(member.host)}/etcd/{kind}",
                )
            )

    def kubeconfig(name, cn, org, path, server):
        return Leaf(name, "ca", cn, org=org, eku=(CLIENT_AUTH,), path=path, kubeconfig=(server, cn))

    leaves.append(
        kubeconfig(
            "admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", "admin.conf", cfg.api_server
        )
    )
    leaves.append(
        kubeconfig(
            "super-admin.conf",
            "kubernetes-super-admin",
            "system:masters",
            "super-admin.conf",
            cfg.api_server,
        )
    )
    for cp in cfg.control_plane:
        local = https_url(cp.ip, cfg.apiserver_bind_port)
        for conf, cn in (
            ("controller-manager.conf", "system:kube-controller-manager"),
            ("scheduler.conf", "system:kube-scheduler"),
        ):
            leaves.append(
                kubeconfig(f"{conf}@{cp.host}", cn, None, f"{host_dir(cp.host)}/{conf}", local)
            )
    # A control-plane kubelet talks to its own API server, as kubeadm's
    # ControlPlaneKubeletLocalMode does (on by default since Kubernetes 1.33): during an
    # upgrade it must not reach a newer API server elsewhere, and it needs no load balancer
    # to start its own static pods.
    local_kubelets = {
        cp.host: https_url(cp.ip, cfg.apiserver_bind_port)
        for cp in (cfg.control_plane if cfg.control_plane_kubelet_local else [])
    }
    for node in cfg.nodes:
        leaves.append(
            kubeconfig(
                f"kubelet.conf@{node.host}",
                f"system:node:{node.name}",
                "system:nodes",
                f"{host_dir(node.host)}/kubelet.conf",
                local_kubelets.get(node.host, cfg.api_server),
            )
        )
    return leaves + server_leaves(cfg)


def distribute_ca_keys(cfg):
    """Whether control-plane hosts receive ``ca.key`` (for kube-controller-manager's signer).

    Not with an external CA (its keys stay with their owner), and not when the store keeps the
    CA keys encrypted: the controller-manager cannot read an encrypted key.
    """
    return not cfg.external_ca and cfg.ca_key_passphrase is None


def host_files(cfg, with_ca_key=None):
    """Per inventory host, the store files it needs: ``{host: [{src, dest, mode, owner, group}]}``.

    ``with_ca_key`` defaults to ``distribute_ca_keys(cfg)``. Each destination appears once per
    host; a file both roles of a host need (``etcd/ca.crt`` on a stacked etcd member) is
    owned by ``etcd_owner``, since the etcd daemon must read it.
    """
    if with_ca_key is None:
        with_ca_key = distribute_ca_keys(cfg)
    store = cfg.store
    pki = cfg.pki_dir
    kube = cfg.kubeconfig_dir
    result = {}

    def add(host, src, dest, mode, owner="root"):
        files = result.setdefault(host, {})
        entry = {
            "src": os.path.join(store, src),
            "dest": dest,
            "mode": f"{mode:04o}",
            "owner": owner,
            "group": owner,
        }
        if dest not in files:
            files[dest] = entry
        elif owner != "root":
            files[dest].update(owner=owner, group=owner)

    for index, cp in enumerate(cfg.control_plane):
        own = host_dir(cp.host)
        add(cp.host, "ca.crt", f"{pki}/ca.crt", CERT_MODE)
        if with_ca_key:
            add(cp.host, "ca.key", f"{pki}/ca.key", KEY_MODE)
        add(cp.host, "front-proxy-ca.crt", f"{pki}/front-proxy-ca.crt", CERT_MODE)
        add(cp.host, "etcd/ca.crt", f"{pki}/etcd/ca.crt", CERT_MODE)
        add(cp.host, SA_KEY, f"{pki}/{SA_KEY}", KEY_MODE)
        add(cp.host, SA_PUB, f"{pki}/{SA_PUB}", CERT_MODE)
        add(cp.host, f"{own}/apiserver.crt", f"{pki}/apiserver.crt", CERT_MODE)
        add(cp.host, f"{own}/apiserver.key", f"{pki}/apiserver.key", KEY_MODE)
        for shared in ("apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client"):
            add(cp.host, f"{shared}.crt", f"{pki}/{shared}.crt", CERT_MODE)
            add(cp.host, f"{shared}.key", f"{pki}/{shared}.key", KEY_MODE)
        add(cp.host, "admin.conf", f"{kube}/admin.conf", KEY_MODE)
        if index == 0:
            add(cp.host, "super-admin.conf", f"{kube}/super-admin.conf", KEY_MODE)
        for conf in ("controller-manager.conf", "scheduler.conf"):
            add(cp.host, f"{own}/{conf}", f"{kube}/{conf}", KEY_MODE)
    for member in cfg.etcd:
        own = host_dir(member.host)
        owner = cfg.etcd_owner
        add(member.host, "etcd/ca.crt", f"{pki}/etcd/ca.crt", CERT_MODE, owner)
        for kind in ("server", "peer"):
            add(member.host, f"{own}/etcd/{kind}.crt", f"{pki}/etcd/{kind}.crt", CERT_MODE, owner)
            add(member.host, f"{own}/etcd/{kind}.key", f"{pki}/etcd/{kind}.key", KEY_MODE, owner)
        for ext, mode in (("crt", CERT_MODE), ("key", KEY_MODE)):
            name = f"etcd/healthcheck-client.{ext}"
            add(member.host, name, f"{pki}/{name}", mode, owner)
    for node in cfg.nodes:
        add(node.host, "ca.crt", f"{pki}/ca.crt", CERT_MODE)
        add(node.host, f"{host_dir(node.host)}/kubelet.conf", f"{kube}/kubelet.conf", KEY_MODE)
    # Which store wrote the host's trust: read back by the pki role's guard (pki_trust).
    for host in result:
        add(host, STORE_MARKER, f"{pki}/{HOST_MARKER}", CERT_MODE)
    return {host: list(files.values()) for host, files in result.items()}


# --- keys and certificates ------------------------------------------------------------------


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return (
        value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    )


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    if value is not None:
        return value
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _public_der(public_key):
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key(algorithm, rsa_key_size=2048):
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_key_size)
    return ec.generate_private_key(ec.SECP256R1())


def key_description(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"ECDSA {key.curve.name}"
    return type(key).__name__


def wanted_key_description(cfg):
    return f"RSA-{cfg.rsa_key_size}" if cfg.key_algorithm == "rsa" else "ECDSA secp256r1"


def private_pem(key, passphrase=None):
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _sign_hash(key):
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


def _name(cn, org=None):
    attributes = []
    if org:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attributes)


def _general_names(sans):
    names = []
    for san in sans:
        kind, value = san.split(":", 1)
        if kind == "DNS":
            names.append(x509.DNSName(value))
        else:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
    return names


def _eku_oids(eku):
    oids = {
        SERVER_AUTH: ExtendedKeyUsageOID.SERVER_AUTH,
        CLIENT_AUTH: ExtendedKeyUsageOID.CLIENT_AUTH,
    }
    return [oids[item] for item in eku]


def _truncate(moment):
    return moment.replace(microsecond=0)


def make_ca(cn, key, now, days):
    """A self-signed CA certificate in kubeadm's profile."""
    subject = _name(cn)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_truncate(now - CLOCK_SKEW))
        .not_valid_after(_truncate(now + datetime.timedelta(days=days)))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, _sign_hash(key))


def leaf_not_after(ca, now, days):
    """A leaf lives ``days`` but never beyond its CA."""
    return min(_truncate(now + datetime.timedelta(days=days)), ca.not_after)


def make_leaf(leaf, key, ca, now, days):
    """Sign the certificate of ``leaf`` for ``key`` with the CA state ``ca``."""
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(leaf.cn, leaf.org))
        .issuer_name(ca.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_truncate(now - CLOCK_SKEW))
        .not_valid_after(leaf_not_after(ca, now, days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(_eku_oids(leaf.eku)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(ca.authority_key_identifier, critical=False)
    )
    if leaf.sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_general_names(leaf.sans)), critical=False
        )
    return builder.sign(ca.key, ca.hash)


def cert_sans(cert):
    """The SANs of a certificate as ``DNS:name`` / ``IP:address`` strings, in their order."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    result = []
    for name in names:
        if isinstance(name, x509.DNSName):
            result.append(f"DNS:{name.value.lower()}")
        elif isinstance(name, x509.IPAddress):
            result.append(f"IP:{name.value}")
        else:
            result.append(f"{type(name).__name__}:{name.value}")
    return result


def cert_eku(cert):
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    return set(usages)


def cert_subject(cert):
    """``(CN, sorted O values)`` of a certificate."""
    cns = [attr.value for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [attr.value for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (cns[0] if len(cns) == 1 else cns), sorted(orgs)


def signed_by(cert, ca_subject, ca_public_key):
    """Whether ``cert`` names the CA as issuer and its signature verifies with the CA key."""
    if cert.issuer != ca_subject:
        return False
    try:
        if isinstance(ca_public_key, rsa.RSAPublicKey):
            params = getattr(cert, "signature_algorithm_parameters", None)
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            ca_public_key.verify(
                cert.signature, cert.tbs_certificate_bytes, pad, cert.signature_hash_algorithm
            )
        elif isinstance(ca_public_key, ec.EllipticCurvePublicKey):
            ca_public_key.verify(
                cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
            )
        else:
            ca_public_key.verify(cert.signature, cert.tbs_certificate_bytes)
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def load_private_key(data, passphrase=None, fast=False):
    """Return ``(key, encrypted)`` for PEM ``data``.

    Raises ``_KeyLocked`` for an encrypted key without ``passphrase``, ``_KeyWrongPassphrase``
    when ``passphrase`` does not open it, and ValueError when ``data`` is not a private key.
    ``fast`` skips the RSA consistency checks, for keys that are only compared, not used.
    """
    extra = _FAST_LOAD if fast else {}
    try:
        return serialization.load_pem_private_key(data, None, **extra), False
    except TypeError:
        pass  # encrypted
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(str(exc) or "not a PEM private key") from None
    if passphrase is None:
        raise _KeyLocked()
    try:
        return serialization.load_pem_private_key(data, password=passphrase), True
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _KeyWrongPassphrase() from None


def _fast_load_kwargs():
    """The keyword that skips the slow RSA consistency checks (cryptography 39+), if any."""
    try:
        parameters = inspect.signature(serialization.load_pem_private_key).parameters
    except (TypeError, ValueError):
        return {}
    if "unsafe_skip_rsa_key_validation" in parameters:
        return {"unsafe_skip_rsa_key_validation": True}
    return {}


_FAST_LOAD = _fast_load_kwargs() if HAS_CRYPTOGRAPHY else {}


class _KeyLocked(Exception):
    pass


class _KeyWrongPassphrase(Exception):
    pass


def _load_cert(data):
    return x509.load_pem_x509_certificate(data)


# --- kubeconfig -----------------------------------------------------------------------------


def _yaml_scalar(value):
    if _PLAIN_YAML_RE.match(value) and value.lower() not in _YAML_KEYWORDS:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_kubeconfig(cluster_name, server, user, ca_data, cert_data, key_data):
    """A kubeadm-style kubeconfig with the CA, client certificate and key embedded."""
    context = f"{user}@{cluster_name}"

    def b64(data):
        return base64.b64encode(data).decode("ascii")

    cluster, user_s, context_s = (_yaml_scalar(v) for v in (cluster_name, user, context))
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {b64(ca_data)}\n"
        f"    server: {_yaml_scalar(server)}\n"
        f"  name: {cluster}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {cluster}\n"
        f"    user: {user_s}\n"
        f"  name: {context_s}\n"
        f"current-context: {context_s}\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {user_s}\n"
        "  user:\n"
        f"    client-certificate-data: {b64(cert_data)}\n"
        f"    client-key-data: {b64(key_data)}\n"
    ).encode("ascii")


def kubeconfig_field(content, key):
    """The value of the first ``key:`` line of a kubeconfig, unquoted, or None."""
    match = re.search(
        rf"^[ \t-]*{re.escape(key)}:[ \t]*(?P<q>['\"]?)(?P<v>[^'\"\r\n]*?)(?P=q)[ \t]*\r?$",
        content.decode("utf-8", errors="replace"),
        re.MULTILINE,
    )
    return match.group("v") if match else None


def kubeconfig_embedded(content, key):
    value = kubeconfig_field(content, key)
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None


# --- the store ------------------------------------------------------------------------------


class FileState:
    __slots__ = ("data", "mode")

    def __init__(self, data, mode):
        self.data = data
        self.mode = mode


class CAState:
    """A CA as found in (or planned for) the store."""

    def __init__(self, name, cert_path, key_path, cn):
        self.name = name
        self.cert_path = cert_path
        self.key_path = key_path
        self.cn = cn
        self.cert = None
        self.key = None
        self.pem = None  # the ca.crt bytes embedded in kubeconfigs
        self.subject = None
        self.public_key = None
        self.not_after = None
        self.created = False
        self.rewrite_key = False
        self.authority_key_identifier = None
        self.hash = None
        self.key_lost = False

    def attach(self, cert, key, pem):
        self.cert = cert
        self.key = key
        self.pem = pem
        self.subject = cert.subject
        self.public_key = cert.public_key()
        self.not_after = not_after(cert)
        self.hash = _sign_hash(key) if key is not None else None
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            self.authority_key_identifier = (
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
            )
        except x509.ExtensionNotFound:
            self.authority_key_identifier = x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.public_key
            )


class _Run:
    """State of one converge() call."""

    def __init__(self, cfg, check_mode):
        self.cfg = cfg
        self.root = cfg.store
        self.check_mode = check_mode
        self.now = utcnow()
        self.renew_window = datetime.timedelta(days=cfg.renew_before_days)
        # A CA is worth a warning when leaves issued now would be cut short by its end.
        self.ca_warn_window = datetime.timedelta(
            days=min(cfg.renew_before_days, cfg.cert_validity_days)
        )
        self.problems = []
        self.warnings = []
        self.files = {}
        self.writes = {}  # store path -> (bytes, mode), in order
        self.chmods = {}  # store path -> mode
        self.entries = []
        self.cas = {}
        self.lost_keys = set()

    # -- reading

    def read(self, rel):
        """Return the FileState of a store file (None when absent); note unreadable ones."""
        if rel in self.files:
            return self.files[rel]
        path = os.path.join(self.root, rel)
        state = None
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                self.problems.append(
                    f"{path} exists but is not a regular file: move it out of the store."
                )
            else:
                with open(path, "rb") as handle:
                    state = FileState(handle.read(), stat.S_IMODE(info.st_mode))
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                self.problems.append(
                    f"cannot use {path}: one of its parent directories is a file; move it out "
                    "of the store."
                )
            elif exc.errno != errno.ENOENT:
                self.problems.append(f"cannot read {path}: {exc.strerror}: fix its permissions.")
        self.files[rel] = state
        return state

    def full(self, rel):
        return os.path.join(self.root, rel)

    # -- planning writes

    def want(self, rel, data, mode):
        """Write ``data`` unless the file already holds it; fix only the mode if that differs.

        Returns True when anything would change.
        """
        current = self.read(rel)
        if current is not None and current.data == data:
            if current.mode != mode:
                self.chmods[rel] = mode
                return True
            return False
        self.writes[rel] = (data, mode)
        return True

    def want_mode(self, rel, mode):
        current = self.read(rel)
        if current is not None and current.mode != mode:
            self.chmods[rel] = mode
            return f"mode of {rel} set to {mode:04o}"
        return None

    def want_modes(self, *wanted):
        """want_mode for each (path, mode); the notes of those that change."""
        notes = (self.want_mode(rel, mode) for rel, mode in wanted)
        return [note for note in notes if note]

    def entry(self, name, file, action, reason, subject, sans, expires):
        self.entries.append(
            {
                "name": name,
                "file": file,
                "action": action,
                "reason": reason,
                "subject": subject,
                "sans": list(sans),
                "not_after": isoformat(expires) if expires else None,
            }
        )


def _inspect_ca(run, ca):
    """Check an existing CA, or plan a new one. Problems go to ``run.problems``."""
    cfg = run.cfg
    cert_file = run.read(ca.cert_path)
    key_file = run.read(ca.key_path)
    cert_full, key_full = run.full(ca.cert_path), run.full(ca.key_path)
    if cert_file is None and key_file is None:
        if cfg.external_ca:
            run.problems.append(
                f"external_ca is true but the {ca.name} certificate {cert_full} and key "
                f"{key_full} are missing: copy your CA certificate and key there (PEM), or set "
                "external_ca to false to let the module create the CAs."
            )
        else:
            ca.created = True
        return
    if cert_file is None:
        run.problems.append(
            f"{key_full} exists but its certificate {cert_full} is missing: restore the "
            f"certificate, or remove {key_full} to create a new {ca.name} (every certificate it "
            "signed is then reissued)."
        )
        return
    if key_file is None:
        if cfg.external_ca:
            run.problems.append(
                f"external_ca is true but the key of {cert_full} is missing: copy the CA private "
                f"key to {key_full}; the module needs it to sign the certificates."
            )
        elif ca.name in run.lost_keys:
            # Recovered from the hosts, which never held this key: the CA still verifies the
            # leaves it signed, but cannot sign new ones (_process_leaf refuses those).
            ca.key_lost = True
        else:
            run.problems.append(
                f"{cert_full} exists but its key {key_full} is missing: restore the store from "
                "its backup (prodgrade.kubernetes.pki_store_restore). Removing the certificate "
                "would create a new CA that the running cluster does not trust."
            )
    if key_file is None and not ca.key_lost:
        return
    try:
        cert = _load_cert(cert_file.data)
    except ValueError as exc:
        run.problems.append(
            f"{cert_full} is not a PEM certificate ({exc}): restore the CA certificate."
        )
        return
    valid_to = not_after(cert)
    valid_from = not_before(cert)
    ok = True
    if valid_to <= run.now:
        run.problems.append(
            f"{cert_full}: the CA expired on {isoformat(valid_to)}: it cannot sign; replace it, "
            f"see {ROTATE_CA_URL}."
        )
        ok = False
    if valid_from > run.now:
        run.problems.append(
            f"{cert_full}: the CA is not valid before {isoformat(valid_from)}: check the "
            "controller's clock, or replace the CA."
        )
        ok = False
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        run.problems.append(
            f"{cert_full} is not a CA certificate (BasicConstraints CA:TRUE is missing): put the "
            f"{ca.name} certificate there, not a leaf certificate."
        )
        ok = False
    else:
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not usage.key_cert_sign:
                run.problems.append(
                    f"{cert_full}: the CA's KeyUsage lacks keyCertSign, so it may not sign "
                    "certificates: use a CA certificate that allows it."
                )
                ok = False
        except x509.ExtensionNotFound:
            pass
    if ca.key_lost:
        if ok:
            ca.attach(cert, None, cert_file.data)
            run.warnings.append(
                f"The {ca.name} key is lost (the store was recovered from the hosts, which never "
                f"held it): certificates it signed are checked and kept, but none can be issued "
                f"or renewed until the {ca.name} is replaced, see {ROTATE_CA_URL} and "
                "docs/pki.md, 'When the store is lost'."
            )
        return
    passphrase = cfg.ca_key_passphrase
    try:
        key, encrypted = load_private_key(key_file.data, passphrase)
    except _KeyLocked:
        run.problems.append(
            f"{key_full} is encrypted: set ca_key_passphrase to its passphrase (from a vault)."
        )
        return
    except _KeyWrongPassphrase:
        run.problems.append(
            f"{key_full} cannot be decrypted with ca_key_passphrase: the passphrase is wrong; "
            "give the one the CA keys were encrypted with."
        )
        return
    except ValueError as exc:
        run.problems.append(f"{key_full} is not a PEM private key ({exc}): restore the CA key.")
        return
    if not isinstance(
        key,
        (
            rsa.RSAPrivateKey,
            ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
        ),
    ):
        run.problems.append(
            f"{key_full}: {type(key).__name__} CA keys are not supported: use RSA or ECDSA."
        )
        return
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        run.problems.append(
            f"{key_full} does not match {cert_full}: the key does not belong to the "
            "certificate; put the matching key (or certificate) in the store."
        )
        return
    if not ok:
        return
    ca.attach(cert, key, cert_file.data)
    if passphrase is not None and not encrypted and not cfg.external_ca:
        ca.rewrite_key = True
    if valid_to <= run.now + run.ca_warn_window:
        window = run.ca_warn_window.days
        run.warnings.append(
            f"The {ca.name} certificate {cert_full} expires on {isoformat(valid_to)}, within "
            f"{window} days. The module never renews a CA and certificates it signs end with "
            f"it: rotate the CA, see {ROTATE_CA_URL}."
        )


def _inspect_sa(run):
    """Check sa.key / sa.pub; return (action, reason, key or None)."""
    key_file = run.read(SA_KEY)
    pub_file = run.read(SA_PUB)
    if key_file is None and pub_file is not None:
        # A new pair would invalidate every service-account token the cluster has issued.
        run.problems.append(
            f"{run.full(SA_PUB)} exists but {run.full(SA_KEY)} is missing: restore the store "
            "from its backup (prodgrade.kubernetes.pki_store_restore) or recover sa.key from a "
            "control-plane host (prodgrade.kubernetes.pki_store_recover). Remove sa.pub only to "
            "start a new service-account key, which invalidates every token already issued."
        )
        return None, None, None
    if key_file is None:
        return "issued", "missing", None
    try:
        key, _ = load_private_key(key_file.data)
    except (_KeyLocked, _KeyWrongPassphrase):
        run.problems.append(
            f"{run.full(SA_KEY)} is encrypted; kube-apiserver needs it unencrypted: decrypt it "
            "in place."
        )
        return None, None, None
    except ValueError as exc:
        run.problems.append(
            f"{run.full(SA_KEY)} is not a PEM private key ({exc}): restore it, or remove "
            f"{SA_KEY} and {SA_PUB} to create a new pair (service-account tokens signed with "
            "the old key then stop working)."
        )
        return None, None, None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        run.problems.append(
            f"{run.full(SA_KEY)} is a {type(key).__name__}: kube-apiserver signs service-account "
            "tokens with RSA or ECDSA keys only."
        )
        return None, None, None
    reasons = []
    if pub_file is None:
        reasons.append(f"{SA_PUB} missing, derived from {SA_KEY}")
    else:
        # During a rotation of the key (pki_rotate) sa.pub holds two keys; the first is
        # sa.key's, the other one kube-apiserver also accepts tokens from.
        first = pub_file.data.split(b"-----END PUBLIC KEY-----")[0] + b"-----END PUBLIC KEY-----\n"
        try:
            existing = serialization.load_pem_public_key(first)
            matches = _public_der(existing) == _public_der(key.public_key())
        except (ValueError, UnsupportedAlgorithm):
            matches = False
        if not matches:
            reasons.append(f"{SA_PUB} does not match {SA_KEY}, rewritten from it")
    return "kept", reasons, key


def _judge_leaf(run, leaf, ca, cert_data, key_data):
    """Return ``(reasons, cert, key)``: no reasons means the leaf is kept as it is."""
    cfg = run.cfg
    try:
        cert = _load_cert(cert_data)
    except ValueError:
        return ["certificate cannot be parsed"], None, None
    try:
        key, _ = load_private_key(key_data, fast=True)
    except _KeyLocked:
        return ["key is encrypted"], cert, None
    except (ValueError, _KeyWrongPassphrase):
        return ["key cannot be parsed"], cert, None
    reasons = []
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        reasons.append("key does not match")
    if ca.created or not signed_by(cert, ca.subject, ca.public_key):
        reasons.append("not signed by the current CA")
    cn, orgs = cert_subject(cert)
    if (cn, orgs) != (leaf.cn, [leaf.org] if leaf.org else []):
        reasons.append(
            f"subject differs: has {cert.subject.rfc4514_string()!r}, want {leaf.subject_text!r}"
        )
    have = cert_sans(cert)
    if set(have) != set(leaf.sans):
        added = [san for san in leaf.sans if san not in have]
        removed = [san for san in have if san not in leaf.sans]
        diff = " ".join([f"+{san}" for san in added] + [f"-{san}" for san in removed])
        reasons.append(f"SANs differ: {diff}")
    if cert_eku(cert) != set(_eku_oids(leaf.eku)):
        reasons.append("extended key usage differs")
    wanted = wanted_key_description(cfg)
    if key_description(key) != wanted:
        reasons.append(f"key algorithm differs: has {key_description(key)}, want {wanted}")
    expires = not_after(cert)
    if not_before(cert) > run.now:
        reasons.append(f"not valid before {isoformat(not_before(cert))}")
    if expires <= run.now:
        reasons.append(f"expired on {isoformat(expires)}")
    elif expires <= run.now + run.renew_window and (ca.created or expires < ca.not_after):
        # A leaf already ending with its CA cannot get longer; the CA warning covers it.
        reasons.append(f"expires on {isoformat(expires)} (within {cfg.renew_before_days} days)")
    return reasons, cert, key


def _kubeconfig_change(old, new):
    old_server = kubeconfig_field(old, "server")
    new_server = kubeconfig_field(new, "server")
    if old_server != new_server:
        return f"server changes from {old_server} to {new_server}"
    if kubeconfig_field(old, "certificate-authority-data") != kubeconfig_field(
        new, "certificate-authority-data"
    ):
        return "embedded CA differs from ca.crt"
    return "content differs from the expected kubeconfig"


def _process_leaf(run, leaf):
    """Judge one leaf and plan its files (issuing it unless in check mode)."""
    cfg = run.cfg
    ca = run.cas[leaf.ca]
    existing = old_cert = old_key = None
    missing = "missing"
    if leaf.kubeconfig:
        existing = run.read(leaf.file)
        action = "issued" if existing is None else "renewed"
        if existing is not None:
            old_cert = kubeconfig_embedded(existing.data, "client-certificate-data")
            old_key = kubeconfig_embedded(existing.data, "client-key-data")
            missing = "embedded client certificate or key cannot be read"
    else:
        cert_file = run.read(leaf.cert_path)
        key_file = run.read(leaf.key_path)
        action = "issued" if cert_file is None else "renewed"
        if cert_file is not None and key_file is not None:
            old_cert, old_key = cert_file.data, key_file.data
    if old_cert is None or old_key is None:
        reasons, cert, key = [missing], None, None
    else:
        reasons, cert, key = _judge_leaf(run, leaf, ca, old_cert, old_key)
    if run.problems:
        return
    if not reasons:
        expires = not_after(cert)
        notes = []
        if leaf.kubeconfig:
            server, user = leaf.kubeconfig
            content = render_kubeconfig(cfg.cluster_name, server, user, ca.pem, old_cert, old_key)
            if run.want(leaf.file, content, KEY_MODE):
                if existing.data != content:
                    notes.append(_kubeconfig_change(existing.data, content))
                else:
                    notes.append(f"mode of {leaf.file} set to {KEY_MODE:04o}")
        else:
            notes += run.want_modes((leaf.key_path, KEY_MODE), (leaf.cert_path, CERT_MODE))
        run.entry(
            leaf.name,
            leaf.file,
            "kept",
            "; ".join(notes) or None,
            cert.subject.rfc4514_string(),
            cert_sans(cert),
            expires,
        )
        return
    reason = "; ".join(reasons)
    if ca.key_lost:
        run.problems.append(
            f"{leaf.name} must be issued ({reason}) but the {ca.name} key is lost (the store was "
            f"recovered from the hosts, which never held it): replace the {ca.name}, see "
            f"{ROTATE_CA_URL} and docs/pki.md, 'When the store is lost'."
        )
        return
    if run.check_mode:
        for path in leaf.files:
            run.writes[path] = (None, None)
        run.entry(
            leaf.name,
            leaf.file,
            action,
            reason,
            _name(leaf.cn, leaf.org).rfc4514_string(),
            leaf.sans,
            leaf_not_after(ca, run.now, cfg.cert_validity_days),
        )
        return
    key = generate_key(cfg.key_algorithm, cfg.rsa_key_size)
    cert = make_leaf(leaf, key, ca, run.now, cfg.cert_validity_days)
    if leaf.kubeconfig:
        server, user = leaf.kubeconfig
        content = render_kubeconfig(
            cfg.cluster_name, server, user, ca.pem, cert_pem(cert), private_pem(key)
        )
        run.want(leaf.file, content, KEY_MODE)
    else:
        run.want(leaf.key_path, private_pem(key), KEY_MODE)
        run.want(leaf.cert_path, cert_pem(cert), CERT_MODE)
    run.entry(
        leaf.name,
        leaf.file,
        action,
        reason,
        cert.subject.rfc4514_string(),
        cert_sans(cert),
        not_after(cert),
    )


def _plan_ca(run, ca):
    """Create a missing CA (in memory), plan key re-encryption, and report the CA."""
    cfg = run.cfg
    if ca.created:
        expires = _truncate(run.now + datetime.timedelta(days=cfg.ca_validity_days))
        if run.check_mode:
            ca.not_after = expires
            run.writes[ca.key_path] = (None, None)
            run.writes[ca.cert_path] = (None, None)
        else:
            key = generate_key(cfg.key_algorithm, cfg.rsa_key_size)
            cert = make_ca(ca.cn, key, run.now, cfg.ca_validity_days)
            pem = cert_pem(cert)
            ca.attach(cert, key, pem)
            run.want(ca.key_path, private_pem(key, cfg.ca_key_passphrase), KEY_MODE)
            run.want(ca.cert_path, pem, CERT_MODE)
            expires = ca.not_after
        run.entry(
            ca.name, ca.cert_path, "issued", "missing", _name(ca.cn).rfc4514_string(), [], expires
        )
        return
    notes = []
    if ca.rewrite_key:
        notes.append(f"{ca.key_path} rewritten encrypted with ca_key_passphrase")
        if run.check_mode:
            run.writes[ca.key_path] = (None, None)
        else:
            run.want(ca.key_path, private_pem(ca.key, cfg.ca_key_passphrase), KEY_MODE)
    elif cfg.external_ca:
        # The user's files: never touched, not even their mode.
        mode = run.read(ca.key_path).mode
        if mode & 0o077:
            run.warnings.append(
                f"The external CA key {run.full(ca.key_path)} has mode {mode:04o}, so other "
                "users of the controller may read it: restrict it with chmod 0600."
            )
    else:
        notes += run.want_modes((ca.key_path, KEY_MODE), (ca.cert_path, CERT_MODE))
    run.entry(
        ca.name,
        ca.cert_path,
        "kept",
        "; ".join(notes) or None,
        ca.cert.subject.rfc4514_string(),
        [],
        ca.not_after,
    )


def _plan_sa(run, action, reasons, key):
    cfg = run.cfg
    if action == "issued":
        if run.check_mode:
            run.writes[SA_KEY] = (None, None)
            run.writes[SA_PUB] = (None, None)
        else:
            key = generate_key(cfg.key_algorithm, cfg.rsa_key_size)
            run.want(SA_KEY, private_pem(key), KEY_MODE)
            run.want(SA_PUB, public_pem(key), CERT_MODE)
        run.entry("sa", SA_KEY, "issued", "missing", None, [], None)
        return
    notes = list(reasons)
    if reasons:
        if run.check_mode:
            run.writes[SA_PUB] = (None, None)
        else:
            run.want(SA_PUB, public_pem(key), CERT_MODE)
    else:
        notes += run.want_modes((SA_PUB, CERT_MODE))
    notes += run.want_modes((SA_KEY, KEY_MODE))
    run.entry("sa", SA_KEY, "kept", "; ".join(notes) or None, None, [], None)


def _lost_keys(run):
    """The CAs whose keys ``recovery.json`` (written by pki_store_recover) says are lost."""
    state = run.read(RECOVERY_RECORD)
    if state is None:
        return set()
    try:
        return set(lost_keys_in(state.data))
    except (ValueError, AttributeError):
        run.problems.append(
            f"{run.full(RECOVERY_RECORD)} is not the JSON pki_store_recover writes: restore it."
        )
        return set()


def _planned_bytes(run, rel):
    """The bytes ``rel`` will hold after this run; None when not known (check mode) or absent."""
    if rel in run.writes:
        return run.writes[rel][0]
    current = run.read(rel)
    return current.data if current is not None else None


def _plan_marker(run):
    """Keep ``trust.json``: the store's id (made once) and the fingerprints of its trust.

    The pki role installs it on every host, where the guard reads it back to name the store
    that wrote a host's files. Unknown in check mode while a CA or key is still to be made.
    """
    if any(run.writes.get(rel, (True,))[0] is None for _, rel in TRUST_FILES):
        run.writes[STORE_MARKER] = (None, None)
        return
    store_id = None
    current = run.read(STORE_MARKER)
    if current is not None:
        try:
            store_id = json.loads(current.data.decode("utf-8")).get("store_id")
        except (ValueError, AttributeError):
            store_id = None
    if not isinstance(store_id, str) or not re.fullmatch(r"[0-9a-f]{32}", store_id):
        store_id = secrets.token_hex(16)
    trust = {name: _planned_bytes(run, rel) for name, rel in TRUST_FILES}
    run.want(STORE_MARKER, marker_content(store_id, run.cfg.cluster_name, trust), CERT_MODE)


def _store_dirs(run, paths):
    """The store directories the files need, parents first, and the problems in the way."""
    wanted = {"."}
    for rel in paths:
        parent = os.path.dirname(rel)
        while parent:
            wanted.add(parent)
            parent = os.path.dirname(parent)
    result = []
    for rel in sorted(wanted, key=lambda item: (item.count("/"), item)):
        path = run.root if rel == "." else run.full(rel)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            result.append((path, None))
            continue
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                continue  # reported with the file below it
            run.problems.append(f"cannot inspect {path}: {exc.strerror}.")
            continue
        if not stat.S_ISDIR(info.st_mode):
            run.problems.append(
                f"{path} exists but is not a directory: move it out of the way of the store."
            )
            continue
        result.append((path, stat.S_IMODE(info.st_mode)))
    return result


def converge(params, check_mode=False):
    """Bring the store in line with ``params``; return the module result (plus ``warnings``).

    Raises PKIError, with nothing written, when the input or the store's CAs are unusable.
    """
    if not HAS_CRYPTOGRAPHY:
        raise PKIError("The Python library cryptography is required on the controller.")
    cfg = build_config(params)
    if params.get("host_files_only"):
        # Where each store file goes on each host, without reading the store
        # (pki_store_recover fetches them back from there).
        with_ca_key = distribute_ca_keys(cfg)
        return {
            "changed": False,
            "distribute_ca_keys": with_ca_key,
            "host_files": host_files(cfg, with_ca_key),
            "store": cfg.store,
            "warnings": [],
        }
    run = _Run(cfg, check_mode)
    leaves = plan_leaves(cfg)

    # servers_only: the cluster CA and the servers' certificates, nothing else.
    cas = CAS[:1] if cfg.servers_only else CAS
    all_files = [path for _, cert, key, _ in cas for path in (cert, key)]
    if not cfg.servers_only:
        all_files += [SA_KEY, SA_PUB]
    all_files += [path for leaf in leaves for path in leaf.files]
    dirs = _store_dirs(run, all_files)
    if run.problems:
        raise PKIError(" ".join(run.problems))

    run.lost_keys = _lost_keys(run)
    for name, cert_path, key_path, cn in cas:
        ca = CAState(name, cert_path, key_path, cn)
        run.cas[name] = ca
        _inspect_ca(run, ca)
    if not cfg.servers_only:
        sa_action, sa_reasons, sa_key = _inspect_sa(run)
    if run.problems:
        raise PKIError(" ".join(run.problems))

    for name, *_ in cas:
        _plan_ca(run, run.cas[name])
    if not cfg.servers_only:
        _plan_sa(run, sa_action, sa_reasons, sa_key)
    for leaf in leaves:
        _process_leaf(run, leaf)
    if run.problems:
        raise PKIError(" ".join(run.problems))
    if not cfg.servers_only:
        _plan_marker(run)

    dirs_to_fix = [(path, mode) for path, mode in dirs if mode != DIR_MODE]
    changed = bool(run.writes or run.chmods or dirs_to_fix)
    if not check_mode:
        written = []
        try:
            for path, mode in dirs_to_fix:
                if mode is None:
                    os.makedirs(path, DIR_MODE, exist_ok=True)
                os.chmod(path, DIR_MODE)
            for rel, (data, mode) in run.writes.items():
                write_atomic(run.full(rel), data, mode)
                written.append(rel)
            for rel, mode in run.chmods.items():
                os.chmod(run.full(rel), mode)
        except OSError as exc:
            raise PKIError(
                f"Writing the store failed at {exc.filename or run.root}: {exc.strerror or exc}. "
                f"Written before the failure: {', '.join(written) or 'nothing'}. Fix the cause "
                "and run again; every file is written whole or not at all."
            ) from None

    summary = {"issued": 0, "renewed": 0, "kept": 0}
    for item in run.entries:
        summary[item["action"]] += 1
    with_ca_key = distribute_ca_keys(cfg)
    return {
        "changed": changed,
        "certificates": run.entries,
        "summary": summary,
        "changed_files": sorted(set(run.writes) | set(run.chmods)),
        "distribute_ca_keys": with_ca_key,
        "host_files": {} if cfg.servers_only else host_files(cfg, with_ca_key),
        "server_files": {
            name: {
                "cert": run.full(f"servers/{name}.crt"),
                "key": run.full(f"servers/{name}.key"),
                "ca": run.full("ca.crt"),
            }
            for name, _ in cfg.servers
        },
        "store": cfg.store,
        "warnings": run.warnings,
    }
