"""Reading and validating kubeadm configuration files: YAML documents, their apiVersion and kind,
the JSON schemas, and the semantic checks kubeadm's own validation makes on top of decoding.

Strictness: unknown fields, wrong types, duplicate keys and unknown documents are errors here, as
with ``kubeadm config validate``; ``kubeadm init``/``join`` only warn about unknown fields, so the
simulator is stricter than they are on purpose (the role must write exactly the upstream API).
"""

from __future__ import annotations

import ipaddress
import re

from . import schema
from .errors import SimError, ValidationError

try:
    import yaml
except ImportError:  # pragma: no cover - the containers install python3-yaml
    yaml = None

KUBEADM_GROUP = "kubeadm.k8s.io"
KUBEADM_VERSION = f"{KUBEADM_GROUP}/v1beta4"
KUBELET_VERSION = "kubelet.config.k8s.io/v1beta1"
KUBEPROXY_VERSION = "kubeproxy.config.k8s.io/v1alpha1"

# cmd/kubeadm/app/util/config/common.go validateSupportedVersion: the kubeadm release to use
# for each API version that is gone. v1beta3 was removed by kubernetes/kubernetes#136016, whose
# release note names 1.35 as the last kubeadm able to migrate it.
OLD_API_VERSIONS = {
    f"{KUBEADM_GROUP}/v1alpha1": "v1.11",
    f"{KUBEADM_GROUP}/v1alpha2": "v1.12",
    f"{KUBEADM_GROUP}/v1alpha3": "v1.14",
    f"{KUBEADM_GROUP}/v1beta1": "v1.15",
    f"{KUBEADM_GROUP}/v1beta2": "v1.22",
    f"{KUBEADM_GROUP}/v1beta3": "v1.35",
}
# The placeholder v1 API added next to the v1beta3 removal is experimental.
EXPERIMENTAL_API_VERSIONS = {f"{KUBEADM_GROUP}/v1"}

KUBEADM_KINDS = (
    "InitConfiguration",
    "ClusterConfiguration",
    "JoinConfiguration",
    "ResetConfiguration",
    "UpgradeConfiguration",
)

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)([-+][0-9A-Za-z.+-]+)?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text):
    """Seconds in a Go duration string (``8760h0m0s``), as time.ParseDuration reads it."""
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(body) or not body:
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


def format_duration(seconds):
    """A Go-style duration string (``24h0m0s``) for whole seconds."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s"


# --- YAML -----------------------------------------------------------------------------------------


def _make_loader():
    class Loader(yaml.SafeLoader):
        """SafeLoader that keeps timestamps as strings (Kubernetes decodes them itself) and
        refuses duplicate keys, as sigs.k8s.io/yaml's strict mode does."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        mapping = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in mapping:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'key "{key}" already set in map (line {mark.line + 1})',
                    mark,
                )
            mapping[key] = loader.construct_object(value_node, deep=deep)
        return mapping

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


_LOADERS = []


def load_yaml_documents(text, source="config"):
    """The non-empty YAML documents of ``text``, in order."""
    if yaml is None:
        raise SimError(
            "kubeadm-sim needs PyYAML to read configuration files: install the Debian package "
            "python3-yaml in the test node"
        )
    if not _LOADERS:
        _LOADERS.append(_make_loader())
    try:
        documents = list(yaml.load_all(text, Loader=_LOADERS[0]))
    except yaml.YAMLError as exc:
        raise ValidationError(f"unable to read config from {source!r}: {exc}") from None
    return [doc for doc in documents if doc is not None]


def dump_yaml(data):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


# --- documents ------------------------------------------------------------------------------------


def gvk_text(api_version, kind):
    group, _, version = (api_version or "").rpartition("/")
    return f"{group}/{version}, Kind={kind}"


class Documents:
    """The documents of one configuration file, by kind, with warnings for ignored ones."""

    def __init__(self):
        self.by_kind = {}
        self.order = []
        self.warnings = []

    def get(self, kind):
        return self.by_kind.get(kind)

    def kinds(self):
        return list(self.order)


