"""``kubeadm`` as the simulator answers it: commands, their flags, the files they write and the
shared cluster state they read and change. Every invocation is logged (see ``log_call``).

Commands: ``version``, ``config validate``, ``init`` (and ``init phase upload-certs``), ``join``,
``token create|list|delete|generate``, ``certs certificate-key``, ``reset``. Anything else is
``unknown command``, as kubeadm says for commands it does not have.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import shutil
import sys
import time

from . import config as cfgmod
from . import flags as flagmod
from . import manifests, pkicheck, pkiplan
from .errors import (
    STACK_HINT,
    PreflightError,
    SimError,
    UsageError,
    ValidationError,
    run_and_log,
)
from .state import ClusterState, Node, append_log_record, live_tokens, write_file

KUBERNETES_DIR = "/etc/kubernetes"
MANIFESTS = f"{KUBERNETES_DIR}/manifests"
KUBELET_CONF = f"{KUBERNETES_DIR}/kubelet.conf"
BOOTSTRAP_KUBELET_CONF = f"{KUBERNETES_DIR}/bootstrap-kubelet.conf"
ADMIN_CONF = f"{KUBERNETES_DIR}/admin.conf"
SUPER_ADMIN_CONF = f"{KUBERNETES_DIR}/super-admin.conf"
CONTROLLER_MANAGER_CONF = f"{KUBERNETES_DIR}/controller-manager.conf"
SCHEDULER_CONF = f"{KUBERNETES_DIR}/scheduler.conf"
KUBELET_CONFIG = f"{manifests.KUBELET_DIR}/config.yaml"
KUBELET_FLAGS = f"{manifests.KUBELET_DIR}/kubeadm-flags.env"
DEFAULT_TOKEN_TTL = "24h0m0s"
CERTS_SECRET_TTL = 2 * 3600
DEFAULT_GROUP = "system:bootstrappers:kubeadm:default-node-token"
DEFAULT_USAGES = ["signing", "authentication"]
STATIC_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")

# Flags that may be given with --config (cmd/kubeadm/app/util/config: isAllowedFlag).
ALLOWED_WITH_CONFIG = {
    "config",
    "ignore-preflight-errors",
    "dry-run",
    "kubeconfig",
    "node-name",
    "kubeconfig-dir",
    "upload-certs",
    "print-join-command",
    "rootfs",
    "v",
    "log-file",
}

USAGE = """kubeadm-sim: a kubeadm stand-in for tests (see docs/kubeadm-contract.md)

Usage:
  kubeadm [command]

Available Commands:
  certs       Commands related to handling kubernetes certificates (certificate-key only)
  config      Manage configuration for a kubeadm cluster (validate only)
  init        Run this command in order to set up the Kubernetes control plane
  join        Run this on any machine you wish to join an existing cluster
  reset       Revert what 'kubeadm init' or 'kubeadm join' made on this host
  token       Manage bootstrap tokens
  version     Print the version of kubeadm