def parse_config(text, source="config", allow_experimental=False):
    """Read and validate every document of a configuration file.

    Raises ValidationError naming every problem (document, field path, reason).
    """
    docs = Documents()
    problems = []
    for index, doc in enumerate(load_yaml_documents(text, source)):
        where = f"document {index + 1}"
        if not isinstance(doc, dict):
            problems.append(f"{where}: a configuration document must be a mapping")
            continue
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if (
            not isinstance(api_version, str)
            or not isinstance(kind, str)
            or not api_version
            or not kind
        ):
            problems.append(
                f"invalid configuration for GroupVersionKind {gvk_text(api_version, kind)}: "
                "kind and apiVersion is mandatory information that must be specified"
            )
            continue
        old = OLD_API_VERSIONS.get(api_version)
        if old:
            problems.append(
                f'your configuration file uses an old API spec: "{api_version}" (kind: "{kind}"). '
                f"Please use kubeadm {old} instead and run 'kubeadm config migrate --old-config "
                "old-config-file --new-config new-config-file', which will write the new, similar "
                "spec using a newer API version."
            )
            continue
        if api_version in EXPERIMENTAL_API_VERSIONS and not allow_experimental:
            problems.append(
                f'experimental API spec: "{api_version}" (kind: "{kind}") is not allowed. You can '
                "use the --allow-experimental-api flag if the command supports it."
            )
            continue
        validator = schema.load_validator(api_version, kind)
        if validator is None:
            known = ", ".join(f"{v} {k}" for v, k in schema.known_kinds())
            problems.append(
                f"{where}: unknown configuration document GroupVersionKind "
                f"{gvk_text(api_version, kind)} (kubeadm would ignore it with a warning; "
                f"kubeadm-sim refuses it). Known kinds: {known}"
            )
            continue
        if kind in docs.by_kind:
            problems.append(
                f"invalid configuration: GroupVersionKind {gvk_text(api_version, kind)} is "
                "specified twice in YAML file"
            )
            continue
        errors = validator.errors(doc)
        for path, message in errors:
            problems.append(f"{kind} {path or '(document)'}: {message}")
        if not errors:
            problems.extend(f"{kind} {message}" for message in semantic_errors(kind, doc))
        docs.by_kind[kind] = doc
        docs.order.append(kind)
    if problems:
        raise ValidationError("\n".join(problems))
    return docs


# --- semantic checks (cmd/kubeadm/app/apis/kubeadm/validation and the kubelet's) -----------------


def _invalid(path, value, detail):
    shown = value if isinstance(value, str) else repr(value)
    return f'{path}: Invalid value: "{shown}": {detail}'