"""


class Context:
    def __init__(self, node, out, err, stdin):
        self.node = node
        self.out = out
        self.err = err
        self.stdin = stdin
        self.store = ClusterState(node.state_path)
        self.kinds = []
        self.dry_run = False

    def say(self, text=""):
        print(text, file=self.out)

    def warn(self, text):
        print(
            f"W{datetime.datetime.now().strftime('%m%d %H:%M:%S')} kubeadm-sim] {text}",
            file=self.err,
        )

    def write(self, shown, data, mode):
        if self.dry_run:
            self.say(f"[dryrun] Would write file {shown!r}")
            return
        write_file(self.node.path(shown), data, mode)

    def write_yaml(self, shown, data, mode):
        self.write(shown, cfgmod.dump_yaml(data), mode)


# --- helpers --------------------------------------------------------------------------------------


def parse_version(text):
    match = cfgmod.SEMVER.match(text or "")
    if not match:
        raise ValidationError(f'couldn\'t parse Kubernetes version "{text}"')
    return tuple(int(match.group(i)) for i in (1, 2, 3))


def new_token():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    pick = secrets.choice
    return (
        "".join(pick(alphabet) for _ in range(6)) + "." + "".join(pick(alphabet) for _ in range(16))
    )


def check_token_format(token):
    if not flagmod.BOOTSTRAP_TOKEN.fullmatch(token or ""):
        raise ValidationError(
            f'the bootstrap token "{token}" was not of the form "[a-z0-9]{{6}}.[a-z0-9]{{16}}"'
        )


def timestamp(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def parse_time(text):
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return value.timestamp()


def ignored_checks(values):
    names = {value.strip().lower() for value in values if value.strip()}
    if "all" in names and len(names) > 1:
        raise ValidationError(
            f'ignore-preflight-errors: Invalid value: "{",".join(values)}": don\'t specify '
            "individual checks if 'all' is used"
        )
    return names


def check_name(kind, path):
    return f"{kind}-{path.replace('/', '-')}"


def run_preflight(ctx, checks, ignore, header="[preflight] Some fatal errors occurred:"):
    """``checks``: [(name, error message or None, is_warning)]. Fails like kubeadm."""
    fatal = []
    for name, message, warning in checks:
        if message is None:
            continue
        if warning or "all" in ignore or name.lower() in ignore:
            print(f"\t[WARNING {name}]: {message}", file=ctx.err)
        else:
            fatal.append(f"\t[ERROR {name}]: {message}")
    if fatal:
        raise PreflightError(
            "error execution phase preflight: "
            + header
            + "\n"
            + "\n".join(fatal)
            + "\n[preflight] If you know what you are doing, you can make a check non-fatal "
            "with `--ignore-preflight-errors=...`"
        )


def file_available(ctx, shown):
    message = f"{shown} already exists" if os.path.exists(ctx.node.path(shown)) else None
    return (check_name("FileAvailable", shown), message, False)


def dir_available(ctx, shown):
    real = ctx.node.path(shown)
    message = None
    if os.path.isdir(real) and os.listdir(real):
        message = f"{shown} is not empty"
    return (check_name("DirAvailable", shown), message, False)


def privileged_user(ctx):
    if ctx.node.root or os.geteuid() == 0:
        return ("IsPrivilegedUser", None, False)
    return ("IsPrivilegedUser", "user is not running as root", False)


def load_config(ctx, path, allow_experimental=False):
    real = ctx.node.path(path)
    try:
        with open(real, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise SimError(
            f"unable to read config from {path!r} : open {path}: {exc.strerror.lower()}"
        ) from None
    docs = cfgmod.parse_config(text, path, allow_experimental)
    ctx.kinds = docs.kinds()
    return docs


def mixed_flags(parsed):
    if not parsed.has("config"):
        return
    bad = [
        name
        for name in parsed.changed
        if name not in ALLOWED_WITH_CONFIG and not name.startswith("skip-")
    ]
    if bad:
        raise ValidationError(f"can not mix '--config' with arguments [{' '.join(bad)}]")


def ignore_kinds(ctx, docs, wanted):
    for kind in docs.kinds():
        if kind not in wanted:
            group = "kubeadm.k8s.io/v1beta4"
            if kind == "KubeletConfiguration":
                group = cfgmod.KUBELET_VERSION
            elif kind == "KubeProxyConfiguration":
                group = cfgmod.KUBEPROXY_VERSION
            ctx.warn(
                "[config] WARNING: Ignored configuration document with GroupVersionKind "
                f"{cfgmod.gvk_text(group, kind)}"
            )


def control_plane_endpoint(cluster, advertise, bind_port):
    endpoint = cluster.get("controlPlaneEndpoint")
    if not endpoint:
        return advertise if ":" not in advertise else f"[{advertise}]", bind_port
    host, port = cfgmod.split_host_port(endpoint, bind_port)
    return host, port


def endpoint_text(host, port):
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def version_checks(ctx, kubernetes_version):
    kubeadm = parse_version(ctx.node.version())
    wanted = parse_version(kubernetes_version)
    minimum = (kubeadm[0], kubeadm[1] - 1, 0)
    if wanted < minimum:
        raise ValidationError(
            "this version of kubeadm only supports deploying clusters with the control plane "
            f"version >= {minimum[0]}.{minimum[1]}.0. Current version: {kubernetes_version}"
        )
    if wanted[:2] > kubeadm[:2]:
        return (
            "KubernetesVersion",
            "Kubernetes version is greater than kubeadm version. Please consider to upgrade "
            f"kubeadm. Kubernetes version: {kubernetes_version.lstrip('v')}. Kubeadm version: "
            f"{kubeadm[0]}.{kubeadm[1]}.x",
            True,
        )
    return ("KubernetesVersion", None, True)


def shared_files(cluster):
    """Files kubeadm uploads to the kubeadm-certs Secret (copycerts.certsToTransfer)."""
    cert_dir = manifests.cluster_defaults(cluster)["certificatesDir"]
    names = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key"]
    files = [f"{cert_dir}/{name}" for name in names]
    external = (cluster.get("etcd") or {}).get("external")
    if external:
        files += [
            external[name] for name in ("caFile", "certFile", "keyFile") if external.get(name)
        ]
    else:
        files += [f"{cert_dir}/etcd/ca.crt", f"{cert_dir}/etcd/ca.key"]
    return files


def upload_certs(ctx, state, cluster, key):
    uploaded = {}
    for shown in shared_files(cluster):
        real = ctx.node.path(shown)
        if os.path.exists(real):
            with open(real, encoding="utf-8") as handle:
                uploaded[shown] = handle.read()
    state["uploaded_certs"] = {
        "key": key,
        "expires": ctx.node.now() + CERTS_SECRET_TTL,
        "files": uploaded,
        "by": ctx.node.hostname,
    }
    ctx.say(
        '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" '
        "Namespace"
    )


def require_cluster(ctx, state, action):
    if not state.get("cluster"):
        raise SimError(
            f"{action}: kubeadm-sim: no cluster in {ctx.store.path}: has `kubeadm init` run, and "
            "do all nodes share that state file?"
        )
    return state["cluster"]


def require_admin_kubeconfig(ctx, parsed):
    path = parsed.get("kubeconfig") or ADMIN_CONF
    if not os.path.exists(ctx.node.path(path)):
        raise SimError(f"failed to load admin kubeconfig: open {path}: no such file or directory")


def cluster_ca_pem(cluster):
    """The cluster's CA as joining nodes get it: cluster-info's CA data, which `kubectl patch`
    replaces during a CA rotation, else the CA of init. Its first certificate is the CA."""
    return cluster.get("cluster_info_ca_pem") or cluster["ca_cert_pem"]


def join_command(cluster, token, certificate_key=None, control_plane=False):
    """The join command kubeadm prints (one line, with kubeadm's trailing space): one hash per
    certificate of the CA data, as kubeadm prints for a CA bundle."""
    hashes = cluster.get("ca_cert_hashes") or [cluster["ca_cert_hash"]]
    command = f"kubeadm join {cluster['control_plane_endpoint']} --token {token} " + "".join(
        f"--discovery-token-ca-cert-hash {pin} " for pin in hashes
    )
    if certificate_key or control_plane:
        command += "--control-plane "
    if certificate_key:
        command += f"--certificate-key {certificate_key} "
    return command


def store_token(state, spec, now):
    token = spec["token"]
    token_id, secret = token.split(".")
    if spec.get("expires"):
        expires = parse_time(spec["expires"])
    else:
        ttl = cfgmod.parse_duration(spec.get("ttl") or DEFAULT_TOKEN_TTL)
        expires = None if ttl == 0 else now + ttl
    state.setdefault("tokens", {})[token_id] = {
        "id": token_id,
        "secret": secret,
        "expires": expires,
        "usages": list(spec.get("usages") or DEFAULT_USAGES),
        "groups": list(spec.get("groups") or [DEFAULT_GROUP]),
        "description": spec.get("description", ""),
        "created": now,
    }


def find_token(state, token, now, usage):
    """The stored token for ``token`` when it is live and has ``usage``, else None."""
    token_id, _, secret = (token or "").partition(".")
    stored = live_tokens(state, now).get(token_id)
    if stored is None or stored["secret"] != secret or usage not in stored["usages"]:
        return None
    return stored


def write_kubelet_files(ctx, kubelet_doc, cluster, registration):
    ctx.say(
        f'[kubelet-start] Writing kubelet environment file with flags to file "{KUBELET_FLAGS}"'
    )
    ctx.write(KUBELET_FLAGS, manifests.kubelet_flags(registration, ctx.node.hostname), 0o644)
    ctx.say(f'[kubelet-start] Writing kubelet configuration to file "{KUBELET_CONFIG}"')
    ctx.write_yaml(KUBELET_CONFIG, manifests.kubelet_config(kubelet_doc, cluster), 0o644)
    ctx.say("[kubelet-start] Starting the kubelet (kubeadm-sim: no kubelet runs)")


def write_static_pods(ctx, cluster, version, advertise, bind_port):
    ctx.say(f'[control-plane] Using manifest folder "{MANIFESTS}"')
    for name, pod in manifests.control_plane_pods(cluster, version, advertise, bind_port).items():
        component = name[: -len(".yaml")]
        if component == "etcd":
            ctx.say(f'[etcd] Creating static Pod manifest for local etcd in "{MANIFESTS}"')
        else:
            ctx.say(f'[control-plane] Creating static Pod manifest for "{component}"')
        ctx.write_yaml(f"{MANIFESTS}/{name}", pod, 0o600)


def fail_problems(phase, problems, cls=SimError):
    if problems:
        raise cls(f"error execution phase {phase}: " + "\n".join(problems))


# --- commands -------------------------------------------------------------------------------------


def cmd_version(ctx, argv):
    parsed = flagmod.parse(argv, {"output": "str"}, {"o": "output"})
    if parsed.args:
        raise UsageError(f'unknown command "{parsed.args[0]}" for "kubeadm version"')
    version = ctx.node.version()
    major, minor, _ = parse_version(version)
    info = {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "go-kubeadm-sim",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
    output = parsed.get("output", "")
    if output == "short":
        ctx.say(version)
    elif output == "json":
        ctx.say(json.dumps({"clientVersion": info}, indent=2))
    elif output == "yaml":
        ctx.say(cfgmod.dump_yaml({"clientVersion": info}).rstrip())
    elif output == "":
        fields = ", ".join(f'{key[0].upper()}{key[1:]}:"{value}"' for key, value in info.items())
        ctx.say(f"kubeadm version: &version.Info{{{fields}}}")
    else:
        raise SimError(f"invalid output format: {output}")
    return 0


def cmd_config(ctx, argv):
    if not argv or argv[0] in ("-h", "--help"):
        ctx.say("Usage:\n  kubeadm config validate --config FILE")
        return 0
    if argv[0] != "validate":
        raise UsageError(
            f'unknown command "{argv[0]}" for "kubeadm config" (kubeadm-sim has only "validate")'
        )
    parsed = flagmod.parse(
        argv[1:], {"config": "str", "allow-experimental-api": "bool", "kubeconfig": "str"}
    )
    if not parsed.get("config"):
        raise SimError("the --config flag is mandatory")
    load_config(ctx, parsed.get("config"), parsed.get("allow-experimental-api", False))
    ctx.say("ok")
    return 0


INIT_FLAGS = {
    "config": "str",
    "upload-certs": "bool",
    "skip-phases": "list",
    "ignore-preflight-errors": "list",
    "dry-run": "bool",
    "certificate-key": "str",
    "skip-certificate-key-print": "bool",
    "skip-token-print": "bool",
    "apiserver-advertise-address": "str",
    "apiserver-bind-port": "str",
    "apiserver-cert-extra-sans": "list",
    "control-plane-endpoint": "str",
    "kubernetes-version": "str",
    "pod-network-cidr": "str",
    "service-cidr": "str",
    "service-dns-domain": "str",
    "node-name": "str",
    "cri-socket": "str",
    "cert-dir": "str",
    "image-repository": "str",
    "token": "str",
    "token-ttl": "str",
    "feature-gates": "str",
    "patches": "str",
    "kubeconfig-dir": "str",
}


def init_docs_from_flags(parsed):
    init = {"apiVersion": cfgmod.KUBEADM_VERSION, "kind": "InitConfiguration"}
    cluster = {"apiVersion": cfgmod.KUBEADM_VERSION, "kind": "ClusterConfiguration"}
    endpoint = {}
    if parsed.has("apiserver-advertise-address"):
        endpoint["advertiseAddress"] = parsed.get("apiserver-advertise-address")
    if parsed.has("apiserver-bind-port"):
        try:
            endpoint["bindPort"] = int(parsed.get("apiserver-bind-port"))
        except ValueError:
            raise UsageError('invalid argument for "--apiserver-bind-port" flag') from None
    if endpoint:
        init["localAPIEndpoint"] = endpoint
    registration = {}
    if parsed.has("node-name"):
        registration["name"] = parsed.get("node-name")
    if parsed.has("cri-socket"):
        registration["criSocket"] = parsed.get("cri-socket")
    if registration:
        init["nodeRegistration"] = registration
    if parsed.has("token"):
        init["bootstrapTokens"] = [
            {"token": parsed.get("token"), "ttl": parsed.get("token-ttl", DEFAULT_TOKEN_TTL)}
        ]
    if parsed.has("certificate-key"):
        init["certificateKey"] = parsed.get("certificate-key")
    networking = {}
    for flag, field in (
        ("pod-network-cidr", "podSubnet"),
        ("service-cidr", "serviceSubnet"),
        ("service-dns-domain", "dnsDomain"),
    ):
        if parsed.has(flag):
            networking[field] = parsed.get(flag)
    if networking:
        cluster["networking"] = networking
    for flag, field in (
        ("control-plane-endpoint", "controlPlaneEndpoint"),
        ("kubernetes-version", "kubernetesVersion"),
        ("cert-dir", "certificatesDir"),
        ("image-repository", "imageRepository"),
    ):
        if parsed.has(flag):
            cluster[field] = parsed.get(flag)
    if parsed.has("apiserver-cert-extra-sans"):
        cluster["apiServer"] = {"certSANs": parsed.get("apiserver-cert-extra-sans")}
    problems = []
    for doc in (init, cluster):
        validator = cfgmod.schema.load_validator(doc["apiVersion"], doc["kind"])
        problems += [f"{doc['kind']} {path}: {message}" for path, message in validator.errors(doc)]
        if not problems:
            problems += [f"{doc['kind']} {m}" for m in cfgmod.semantic_errors(doc["kind"], doc)]
    if problems:
        raise ValidationError("\n".join(problems))
    return init, cluster


def cmd_init(ctx, argv):
    if argv and argv[0] == "phase":
        return cmd_init_phase(ctx, argv[1:])
    parsed = flagmod.parse(argv, INIT_FLAGS)
    if parsed.args:
        raise UsageError(f'unknown command "{parsed.args[0]}" for "kubeadm init"')
    mixed_flags(parsed)
    docs = None
    if parsed.has("config"):
        docs = load_config(ctx, parsed.get("config"))
        init = docs.get("InitConfiguration")
        cluster = docs.get("ClusterConfiguration")
        if init is None and cluster is None:
            raise SimError(
                "no InitConfiguration or ClusterConfiguration kind was found in the YAML file"
            )
        ignore_kinds(
            ctx,
            docs,
            {
                "InitConfiguration",
                "ClusterConfiguration",
                "KubeletConfiguration",
                "KubeProxyConfiguration",
            },
        )
        init, cluster = init or {}, cluster or {}
    else:
        init, cluster = init_docs_from_flags(parsed)
    kubelet_doc = docs.get("KubeletConfiguration") if docs else None
    proxy_doc = docs.get("KubeProxyConfiguration") if docs else None
    ctx.dry_run = bool(parsed.get("dry-run") or init.get("dryRun"))
    node = ctx.node
    registration = init.get("nodeRegistration") or {}
    ignore = ignored_checks(
        registration.get("ignorePreflightErrors", []) + parsed.get("ignore-preflight-errors", [])
    )
    skip = set(
        parsed.get("skip-phases", []) if parsed.has("skip-phases") else init.get("skipPhases") or []
    )
    version = cluster.get("kubernetesVersion") or node.version()
    if not version.startswith("v"):
        version = f"v{version}"
    endpoint = init.get("localAPIEndpoint") or {}
    advertise = endpoint.get("advertiseAddress") or node.env.get("KUBEADM_SIM_DEFAULT_ADDRESS")
    if not advertise:
        raise ValidationError(
            "InitConfiguration localAPIEndpoint.advertiseAddress: kubeadm-sim: set it (the "
            "simulator does not guess the default-route address)"
        )
    bind_port = endpoint.get("bindPort") or 6443
    node_name = registration.get("name") or node.hostname
    cp_host, cp_port = control_plane_endpoint(cluster, advertise, bind_port)
    cp_endpoint = endpoint_text(cp_host, cp_port)
    defaults = manifests.cluster_defaults(cluster)
    warning = cfgmod.durations_warning(cluster)
    if warning:
        ctx.warn(warning)

    version_check = version_checks(ctx, version)
    ctx.say(f"[init] Using Kubernetes version: {version}")
    if "preflight" not in skip:
        ctx.say("[preflight] Running pre-flight checks")
        checks = [privileged_user(ctx), version_check]
        checks += [file_available(ctx, f"{MANIFESTS}/{pod}.yaml") for pod in STATIC_PODS]
        etcd = cluster.get("etcd") or {}
        if etcd.get("external"):
            for name in ("caFile", "certFile", "keyFile"):
                path = etcd["external"].get(name)
                if path and not os.path.exists(node.path(path)):
                    checks.append(
                        ("ExternalEtcdClientCertificates", f"{path} doesn't exist", False)
                    )
        else:
            data_dir = (etcd.get("local") or {}).get("dataDir") or "/var/lib/etcd"
            checks.append(dir_available(ctx, data_dir))
        run_preflight(ctx, checks, ignore)
        ctx.say("[preflight] Pulling images required for setting up a Kubernetes cluster")
        ctx.say("[preflight] kubeadm-sim: no images are pulled")

    state = ctx.store.read()
    existing = state.get("cluster")
    ready = [
        name
        for name, entry in state.get("nodes", {}).items()
        if entry.get("ready") and entry.get("role") == "control-plane"
    ]
    if existing and ready:
        raise SimError(
            f"kubeadm-sim: the cluster in {ctx.store.path} was already initialised by "
            f"{existing['initialised_by']} at {timestamp(existing['time'])} and has control-plane "
            f"node(s) {', '.join(sorted(ready))}: `kubeadm init` must run exactly once; use "
            "`kubeadm join` on the other nodes"
        )

    ctx.say(f'[certs] Using certificateDir folder "{defaults["certificatesDir"]}"')
    checker = pkiplan.PKIChecker(node, cluster)
    report = checker.check_control_plane(node_name, advertise)
    for line in report.lines:
        ctx.say(line)
    fail_problems("certs", report.problems)
    checker.report.lines = []
    ctx.say(f'[kubeconfig] Using kubeconfig folder "{KUBERNETES_DIR}"')
    external_url = pkiplan.url(cp_host.strip("[]"), cp_port)
    local_url = pkiplan.url(advertise, bind_port)
    checker.check_kubeconfigs(
        [
            (ADMIN_CONF, external_url, "kubernetes-admin"),
            (SUPER_ADMIN_CONF, external_url, "kubernetes-super-admin"),
            (KUBELET_CONF, external_url, f"system:node:{node_name}"),
            (CONTROLLER_MANAGER_CONF, local_url, "system:kube-controller-manager"),
            (SCHEDULER_CONF, local_url, "system:kube-scheduler"),
        ],
        cfgmod.load_yaml_documents,
        lambda shown, content: ctx.write_yaml(shown, content, 0o600),
        defaults["clusterName"],
        "init",
    )
    for line in report.lines:
        ctx.say(line)
    for text in report.warnings:
        ctx.warn(text)
    fail_problems("kubeconfig", report.problems)

    if "kubelet-start" not in skip:
        write_kubelet_files(ctx, kubelet_doc, cluster, registration)
    if "control-plane" not in skip:
        write_static_pods(ctx, cluster, version, advertise, bind_port)
    ctx.say("[wait-control-plane] kubeadm-sim: no static Pods run; not waiting")

    if ctx.dry_run:
        ctx.say(
            "[dryrun] Finished dry-running successfully. Above are the resources that would be "
            "created"
        )
        return 0
    now = node.now()
    tokens = list(init.get("bootstrapTokens") or [{"token": new_token()}])
    certificate_key = None
    with ctx.store.locked() as state:
        if state.get("cluster") and any(
            entry.get("ready") and entry.get("role") == "control-plane"
            for entry in state["nodes"].values()
        ):
            raise SimError("kubeadm-sim: another node initialised the cluster meanwhile")
        fresh = {"nodes": {}, "tokens": {}, "uploaded_certs": None, "control_plane_joins": {}}
        state.update(fresh)
        state["cluster"] = {
            "initialised_by": node_name,
            "host": node.hostname,
            "time": now,
            "kubernetes_version": version,
            "control_plane_endpoint": cp_endpoint,
            "has_control_plane_endpoint": bool(cluster.get("controlPlaneEndpoint")),
            "cluster_configuration": cluster,
            "kubelet_configuration": kubelet_doc,
            "kube_proxy_configuration": proxy_doc,
            "ca_cert_pem": report.ca.pem,
            "ca_cert_hash": pkicheck.ca_cert_hash(report.ca),
        }
        state["nodes"][node_name] = {
            "role": "control-plane",
            "ready": True,
            "host": node.hostname,
            "advertise_address": advertise,
            "bind_port": bind_port,
            "joined": now,
            "via": "init",
        }
        ctx.say(
            '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the '
            '"kube-system" Namespace'
        )
        ctx.say(f"[mark-control-plane] Marking the node {node_name} as control-plane")
        for spec in tokens:
            store_token(state, spec, now)
            if not parsed.get("skip-token-print"):
                ctx.say(f"[bootstrap-token] Using token: {spec['token']}")
        if parsed.get("upload-certs") and "upload-certs" not in skip:
            certificate_key = init.get("certificateKey") or secrets.token_hex(32)
            upload_certs(ctx, state, cluster, certificate_key)
            if not parsed.get("skip-certificate-key-print"):
                ctx.say(f"[upload-certs] Using certificate key:\n{certificate_key}")
        elif "upload-certs" not in skip:
            ctx.say("[upload-certs] Skipping phase. Please see --upload-certs")
        cluster_state = state["cluster"]
    ctx.say("[addons] Applied essential addon: CoreDNS (kubeadm-sim: recorded only)")
    if not (cluster.get("proxy") or {}).get("disabled"):
        ctx.say("[addons] Applied essential addon: kube-proxy (kubeadm-sim: recorded only)")
    ctx.say("\nYour Kubernetes control-plane has initialized successfully!\n")
    token = tokens[0]["token"]
    if cluster.get("controlPlaneEndpoint"):
        ctx.say(
            "You can now join any number of control-plane nodes running the following command on "
            "each as root:\n"
        )
        ctx.say("  " + join_command(cluster_state, token, certificate_key, control_plane=True))
        if not certificate_key:
            ctx.say(
                "\nPlease note that the certificate-key gives access to cluster sensitive data; "
                "without --upload-certs, copy the shared certificates to each control-plane node "
                "first."
            )
    ctx.say(
        "\nThen you can join any number of worker nodes by running the following on each as root:\n"
    )
    ctx.say(join_command(cluster_state, token))
    return 0


def cmd_init_phase(ctx, argv):
    if not argv or argv[0] != "upload-certs":
        name = argv[0] if argv else ""
        raise UsageError(
            f'unknown command "{name}" for "kubeadm init phase" (kubeadm-sim has only '
            '"upload-certs")'
        )
    parsed = flagmod.parse(
        argv[1:],
        {
            "upload-certs": "bool",
            "certificate-key": "str",
            "config": "str",
            "kubeconfig": "str",
            "skip-certificate-key-print": "bool",
        },
    )
    if not parsed.get("upload-certs"):
        ctx.say("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    key = parsed.get("certificate-key")
    if parsed.has("config"):
        docs = load_config(ctx, parsed.get("config"))
        key = key or (docs.get("InitConfiguration") or {}).get("certificateKey")
    if key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", key):
        raise ValidationError("certificate key must be a hex encoded 32-byte (AES-256) key")
    key = key or secrets.token_hex(32)
    require_admin_kubeconfig(ctx, parsed)
    with ctx.store.locked() as state:
        cluster = require_cluster(ctx, state, "error execution phase upload-certs")
        upload_certs(ctx, state, cluster["cluster_configuration"], key)
    if not parsed.get("skip-certificate-key-print"):
        ctx.say(f"[upload-certs] Using certificate key:\n{key}")
    return 0


JOIN_FLAGS = {
    "config": "str",
    "token": "str",
    "discovery-token": "str",
    "discovery-token-ca-cert-hash": "list",
    "discovery-token-unsafe-skip-ca-verification": "bool",
    "discovery-file": "str",
    "tls-bootstrap-token": "str",
    "control-plane": "bool",
    "certificate-key": "str",
    "apiserver-advertise-address": "str",
    "apiserver-bind-port": "str",
    "node-name": "str",
    "cri-socket": "str",
    "ignore-preflight-errors": "list",
    "skip-phases": "list",
    "dry-run": "bool",
    "patches": "str",
}


def join_doc_from_flags(parsed):
    doc = {"apiVersion": cfgmod.KUBEADM_VERSION, "kind": "JoinConfiguration", "discovery": {}}
    token = parsed.get("token")
    discovery = doc["discovery"]
    if parsed.has("discovery-file"):
        discovery["file"] = {"kubeConfigPath": parsed.get("discovery-file")}
    else:
        bootstrap = {"token": parsed.get("discovery-token") or token or ""}
        if parsed.args:
            bootstrap["apiServerEndpoint"] = parsed.args[0]
        if parsed.has("discovery-token-ca-cert-hash"):
            bootstrap["caCertHashes"] = parsed.get("discovery-token-ca-cert-hash")
        if parsed.get("discovery-token-unsafe-skip-ca-verification"):
            bootstrap["unsafeSkipCAVerification"] = True
        discovery["bootstrapToken"] = bootstrap
    if parsed.get("tls-bootstrap-token") or token:
        discovery["tlsBootstrapToken"] = parsed.get("tls-bootstrap-token") or token
    registration = {}
    if parsed.has("node-name"):
        registration["name"] = parsed.get("node-name")
    if parsed.has("cri-socket"):
        registration["criSocket"] = parsed.get("cri-socket")
    if registration:
        doc["nodeRegistration"] = registration
    if parsed.get("control-plane"):
        control = {}
        endpoint = {}
        if parsed.has("apiserver-advertise-address"):
            endpoint["advertiseAddress"] = parsed.get("apiserver-advertise-address")
        if parsed.has("apiserver-bind-port"):
            try:
                endpoint["bindPort"] = int(parsed.get("apiserver-bind-port"))
            except ValueError:
                raise UsageError('invalid argument for "--apiserver-bind-port" flag') from None
        if endpoint:
            control["localAPIEndpoint"] = endpoint
        if parsed.has("certificate-key"):
            control["certificateKey"] = parsed.get("certificate-key")
        doc["controlPlane"] = control
    validator = cfgmod.schema.load_validator(cfgmod.KUBEADM_VERSION, "JoinConfiguration")
    problems = [f"JoinConfiguration {path}: {message}" for path, message in validator.errors(doc)]
    if not problems:
        problems = [
            f"JoinConfiguration {m}" for m in cfgmod.semantic_errors("JoinConfiguration", doc)
        ]
    if problems:
        raise ValidationError("\n".join(problems))
    return doc


def endpoint_known(state, endpoint):
    cluster = state["cluster"]
    candidates = {cluster["control_plane_endpoint"]}
    for entry in state.get("nodes", {}).values():
        if entry.get("role") == "control-plane" and entry.get("ready"):
            candidates.add(endpoint_text(entry["advertise_address"], entry["bind_port"]))
    try:
        host, port = cfgmod.split_host_port(endpoint, 6443)
    except ValueError:
        return False
    return endpoint_text(host, port) in candidates or endpoint in candidates


def discover(ctx, state, join):
    """Discovery and TLS bootstrap credentials, as kubeadm's discovery phase judges them."""
    now = ctx.node.now()
    cluster = require_cluster(
        ctx,
        state,
        "error execution phase preflight: couldn't validate the identity of the API Server",
    )
    discovery = join["discovery"]
    prefix = "error execution phase preflight: couldn't validate the identity of the API Server: "
    bootstrap = discovery.get("bootstrapToken")
    if bootstrap is not None:
        endpoint = bootstrap["apiServerEndpoint"]
        if not endpoint_known(state, endpoint):
            raise SimError(
                prefix + f"kubeadm-sim: no API server at {endpoint}: the cluster is reachable at "
                f"{cluster['control_plane_endpoint']} or a joined control-plane node's address"
            )
        token = bootstrap["token"]
        if find_token(state, token, now, "signing") is None:
            raise SimError(
                prefix + "could not find a JWS signature in the cluster-info ConfigMap for token "
                f'ID "{token.partition(".")[0]}"'
            )
        if not bootstrap.get("unsafeSkipCAVerification"):
            # kubeadm's pubkeypin CheckAny: any pin may match any certificate of cluster-info's
            # CA data (a bundle once `kubectl patch` stored one, during a CA rotation).
            pins = [pin.lower() for pin in bootstrap.get("caCertHashes") or []]
            hashes = cluster.get("ca_cert_hashes") or [cluster["ca_cert_hash"]]
            if not set(hashes) & set(pins):
                raise SimError(
                    prefix + "cluster CA found in cluster-info ConfigMap is invalid: none of the "
                    f'public keys "{":".join(hashes)}" are pinned'
                )
        tls_token = discovery.get("tlsBootstrapToken") or token
    else:
        shown = discovery["file"]["kubeConfigPath"]
        real = ctx.node.path(shown)
        if not os.path.exists(real):
            raise SimError(prefix + f"couldn't read {shown}: no such file or directory")
        try:
            server, ca_der = pkicheck.read_kubeconfig(real, cfgmod.load_yaml_documents)
        except pkicheck.PKIProblem as exc:
            raise SimError(prefix + str(exc).replace(real, shown)) from None
        cluster_ca = pkicheck.pem_blocks(cluster_ca_pem(cluster), "CERTIFICATE")[0]
        if ca_der != cluster_ca:
            raise SimError(prefix + f"kubeadm-sim: the CA in {shown} is not the cluster's CA")
        if not endpoint_known(state, server.replace("https://", "")):
            raise SimError(prefix + f"kubeadm-sim: no API server at {server}")
        tls_token = discovery.get("tlsBootstrapToken")
        if not tls_token:
            raise ValidationError(
                "discovery.tlsBootstrapToken: Required value: kubeadm-sim: the discovery file "
                "carries no credentials the simulator can use; set tlsBootstrapToken"
            )
    return cluster, tls_token


def check_tls_bootstrap(ctx, state, tls_token):
    if find_token(state, tls_token, ctx.node.now(), "authentication") is None:
        raise SimError(
            "error execution phase kubelet-start: kubeadm-sim: the TLS bootstrap token is unknown, "
            "expired or lacks the 'authentication' usage: the kubelet's TLS bootstrap would be "
            "refused (Unauthorized) and kubeadm would time out waiting for it"
        )


def control_plane_join_start(ctx, node_name):
    now = time.time()
    with ctx.store.locked() as state:
        joins = state.setdefault("control_plane_joins", {})
        for other, started in list(joins.items()):
            if now - started > 600:
                del joins[other]
        others = {name: started for name, started in joins.items() if name != node_name}
        if others:
            name, started = next(iter(others.items()))
            raise SimError(
                f"kubeadm-sim: the control-plane join of {node_name} started while the one of "
                f"{name} (started {timestamp(started)}) is still running: join control-plane "
                "nodes one at a time"
            )
        joins[node_name] = now


def control_plane_join_end(ctx, node_name):
    with ctx.store.locked() as state:
        state.setdefault("control_plane_joins", {}).pop(node_name, None)


def cmd_join(ctx, argv):
    parsed = flagmod.parse(argv, JOIN_FLAGS)
    mixed_flags(parsed)
    if parsed.has("config"):
        docs = load_config(ctx, parsed.get("config"))
        join = docs.get("JoinConfiguration")
        if join is None:
            raise SimError("no JoinConfiguration kind was found in the YAML file")
        ignore_kinds(ctx, docs, {"JoinConfiguration"})
        if parsed.args:
            endpoint = (join["discovery"].get("bootstrapToken") or {}).get("apiServerEndpoint")
            if parsed.args[0] != endpoint:
                ctx.warn(
                    f"kubeadm-sim: the endpoint argument {parsed.args[0]} is ignored: --config is "
                    "set"
                )
    else:
        join = join_doc_from_flags(parsed)
    node = ctx.node
    ctx.dry_run = bool(parsed.get("dry-run") or join.get("dryRun"))
    registration = join.get("nodeRegistration") or {}
    ignore = ignored_checks(
        registration.get("ignorePreflightErrors", []) + parsed.get("ignore-preflight-errors", [])
    )
    skip = set(
        parsed.get("skip-phases", []) if parsed.has("skip-phases") else join.get("skipPhases") or []
    )
    node_name = registration.get("name") or node.hostname
    control = join.get("controlPlane")
    ca_cert_path = join.get("caCertPath") or "/etc/kubernetes/pki/ca.crt"

    if "preflight" not in skip:
        ctx.say("[preflight] Running pre-flight checks")
        checks = [
            privileged_user(ctx),
            dir_available(ctx, MANIFESTS),
            file_available(ctx, KUBELET_CONF),
            file_available(ctx, BOOTSTRAP_KUBELET_CONF),
        ]
        if control is None:
            checks.append(file_available(ctx, ca_cert_path))
        run_preflight(ctx, checks, ignore)

    state = ctx.store.read()
    cluster, tls_token = discover(ctx, state, join)
    ctx.say(
        '[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace '
        '"kube-system"...'
    )
    cluster_cfg = cluster["cluster_configuration"]
    existing = state.get("nodes", {}).get(node_name)
    if existing and existing.get("ready"):
        raise SimError(
            f'error execution phase kubelet-start: a Node with name "{node_name}" and status '
            '"Ready" already exists in the cluster. You must delete the existing Node or change '
            "the name of this new joining Node"
        )

    advertise, bind_port = None, None
    if control is not None:
        endpoint = control.get("localAPIEndpoint") or {}
        advertise = endpoint.get("advertiseAddress") or node.env.get("KUBEADM_SIM_DEFAULT_ADDRESS")
        if not advertise:
            raise ValidationError(
                "JoinConfiguration controlPlane.localAPIEndpoint.advertiseAddress: kubeadm-sim: "
                "set it (the simulator does not guess the default-route address)"
            )
        bind_port = endpoint.get("bindPort") or 6443
        ctx.say(
            "[preflight] Running pre-flight checks before initializing the new control plane "
            "instance"
        )
        if not cluster.get("has_control_plane_endpoint"):
            raise SimError(
                "error execution phase preflight: unable to add a new control plane instance to a "
                "cluster that doesn't have a stable controlPlaneEndpoint address"
            )
        if "preflight" not in skip:
            checks = [file_available(ctx, f"{MANIFESTS}/{pod}.yaml") for pod in STATIC_PODS]
            external = (cluster_cfg.get("etcd") or {}).get("external")
            for name in ("caFile", "certFile", "keyFile"):
                path = (external or {}).get(name)
                if path and not os.path.exists(node.path(path)):
                    checks.append(
                        ("ExternalEtcdClientCertificates", f"{path} doesn't exist", False)
                    )
            run_preflight(ctx, checks, ignore)
        certificate_key = control.get("certificateKey")
        if certificate_key:
            download_certs(ctx, state, certificate_key)
    check_tls_bootstrap(ctx, state, tls_token)

    started = False
    try:
        if control is not None:
            if not ctx.dry_run:
                control_plane_join_start(ctx, node_name)
                started = True
            join_control_plane(ctx, cluster, node_name, advertise, bind_port, skip)
            if node.join_seconds > 0 and not ctx.dry_run:
                time.sleep(node.join_seconds)
        join_kubelet(ctx, cluster, registration, node_name, ca_cert_path, skip)
        if ctx.dry_run:
            ctx.say(
                "[dryrun] Finished dry-running successfully. Above are the resources that would "
                "be created"
            )
            return 0
        now = node.now()
        with ctx.store.locked() as state:
            state.setdefault("nodes", {})[node_name] = {
                "role": "control-plane" if control is not None else "worker",
                "ready": True,
                "host": node.hostname,
                "advertise_address": advertise,
                "bind_port": bind_port,
                "joined": now,
                "via": "join",
            }
    finally:
        if started:
            control_plane_join_end(ctx, node_name)
    ctx.say("\nThis node has joined the cluster:")
    ctx.say("* Certificate signing request was sent to apiserver and a response was received.")
    ctx.say("* The Kubelet was informed of the new secure connection details.")
    if control is not None:
        ctx.say("* Control plane label and taint were applied to the new node.")
        ctx.say("* The Kubernetes control plane instances scaled up.")
    ctx.say("\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.")
    return 0


def download_certs(ctx, state, key):
    uploaded = state.get("uploaded_certs")
    if not uploaded or uploaded["expires"] <= ctx.node.now():
        raise SimError(
            "error execution phase control-plane-prepare/download-certs: error downloading certs: "
            'error downloading the secret: Secret "kubeadm-certs" was not found in the '
            '"kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init '
            "phase upload-certs --upload-certs` on a control plane to generate a new one"
        )
    if key.lower() != uploaded["key"].lower():
        raise SimError(
            "error execution phase control-plane-prepare/download-certs: error downloading certs: "
            "error decoding secret data with provided key: cipher: message authentication failed"
        )
    ctx.say(
        '[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the '
        '"kube-system" Namespace'
    )
    for shown, content in uploaded["files"].items():
        mode = 0o600 if shown.endswith(".key") else 0o644
        ctx.write(shown, content, mode)


def join_control_plane(ctx, cluster, node_name, advertise, bind_port, skip):
    cluster_cfg = cluster["cluster_configuration"]
    defaults = manifests.cluster_defaults(cluster_cfg)
    ctx.say(f'[certs] Using certificateDir folder "{defaults["certificatesDir"]}"')
    checker = pkiplan.PKIChecker(ctx.node, cluster_cfg)
    report = checker.check_control_plane(node_name, advertise, with_ca_key_warning=True)
    for line in report.lines:
        ctx.say(line)
    if report.ca is not None:
        cluster_ca = pkicheck.pem_blocks(cluster_ca_pem(cluster), "CERTIFICATE")[0]
        if report.ca.der != cluster_ca:
            report.problems.append(
                f"kubeadm-sim: {defaults['certificatesDir']}/ca.crt on this node is not the "
                "cluster's CA"
            )
    fail_problems("control-plane-prepare/certs", report.problems)
    report.lines = []
    host, port = cfgmod.split_host_port(cluster["control_plane_endpoint"], bind_port)
    checker.check_kubeconfigs(
        [
            (ADMIN_CONF, pkiplan.url(host, port), "kubernetes-admin"),
            (
                CONTROLLER_MANAGER_CONF,
                pkiplan.url(advertise, bind_port),
                "system:kube-controller-manager",
            ),
            (SCHEDULER_CONF, pkiplan.url(advertise, bind_port), "system:kube-scheduler"),
        ],
        cfgmod.load_yaml_documents,
        lambda shown, content: ctx.write_yaml(shown, content, 0o600),
        defaults["clusterName"],
        "join",
    )
    for line in report.lines:
        ctx.say(line)
    for text in report.warnings:
        ctx.warn(text)
    fail_problems("control-plane-prepare/kubeconfig", report.problems)
    if "control-plane-prepare" not in skip:
        write_static_pods(ctx, cluster_cfg, cluster["kubernetes_version"], advertise, bind_port)


def join_kubelet(ctx, cluster, registration, node_name, ca_cert_path, skip):
    if "kubelet-start" in skip:
        return
    node = ctx.node
    cluster_cfg = cluster["cluster_configuration"]
    cluster_ca = pkicheck.pem_blocks(cluster_ca_pem(cluster), "CERTIFICATE")[0]
    host, port = cfgmod.split_host_port(cluster["control_plane_endpoint"], 6443)
    server = pkiplan.url(host, port)
    name = manifests.cluster_defaults(cluster_cfg)["clusterName"]
    ca_real = node.path(ca_cert_path)
    if os.path.exists(ca_real):
        with open(ca_real, encoding="ascii", errors="replace") as handle:
            blocks = pkicheck.pem_blocks(handle.read(), "CERTIFICATE")
        if not blocks or blocks[0] != cluster_ca:
            raise SimError(
                f"error execution phase kubelet-start: kubeadm-sim: {ca_cert_path} is not the "
                "cluster's CA"
            )
    else:
        ctx.write(ca_cert_path, cluster_ca_pem(cluster), 0o644)
    kubelet_real = node.path(KUBELET_CONF)
    if os.path.exists(kubelet_real):
        try:
            _, ca_der = pkicheck.read_kubeconfig(kubelet_real, cfgmod.load_yaml_documents)
        except pkicheck.PKIProblem as exc:
            raise SimError(
                "error execution phase kubelet-start: "
                f"{str(exc).replace(kubelet_real, KUBELET_CONF)}"
            ) from None
        if ca_der != cluster_ca:
            raise SimError(
                f"error execution phase kubelet-start: kubeadm-sim: {KUBELET_CONF} embeds a CA "
                "other than the cluster's: the kubelet could not talk to the API server"
            )
        problem = pkicheck.private_mode_problem(kubelet_real, KUBELET_CONF)
        if problem:
            raise SimError(f"error execution phase kubelet-start: {problem}")
    write_kubelet_files(ctx, cluster.get("kubelet_configuration"), cluster_cfg, registration)
    if not os.path.exists(kubelet_real):
        ctx.say("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
        content = manifests.kubeconfig(
            name, server, cluster_ca_pem(cluster), f"system:node:{node_name}", "tls-bootstrap"
        )
        ctx.write_yaml(KUBELET_CONF, content, 0o600)
    else:
        ctx.say(f"[kubelet-start] kubeadm-sim: the kubelet uses the existing {KUBELET_CONF}")


TOKEN_FLAGS = {
    "config": "str",
    "ttl": "str",
    "print-join-command": "bool",
    "description": "str",
    "groups": "list",
    "usages": "list",
    "certificate-key": "str",
    "kubeconfig": "str",
    "dry-run": "bool",
    "output": "str",
}


def cmd_token(ctx, argv):
    if not argv or argv[0] in ("-h", "--help"):
        ctx.say("Usage:\n  kubeadm token [create|list|delete|generate]")
        return 0
    sub, rest = argv[0], argv[1:]
    if sub == "generate":
        flagmod.parse(rest, {})
        ctx.say(new_token())
        return 0
    if sub not in ("create", "list", "delete"):
        raise UsageError(f'unknown command "{sub}" for "kubeadm token"')
    parsed = flagmod.parse(rest, TOKEN_FLAGS, {"o": "output"})
    if parsed.has("config"):
        load_config(ctx, parsed.get("config"))
    require_admin_kubeconfig(ctx, parsed)
    now = ctx.node.now()
    if sub == "create":
        return token_create(ctx, parsed, now)
    if sub == "list":
        return token_list(ctx, parsed, now)
    if not parsed.args:
        raise SimError(
            "missing argument; 'token delete' is missing token of form \"[a-z0-9]{6}\" or "
            '"[a-z0-9]{6}.[a-z0-9]{16}"'
        )
    with ctx.store.locked() as state:
        require_cluster(ctx, state, "failed to delete bootstrap token")
        for value in parsed.args:
            token_id = value.partition(".")[0]
            if state["tokens"].pop(token_id, None) is None:
                raise SimError(
                    f'failed to delete bootstrap token "{token_id}": secrets '
                    f'"bootstrap-token-{token_id}" not found'
                )
            ctx.say(f'bootstrap token "{token_id}" deleted')
    return 0


def token_create(ctx, parsed, now):
    token = parsed.args[0] if parsed.args else new_token()
    check_token_format(token)
    ttl = parsed.get("ttl", DEFAULT_TOKEN_TTL)
    try:
        cfgmod.parse_duration(ttl)
    except ValueError:
        raise UsageError(
            f'invalid argument "{ttl}" for "--ttl" flag: time: invalid duration "{ttl}"'
        ) from None
    usages = parsed.get("usages") or DEFAULT_USAGES
    for usage in usages:
        if usage not in ("signing", "authentication"):
            raise ValidationError(f'unknown bootstrap token usage "{usage}"')
    key = parsed.get("certificate-key")
    if key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", key):
        raise ValidationError("certificate key must be a hex encoded 32-byte (AES-256) key")
    with ctx.store.locked(write=not parsed.get("dry-run")) as state:
        cluster = require_cluster(ctx, state, "unable to create bootstrap token")
        spec = {
            "token": token,
            "ttl": ttl,
            "usages": usages,
            "groups": parsed.get("groups") or [DEFAULT_GROUP],
            "description": parsed.get("description", ""),
        }
        store_token(state, spec, now)
    if parsed.get("print-join-command"):
        ctx.say(join_command(cluster, token, key))
    else:
        ctx.say(token)
    return 0


def token_list(ctx, parsed, now):
    state = ctx.store.read()
    require_cluster(ctx, state, "failed to list bootstrap tokens")
    output = parsed.get("output", "text")
    rows = []
    for token_id, token in sorted(live_tokens(state, now).items()):
        expires = token.get("expires")
        rows.append(
            {
                "kind": "BootstrapToken",
                "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
                "token": f"{token_id}.{token['secret']}",
                "description": token.get("description", ""),
                "expires": timestamp(expires) if expires else None,
                "ttl": cfgmod.format_duration(expires - now) if expires else "<forever>",
                "usages": token["usages"],
                "groups": token["groups"],
            }
        )
    if output == "json":
        for row in rows:
            ctx.say(
                json.dumps({k: v for k, v in row.items() if k != "ttl" and v is not None}, indent=2)
            )
        return 0
    if output not in ("text", ""):
        raise SimError(f"invalid output format: {output}")
    ctx.say(f"{'TOKEN':<24}{'TTL':<12}{'EXPIRES':<23}{'USAGES':<25}{'DESCRIPTION':<59}EXTRA GROUPS")
    for row in rows:
        ctx.say(
            f"{row['token']:<24}{row['ttl']:<12}{row['expires'] or '<never>':<23}"
            f"{','.join(row['usages']):<25}{row['description'] or '<none>':<59}"
            f"{','.join(row['groups'])}"
        )
    return 0


def cmd_certs(ctx, argv):
    if not argv or argv[0] != "certificate-key":
        name = argv[0] if argv else ""
        raise UsageError(
            f'unknown command "{name}" for "kubeadm certs" (kubeadm-sim has only "certificate-key")'
        )
    parsed = flagmod.parse(argv[1:], {})
    if parsed.args:
        raise UsageError(f'unknown command "{parsed.args[0]}" for "kubeadm certs certificate-key"')
    ctx.say(secrets.token_hex(32))
    return 0


RESET_FLAGS = {
    "force": "bool",
    "config": "str",
    "cri-socket": "str",
    "cert-dir": "str",
    "cleanup-tmp-dir": "bool",
    "ignore-preflight-errors": "list",
    "skip-phases": "list",
    "dry-run": "bool",
    "kubeconfig": "str",
}


def cmd_reset(ctx, argv):
    parsed = flagmod.parse(argv, RESET_FLAGS, {"f": "force"})
    if parsed.args:
        raise UsageError(f'unknown command "{parsed.args[0]}" for "kubeadm reset"')
    mixed_flags(parsed)
    reset = {}
    if parsed.has("config"):
        docs = load_config(ctx, parsed.get("config"))
        reset = docs.get("ResetConfiguration") or {}
        ignore_kinds(ctx, docs, {"ResetConfiguration"})
    force = parsed.get("force") or reset.get("force")
    ctx.dry_run = bool(parsed.get("dry-run") or reset.get("dryRun"))
    skip = set(
        parsed.get("skip-phases", [])
        if parsed.has("skip-phases")
        else reset.get("skipPhases") or []
    )
    state = ctx.store.read()
    cluster = state.get("cluster") or {}
    cert_dir = (
        parsed.get("cert-dir")
        or reset.get("certificatesDir")
        or manifests.cluster_defaults(cluster.get("cluster_configuration") or {})["certificatesDir"]
    )
    if not force:
        ctx.say(
            "[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will "
            "be reverted."
        )
        print("[reset] Are you sure you want to proceed? [y/N]: ", end="", file=ctx.out, flush=True)
        answer = (ctx.stdin.readline() if ctx.stdin else "").strip().lower()
        if answer != "y":
            raise SimError("won't proceed; the user didn't answer (Y|y) in order to continue")
    if "preflight" not in skip:
        ctx.say("[preflight] Running pre-flight checks")
    ctx.say("[reset] Stopping the kubelet service (kubeadm-sim: no kubelet runs)")
    directories = [MANIFESTS, manifests.KUBELET_DIR, cert_dir]
    files = [
        ADMIN_CONF,
        SUPER_ADMIN_CONF,
        KUBELET_CONF,
        BOOTSTRAP_KUBELET_CONF,
        CONTROLLER_MANAGER_CONF,
        SCHEDULER_CONF,
    ]
    if "cleanup-node" not in skip:
        ctx.say(f"[reset] Deleting contents of directories: [{' '.join(directories)}]")
        ctx.say(f"[reset] Deleting files: [{' '.join(files)}]")
        if not ctx.dry_run:
            for shown in directories:
                clear_directory(ctx.node.path(shown))
            for shown in files:
                real = ctx.node.path(shown)
                if os.path.lexists(real):
                    os.unlink(real)
            if parsed.get("cleanup-tmp-dir") or reset.get("cleanupTmpDir"):
                clear_directory(ctx.node.path(f"{KUBERNETES_DIR}/tmp"))
    if not ctx.dry_run and state.get("cluster"):
        with ctx.store.locked() as state:
            for entry in state.get("nodes", {}).values():
                if entry.get("host") == ctx.node.hostname:
                    entry["ready"] = False
                    entry["reset"] = ctx.node.now()
    ctx.say(
        "\nThe reset process does not clean CNI configuration. To do so, you must remove "
        "/etc/cni/net.d\n\nThe reset process does not reset or clean up iptables rules or IPVS "
        "tables.\n\nThe reset process does not clean your kubeconfig files and you must remove "
        "them manually.\nPlease, check the contents of the $HOME/.kube/config file."
    )
    return 0


def clear_directory(real):
    if not os.path.isdir(real):
        return
    for name in os.listdir(real):
        path = os.path.join(real, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


COMMANDS = {
    "version": cmd_version,
    "config": cmd_config,
    "init": cmd_init,
    "join": cmd_join,
    "token": cmd_token,
    "certs": cmd_certs,
    "reset": cmd_reset,
}


def command_name(argv):
    words = [arg for arg in argv[:3] if not arg.startswith("-")]
    if not words:
        return ""
    if words[0] in ("token", "config", "certs") and len(words) > 1:
        return " ".join(words[:2])
    if words[0] == "init" and len(words) > 2 and words[1] == "phase":
        return " ".join(words[:3])
    return words[0]


def dispatch(ctx, argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        ctx.say(USAGE)
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        if argv[0].startswith("-"):
            flagmod.parse(argv, {})
        raise UsageError(f'unknown command "{argv[0]}" for "kubeadm"')
    if "--help" in argv[1:] or "-h" in argv[1:]:
        ctx.say(
            f"Usage:\n  kubeadm {command_name(argv)} [flags]\n\n(kubeadm-sim: see "
            "docs/kubeadm-contract.md)"
        )
        return 0
    return command(ctx, argv[1:])


def log_call(ctx, argv, start, end, code):
    redacted, count = flagmod.redact(argv)
    record = {
        "time": timestamp(start),
        "start": round(start, 6),
        "end": round(end, 6),
        "command": command_name(argv),
        "argv": ["kubeadm", *redacted],
        "redactions": count,
        "cwd": os.getcwd(),
        "host": ctx.node.hostname,
        "uid": os.geteuid(),
        "exit_code": code,
        "config_kinds": ctx.kinds,
        "version": ctx.node.version(),
    }
    path = ctx.node.log_path
    append_log_record(path, record)


def main(argv=None, environ=None, stdin=None, stdout=None, stderr=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = Context(
        Node(environ),
        stdout or sys.stdout,
        stderr or sys.stderr,
        sys.stdin if stdin is None else stdin,
    )
    return run_and_log(ctx, argv, dispatch, report_error, log_call, "kubeadm-sim")


def report_error(exc, err):
    """kubeadm's way: the message, the stack-trace hint unless it is a usage error, its code."""
    print(exc.message, file=err)
    if not isinstance(exc, UsageError):
        print(STACK_HINT, file=err)
    return exc.code