def is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def split_host_port(text, default_port):
    """``(host, port)`` of ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    if text.startswith("["):
        match = re.match(r"^\[([^\]]+)\](?::(\d+))?$", text)
        if not match:
            raise ValueError(f"{text!r} is not a valid [IPv6]:port")
        return match.group(1), int(match.group(2) or default_port)
    if text.count(":") > 1:
        return text, default_port
    host, _, port = text.partition(":")
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ValueError(f"port {port!r} is not a number from 1 to 65535")
    return host, int(port) if port else default_port


def _cidr_errors(path, value):
    parts = [part.strip() for part in value.split(",")]
    errors = []
    families = []
    for part in parts:
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            errors.append(_invalid(path, value, f"couldn't parse subnet {part!r}"))
            continue
        families.append(network.version)
    if len(parts) > 2 or (len(families) == 2 and families[0] == families[1]):
        errors.append(
            _invalid(
                path,
                value,
                "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack "
                "networking",
            )
        )
    return errors


def _node_registration_errors(path, reg):
    errors = []
    name = reg.get("name")
    if name is not None and not DNS1123_SUBDOMAIN.match(name):
        errors.append(
            _invalid(
                f"{path}.name",
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
            )
        )
    for index, arg in enumerate(reg.get("kubeletExtraArgs") or []):
        errors.extend(_arg_errors(f"{path}.kubeletExtraArgs[{index}]", arg))
    return errors


def _arg_errors(path, arg):
    name = arg.get("name", "")
    if name.startswith("-"):
        return [
            _invalid(
                f"{path}.name",
                name,
                "kubeadm-sim: give the flag name without leading dashes (kubeadm adds '--')",
            )
        ]
    return []


def _component_errors(path, component):
    return [
        error
        for index, arg in enumerate(component.get("extraArgs") or [])
        for error in _arg_errors(f"{path}.extraArgs[{index}]", arg)
    ]


def _endpoint_errors(path, endpoint):
    errors = []
    address = endpoint.get("advertiseAddress")
    if address and not is_ip(address):
        errors.append(_invalid(f"{path}.advertiseAddress", address, "must be a valid IP address"))
    return errors


def _absolute(path, value):
    if value and not value.startswith("/"):
        return [_invalid(path, value, "path is not absolute")]
    return []


def _init_errors(doc):
    errors = _endpoint_errors("localAPIEndpoint", doc.get("localAPIEndpoint") or {})
    errors += _node_registration_errors("nodeRegistration", doc.get("nodeRegistration") or {})
    for index, token in enumerate(doc.get("bootstrapTokens") or []):
        if "ttl" in token and "expires" in token:
            errors.append(
                f"bootstrapTokens[{index}]: Invalid value: set either ttl or expires, not both"
            )
    return errors


def _etcd_errors(etcd):
    errors = []
    external = etcd.get("external")
    if external is None:
        return errors
    path = "etcd.external"
    ca, cert, key = (external.get(name, "") for name in ("caFile", "certFile", "keyFile"))
    if bool(cert) != bool(key):
        errors.append(
            _invalid(
                path,
                "",
                "either both or none of .Etcd.External.CertFile and .Etcd.External.KeyFile must "
                "be set",
            )
        )
    if cert and key and not ca:
        errors.append(
            _invalid(
                path,
                "",
                "setting .Etcd.External.CertFile and .Etcd.External.KeyFile requires "
                ".Etcd.External.CAFile",
            )
        )
    require_https = bool(ca or cert or key)
    for field in ("endpoints", "httpEndpoints"):
        for index, url in enumerate(external.get(field) or []):
            match = re.match(r"^(https?)://([^/]+)/?$", url)
            if not match:
                errors.append(
                    _invalid(
                        f"{path}.{field}[{index}]",
                        url,
                        "must be a valid URL, e.g. https://10.0.0.1:2379",
                    )
                )
            elif require_https and match.group(1) != "https":
                errors.append(
                    _invalid(
                        f"{path}.{field}[{index}]", url, "the URL must be using the HTTPS scheme"
                    )
                )
    for name in ("caFile", "certFile", "keyFile"):
        errors.extend(_absolute(f"{path}.{name}", external.get(name, "")))
    return errors


def _cluster_errors(doc):
    errors = []
    networking = doc.get("networking") or {}
    for field in ("serviceSubnet", "podSubnet"):
        if networking.get(field):
            errors.extend(_cidr_errors(f"networking.{field}", networking[field]))
    domain = networking.get("dnsDomain")
    if domain and not DNS1123_SUBDOMAIN.match(domain):
        errors.append(
            _invalid("networking.dnsDomain", domain, "a lowercase RFC 1123 subdomain is required")
        )
    endpoint = doc.get("controlPlaneEndpoint")
    if endpoint:
        try:
            host, _ = split_host_port(endpoint, 6443)
        except ValueError as exc:
            errors.append(_invalid("controlPlaneEndpoint", endpoint, str(exc)))
        else:
            if not (is_ip(host) or DNS1123_SUBDOMAIN.match(host)):
                errors.append(
                    _invalid(
                        "controlPlaneEndpoint",
                        endpoint,
                        "must be a valid IP address or a valid RFC-1123 DNS subdomain, both with "
                        "optional TCP port",
                    )
                )
    version = doc.get("kubernetesVersion")
    if version and not SEMVER.match(version):
        errors.append(
            _invalid(
                "kubernetesVersion",
                version,
                "kubeadm-sim: give an exact version such as v1.35.0 (labels like 'stable' need "
                "the internet, which air-gapped nodes do not have)",
            )
        )
    errors.extend(_absolute("certificatesDir", doc.get("certificatesDir", "")))
    errors.extend(_etcd_errors(doc.get("etcd") or {}))
    errors.extend(_component_errors("apiServer", doc.get("apiServer") or {}))
    errors.extend(_component_errors("controllerManager", doc.get("controllerManager") or {}))
    errors.extend(_component_errors("scheduler", doc.get("scheduler") or {}))
    local = (doc.get("etcd") or {}).get("local") or {}
    errors.extend(_component_errors("etcd.local", local))
    return errors


def _join_errors(doc):
    errors = _node_registration_errors("nodeRegistration", doc.get("nodeRegistration") or {})
    errors.extend(_absolute("caCertPath", doc.get("caCertPath", "")))
    discovery = doc.get("discovery") or {}
    token = discovery.get("bootstrapToken")
    if token is None and discovery.get("file") is None:
        errors.append(_invalid("discovery", "", "bootstrapToken or file must be set"))
    if token is not None:
        if not token.get("apiServerEndpoint"):
            errors.append(
                "discovery.bootstrapToken.apiServerEndpoint: Required value: APIServerEndpoint is "
                "not set"
            )
        if not token.get("caCertHashes") and not token.get("unsafeSkipCAVerification"):
            errors.append(
                "discovery.bootstrapToken.caCertHashes: Invalid value: []: using token-based "
                "discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as "
                "true in your kubeadm config file or pass "
                "--discovery-token-unsafe-skip-ca-verification flag to continue"
            )
    control_plane = doc.get("controlPlane")
    if control_plane is not None:
        errors.extend(
            _endpoint_errors(
                "controlPlane.localAPIEndpoint", control_plane.get("localAPIEndpoint") or {}
            )
        )
    return errors


def _kubelet_errors(doc):
    errors = []
    high, low = doc.get("imageGCHighThresholdPercent"), doc.get("imageGCLowThresholdPercent")
    if high is not None and low is not None and low >= high:
        errors.append(
            _invalid(
                "imageGCLowThresholdPercent",
                low,
                f"must be less than imageGCHighThresholdPercent ({high})",
            )
        )
    pulls = doc.get("maxParallelImagePulls")
    if pulls is not None and pulls > 1 and doc.get("serializeImagePulls", True):
        errors.append(
            _invalid(
                "maxParallelImagePulls",
                pulls,
                "must be 1 or unset while serializeImagePulls is true (the default)",
            )
        )
    for index, address in enumerate(doc.get("clusterDNS") or []):
        if not is_ip(address):
            errors.append(_invalid(f"clusterDNS[{index}]", address, "must be a valid IP address"))
    return errors


def _kubeproxy_errors(doc):
    if doc.get("clusterCIDR"):
        return _cidr_errors("clusterCIDR", doc["clusterCIDR"])
    return []


SEMANTIC = {
    "InitConfiguration": _init_errors,
    "ClusterConfiguration": _cluster_errors,
    "JoinConfiguration": _join_errors,
    "KubeletConfiguration": _kubelet_errors,
    "KubeProxyConfiguration": _kubeproxy_errors,
}


def semantic_errors(kind, doc):
    check = SEMANTIC.get(kind)
    return check(doc) if check else []


def durations_warning(cluster):
    """kubeadm warns when a leaf would outlive its CA."""
    leaf, ca = cluster.get("certificateValidityPeriod"), cluster.get("caCertificateValidityPeriod")
    if leaf and ca and parse_duration(leaf) > parse_duration(ca):
        return (
            f"certificateValidityPeriod: the value {leaf} is more than the "
            f"caCertificateValidityPeriod {ca}"
        )
    return None
