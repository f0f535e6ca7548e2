"""``kubectl`` as the simulator answers it: exactly the calls the collection's roles make, against
the shared cluster state the kubeadm simulator keeps (see docs/kubeadm-contract.md).

Commands: ``get nodes|node [NAME]``, ``get daemonset|deployment|configmap [NAME]``,
``drain NODE``, ``delete node NAME``, ``apply -f FILE``, ``patch configmap cluster-info``,
``rollout status daemonset|deployment/NAME``, ``rollout restart daemonset|deployment[/NAME]``,
``version --client``.
Anything else is refused as kubectl refuses it (``error: unknown command "x" for "kubectl"``,
``error: unknown flag: --x``), exit 1. Every call is logged as one JSON line in
``/var/log/kubeadm-sim/kubectl.jsonl`` (``KUBECTL_SIM_LOG``), like the kubeadm simulator's log.

The cluster "answers" once ``kubeadm init`` has recorded it in the state file and the kubeconfig
given with ``--kubeconfig`` (or ``KUBECONFIG``) exists on the node; otherwise kubectl's
connection error. Objects that ``apply`` creates are kept under ``objects`` in the state, keyed
``<kind>/<namespace>/<name>``, with their apiVersion, a digest of the document, a generation and
the images of their containers.

Two ConfigMaps the control plane publishes itself are answered from elsewhere: ``kube-root-ca.crt``
(any namespace) is the node's own ``<certificatesDir>/ca.crt``, as the controller-manager
publishes its ``--root-ca-file``; ``cluster-info`` (kube-public) is a kubeconfig built from the
state's CA and control-plane endpoint, or the one ``patch`` stored.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import sys

from . import flags as flagmod
from . import pkicheck
from .errors import SimError, UsageError, run_and_log
from .state import ClusterState, Node, append_log_record

LOG_PATH = "/var/log/kubeadm-sim/kubectl.jsonl"
CLIENT_VERSION = "v1.35.9"
# Namespaces every cluster has.
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Kinds without a namespace (those the role's manifests use, and the usual cluster-wide ones).
CLUSTER_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "Node",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "IngressClass",
    "RuntimeClass",
}
CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")
RESOURCES = {
    "nodes": "Node",
    "node": "Node",
    "no": "Node",
    "daemonsets": "DaemonSet",
    "daemonset": "DaemonSet",
    "ds": "DaemonSet",
    "daemonsets.apps": "DaemonSet",
    "deployments": "Deployment",
    "deployment": "Deployment",
    "deploy": "Deployment",
    "deployments.apps": "Deployment",
    "configmaps": "ConfigMap",
    "configmap": "ConfigMap",
    "cm": "ConfigMap",
}
# How kubectl names each kind in NotFound errors.
PLURALS = {
    "Node": "nodes",
    "DaemonSet": "daemonsets.apps",
    "Deployment": "deployments.apps",
    "ConfigMap": "configmaps",
}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DEFAULT_CERTIFICATES_DIR = "/etc/kubernetes/pki"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^0$")

GLOBAL_FLAGS = {
    "kubeconfig": "str",
    "namespace": "str",
    "request-timeout": "str",
    "output": "str",
}
GLOBAL_SHORTS = {"n": "namespace", "o": "output"}
USAGE = """kubectl-sim: a kubectl stand-in for tests (see docs/kubeadm-contract.md)

Commands: get, drain, delete, apply, patch, rollout status|restart, version --client
"""


class Ctx:
    def __init__(self, node, out, err, stdin):
        self.node = node
        self.out = out
        self.err = err
        self.stdin = stdin
        self.store = ClusterState(node.state_path)
        self.record = {}

    def say(self, text=""):
        print(text, file=self.out)


def resource_name(kind, api_version):
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return f"{kind.lower()}.{group}" if group else kind.lower()


def container_images(value):
    """Images of every container list below ``value`` (a loaded document)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CONTAINER_KEYS and isinstance(item, list):
                for container in item:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        found.append(container["image"])
            found.extend(container_images(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(container_images(item))
    return found


def check_duration(name, value):
    if value is not None and not DURATION.match(value):
        raise UsageError(
            f'error: invalid argument "{value}" for "--{name}" flag: time: invalid duration '
            f'"{value}"'
        )


def parse(argv, spec, shorts=None):
    parsed = flagmod.parse(argv, dict(GLOBAL_FLAGS, **spec), dict(GLOBAL_SHORTS, **(shorts or {})))
    check_duration("request-timeout", parsed.get("request-timeout"))
    output = parsed.get("output")
    formats = ("json", "name", "wide", "yaml")
    if output is not None and output not in formats and not output.startswith("jsonpath="):
        raise UsageError(
            f'error: unable to match a printer suitable for the output format "{output}", '
            "allowed formats are: json,jsonpath,name,wide,yaml (kubectl-sim)"
        )
    return parsed


def connect(ctx, parsed):
    """The cluster state, once the kubeconfig exists and the cluster was initialised."""
    kubeconfig = parsed.get("kubeconfig") or ctx.node.env.get("KUBECONFIG")
    if not kubeconfig:
        raise SimError(
            "The connection to the server localhost:8080 was refused - did you specify the right "
            "host or port? (kubectl-sim: give --kubeconfig)"
        )
    if not os.path.isfile(ctx.node.path(kubeconfig)):
        raise SimError(
            f"error: stat {kubeconfig}: no such file or directory (kubectl-sim: the kubeconfig"
            " must exist)"
        )
    ctx.record["kubeconfig"] = kubeconfig
    state = ctx.store.read()
    cluster = state.get("cluster")
    if not cluster:
        raise SimError(
            "The connection to the server was refused - did you specify the right host or port? "
            "(kubectl-sim: no cluster has been initialised)"
        )
    return state


def node_object(name, entry):
    role = entry.get("role")
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
    spec = {}
    if entry.get("unschedulable"):
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if entry.get("ready") else "False"}],
            "addresses": [{"type": "InternalIP", "address": entry.get("advertise_address") or ""}],
        },
    }


def not_found(resource, name):
    return SimError(f'Error from server (NotFound): {resource} "{name}" not found')


def configmap(namespace, name, data):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def cluster_info_kubeconfig(cluster):
    """The kubeconfig of the cluster-info ConfigMap: the one ``patch`` stored, else kubeadm's."""
    import yaml

    if cluster.get("cluster_info_kubeconfig"):
        return cluster["cluster_info_kubeconfig"]
    ca_data = base64.b64encode(cluster["ca_cert_pem"].encode()).decode()
    server = f"https://{cluster['control_plane_endpoint']}"
    content = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "", "cluster": {"certificate-authority-data": ca_data, "server": server}}
        ],
        "contexts": [],
        "current-context": "",
        "preferences": {},
        "users": [],
    }
    return yaml.safe_dump(content, default_flow_style=False)


def published_configmaps(ctx, state, namespace):
    """ConfigMaps the control plane writes: kube-root-ca.crt (the controller-manager publishes its
    --root-ca-file in every namespace; here this node's ca.crt) and kube-public's cluster-info."""
    found = {}
    cluster_cfg = state["cluster"].get("cluster_configuration") or {}
    certs_dir = cluster_cfg.get("certificatesDir") or DEFAULT_CERTIFICATES_DIR
    try:
        with open(ctx.node.path(f"{certs_dir}/ca.crt"), encoding="utf-8") as handle:
            found["kube-root-ca.crt"] = configmap(
                namespace, "kube-root-ca.crt", {"ca.crt": handle.read()}
            )
    except OSError:
        pass
    if namespace == "kube-public":
        kubeconfig = cluster_info_kubeconfig(state["cluster"])
        found["cluster-info"] = configmap(namespace, "cluster-info", {"kubeconfig": kubeconfig})
    return found


def namespaced_objects(ctx, state, kind, namespace):
    """Name → document of the objects of ``kind`` in ``namespace``."""
    found = {
        obj["name"]: obj["object"]
        for obj in state.get("objects", {}).values()
        if obj["kind"] == kind and obj["namespace"] == namespace
    }
    if kind == "ConfigMap":
        found.update(published_configmaps(ctx, state, namespace))
    return found


def jsonpath(template, value):
    """What ``-o jsonpath=TEMPLATE`` prints, for a template of one field path like
    ``{.data.ca\\.crt}`` (dots inside a key escaped); a missing field prints nothing."""
    match = re.fullmatch(r"\{((?:\.(?:[^.\\{}\[\]]|\\\.)+)+)\}", template)
    if not match:
        raise SimError(
            f"error: error parsing jsonpath {template} (kubectl-sim: only one field path such as "
            "{.data.key}, dots in keys escaped as \\.)"
        )
    for part in re.findall(r"\.((?:[^.\\]|\\\.)+)", match.group(1)):
        value = value.get(part.replace("\\.", ".")) if isinstance(value, dict) else None
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def print_objects(ctx, parsed, objects, single, table):
    output = parsed.get("output")
    if output and output.startswith("jsonpath="):
        listed = {"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {}}
        ctx.out.write(jsonpath(output[len("jsonpath=") :], objects[0] if single else listed))
    elif output == "json":
        if single:
            ctx.say(json.dumps(objects[0], indent=4, sort_keys=True))
        else:
            ctx.say(
                json.dumps(
                    {"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {}},
                    indent=4,
                    sort_keys=True,
                )
            )
    elif output == "name":
        for item in objects:
            ctx.say(f"{resource_name(item['kind'], item['apiVersion'])}/{item['metadata']['name']}")
    elif output == "yaml":
        ctx.say(json.dumps(objects if not single else objects[0], indent=2))
    else:
        if not objects:
            print("No resources found", file=ctx.err)
            return
        for row in table:
            ctx.say("   ".join(row))


def cmd_get(ctx, argv):
    parsed = parse(argv, {})
    if not parsed.args:
        raise SimError(
            "You must specify the type of resource to get. (kubectl-sim: nodes, daemonsets, "
            "deployments or configmaps)"
        )
    resource = parsed.args[0]
    kind = RESOURCES.get(resource)
    if kind is None:
        raise SimError(
            f'error: the server doesn\'t have a resource type "{resource}" (kubectl-sim knows '
            "nodes, daemonsets, deployments and configmaps)"
        )
    names = parsed.args[1:]
    state = connect(ctx, parsed)
    if kind == "Node":
        nodes = state.get("nodes", {})
        wanted = names or sorted(nodes)
        for name in wanted:
            if name not in nodes:
                raise not_found("nodes", name)
        objects = [node_object(name, nodes[name]) for name in wanted]
        table = [["NAME", "STATUS", "ROLES"]] + [
            [
                name,
                ("Ready" if nodes[name].get("ready") else "NotReady")
                + (",SchedulingDisabled" if nodes[name].get("unschedulable") else ""),
                "control-plane" if nodes[name].get("role") == "control-plane" else "<none>",
            ]
            for name in wanted
        ]
        print_objects(ctx, parsed, objects, bool(names) and len(names) == 1, table)
        return 0
    namespace = parsed.get("namespace") or "default"
    found = namespaced_objects(ctx, state, kind, namespace)
    wanted = names or sorted(found)
    for name in wanted:
        if name not in found:
            raise not_found(PLURALS[kind], name)
    objects = [found[name] for name in wanted]
    table = [["NAME"]] + [[name] for name in wanted]
    if kind == "DaemonSet":
        count = str(len(state.get("nodes", {})))
        table = [["NAME", "DESIRED", "READY"]] + [[name, count, count] for name in wanted]
    print_objects(ctx, parsed, objects, bool(names) and len(names) == 1, table)
    return 0


DRAIN_FLAGS = {
    "ignore-daemonsets": "bool",
    "delete-emptydir-data": "bool",
    "force": "bool",
    "timeout": "str",
    "grace-period": "str",
    "disable-eviction": "bool",
    "pod-selector": "str",
    "dry-run": "str",
}


def cmd_drain(ctx, argv):
    parsed = parse(argv, DRAIN_FLAGS)
    check_duration("timeout", parsed.get("timeout"))
    if len(parsed.args) != 1:
        raise SimError("error: USAGE: drain NODE [flags] (kubectl-sim: exactly one node)")
    name = parsed.args[0]
    with ctx.store.locked() as state:
        connect(ctx, parsed)
        nodes = state.get("nodes", {})
        if name not in nodes:
            raise not_found("nodes", name)
        daemonsets = [
            f"{obj['namespace']}/{obj['name']}"
            for obj in state.get("objects", {}).values()
            if obj["kind"] == "DaemonSet"
        ]
        if daemonsets and not parsed.get("ignore-daemonsets"):
            raise SimError(
                f'error: unable to drain node "{name}" due to error: cannot delete '
                f"DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
                f"{', '.join(daemonsets)}"
            )
        nodes[name]["unschedulable"] = True
        nodes[name]["drained"] = ctx.node.now()
    ctx.record["node"] = name
    ctx.say(f"node/{name} cordoned")
    if daemonsets:
        ctx.say(f"Warning: ignoring DaemonSet-managed Pods: {', '.join(daemonsets)}")
    ctx.say(f"node/{name} drained")
    return 0


DELETE_FLAGS = {"ignore-not-found": "bool", "wait": "bool", "timeout": "str"}


def cmd_delete(ctx, argv):
    parsed = parse(argv, DELETE_FLAGS)
    check_duration("timeout", parsed.get("timeout"))
    if len(parsed.args) != 2 or RESOURCES.get(parsed.args[0]) != "Node":
        raise SimError("error: kubectl-sim deletes nodes only: delete node NAME")
    name = parsed.args[1]
    with ctx.store.locked() as state:
        connect(ctx, parsed)
        nodes = state.get("nodes", {})
        if name not in nodes:
            if parsed.get("ignore-not-found"):
                return 0
            raise not_found("nodes", name)
        del nodes[name]
    ctx.record["node"] = name
    ctx.say(f'node "{name}" deleted')
    return 0


APPLY_FLAGS = {"filename": "list", "server-side": "bool", "force-conflicts": "bool"}


def load_documents(ctx, filename):
    import yaml

    if filename == "-":
        text = ctx.stdin.read()
    else:
        try:
            with open(ctx.node.path(filename), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            raise SimError(
                f'error: the path "{filename}" does not exist (kubectl-sim: -f FILE)'
            ) from None
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise SimError(f"error: error parsing {filename}: {exc}") from None
    if not docs:
        raise SimError("error: no objects passed to apply")
    return docs


def check_document(filename, index, doc):
    where = f"{filename}: document {index + 1}"
    if not isinstance(doc, dict):
        raise SimError(f"error: {where}: not a mapping: kubectl needs objects")
    api_version = doc.get("apiVersion")
    kind = doc.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise SimError(f"error: {where}: error validating data: apiVersion not set")
    if not isinstance(kind, str) or not kind:
        raise SimError(f"error: {where}: error validating data: kind not set")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        raise SimError(
            f"error: {where}: {kind}: metadata.name must be a lowercase RFC 1123 name, got {name!r}"
        )
    images = container_images(doc)
    for image in images:
        if not image or any(char.isspace() for char in image):
            raise SimError(f"error: {where}: {kind} {name}: invalid image {image!r}")
    return api_version, kind, name, metadata, images


def cmd_apply(ctx, argv):
    parsed = parse(argv, APPLY_FLAGS, {"f": "filename"})
    filenames = parsed.get("filename") or []
    if not filenames:
        raise SimError("error: must specify one of -f and -k")
    if parsed.args:
        raise SimError(f"error: unexpected args: {parsed.args} (kubectl-sim: apply -f FILE)")
    docs = []
    for filename in filenames:
        for index, doc in enumerate(load_documents(ctx, filename)):
            docs.append((filename, index, doc))
    checked = [(name, check_document(name, index, doc), doc) for name, index, doc in docs]
    lines = []
    applied = []
    with ctx.store.locked() as state:
        connect(ctx, parsed)
        objects = state.setdefault("objects", {})
        now = ctx.node.now()
        for _filename, (api_version, kind, name, metadata, images), doc in checked:
            namespace = ""
            if kind not in CLUSTER_KINDS:
                namespace = metadata.get("namespace") or parsed.get("namespace") or "default"
                known = {o["name"] for o in objects.values() if o["kind"] == "Namespace"}
                if namespace not in BUILTIN_NAMESPACES and namespace not in known:
                    raise SimError(
                        f'Error from server (NotFound): error when creating "{_filename}": '
                        f'namespaces "{namespace}" not found'
                    )
            key = f"{kind}/{namespace}/{name}"
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
            previous = objects.get(key)
            restarted = (previous or {}).get("restartedAt")
            if restarted:
                # Not in the applied document, so apply leaves the annotation as it is.
                set_restarted_at(doc, restarted)
            if previous is None:
                verb = "created"
                generation = 1
            elif previous["digest"] == digest:
                verb = "unchanged"
                generation = previous["generation"]
            else:
                verb = "configured"
                generation = previous["generation"] + 1
            objects[key] = {
                "apiVersion": api_version,
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "digest": digest,
                "generation": generation,
                "images": images,
                "applied": now if verb != "unchanged" else previous["applied"],
                "object": doc,
            }
            if restarted:
                objects[key]["restartedAt"] = restarted
            lines.append(f"{resource_name(kind, api_version)}/{name} {verb}")
            applied.append({"key": key, "result": verb, "images": images})
    ctx.record["objects"] = applied
    ctx.record["images"] = [image for item in applied for image in item["images"]]
    for line in lines:
        ctx.say(line)
    return 0


PATCH_FLAGS = {"type": "str", "patch": "str"}


def cluster_info_ca(kubeconfig):
    """``(CA PEM bundle, discovery pins)`` of a cluster-info kubeconfig; a SimError unless its
    first cluster's certificate-authority-data is base64 of PEM certificates only."""
    import yaml

    def refuse(reason):
        return SimError(
            "error: kubectl-sim: cluster-info: clusters[0].cluster.certificate-authority-data: "
            f"{reason} (kubeadm join could not use this CA)"
        )

    try:
        doc = yaml.safe_load(kubeconfig)
    except yaml.YAMLError:
        raise refuse("the kubeconfig is not YAML") from None
    clusters = doc.get("clusters") if isinstance(doc, dict) else None
    first = clusters[0] if isinstance(clusters, list) and clusters else None
    cluster = first.get("cluster") if isinstance(first, dict) else None
    data = cluster.get("certificate-authority-data") if isinstance(cluster, dict) else None
    if not isinstance(data, str) or not data:
        raise refuse("missing")
    try:
        pem = base64.b64decode(data, validate=True).decode("ascii")
    except ValueError:
        raise refuse("not base64 of PEM text") from None
    try:
        return pem, pkicheck.certificate_hashes(pem)
    except pkicheck.PKIProblem as exc:
        raise refuse(str(exc)) from None


def cmd_patch(ctx, argv):
    import yaml

    parsed = parse(argv, PATCH_FLAGS, {"p": "patch"})
    args = parsed.args
    target = "/".join(args) if len(args) in (1, 2) else ""
    resource, _, name = target.partition("/")
    if RESOURCES.get(resource) != "ConfigMap" or name != "cluster-info":
        raise SimError(
            "error: kubectl-sim patches only the cluster-info ConfigMap: -n kube-public patch "
            "configmap cluster-info --type merge -p PATCH"
        )
    patch_type = parsed.get("type") or "strategic"
    if patch_type not in ("json", "merge", "strategic"):
        raise SimError(f'error: --type must be one of [json merge strategic], not "{patch_type}"')
    if patch_type == "json":
        raise SimError("error: kubectl-sim: use --type merge (JSON patches are not simulated)")
    if parsed.get("patch") is None:
        raise SimError(
            "error: must specify --patch or --patch-file containing the contents of the patch"
        )
    try:
        patch = yaml.safe_load(parsed.get("patch"))
    except yaml.YAMLError as exc:
        raise SimError(f'error: unable to parse "{parsed.get("patch")}": {exc}') from None
    data = patch.get("data") if isinstance(patch, dict) else None
    kubeconfig = data.get("kubeconfig") if isinstance(data, dict) else None
    if not isinstance(kubeconfig, str) or len(patch) != 1 or len(data) != 1:
        raise SimError(
            'error: kubectl-sim: the patch must be {"data": {"kubeconfig": "<kubeconfig text>"}}'
        )
    with ctx.store.locked() as state:
        connect(ctx, parsed)
        if (parsed.get("namespace") or "default") != "kube-public":
            raise not_found("configmaps", name)
        pem, hashes = cluster_info_ca(kubeconfig)
        cluster = state["cluster"]
        changed = kubeconfig != cluster_info_kubeconfig(cluster)
        if changed:
            cluster["cluster_info_kubeconfig"] = kubeconfig
            cluster["cluster_info_ca_pem"] = pem
            cluster["ca_cert_hashes"] = hashes
    ctx.record["ca_cert_hashes"] = hashes
    ctx.say(f"configmap/{name} patched" + ("" if changed else " (no change)"))
    return 0


ROLLOUT_FLAGS = {"timeout": "str", "watch": "bool", "revision": "str"}
ROLLOUT_KINDS = ("DaemonSet", "Deployment")


def cmd_rollout(ctx, argv):
    parsed = parse(argv, ROLLOUT_FLAGS, {"w": "watch"})
    sub = parsed.args[0] if parsed.args else ""
    parsed.args = parsed.args[1:]
    if sub == "status":
        return rollout_status(ctx, parsed)
    if sub == "restart":
        for name in ROLLOUT_FLAGS:
            if parsed.has(name):
                raise UsageError(f"unknown flag: --{name}")
        return rollout_restart(ctx, parsed)
    raise SimError(
        f'error: unknown command "{sub}" for "kubectl rollout" (kubectl-sim: status and restart)'
    )


def rollout_status(ctx, parsed):
    check_duration("timeout", parsed.get("timeout"))
    target = parsed.args[0] if len(parsed.args) == 1 else ""
    resource, _, name = target.partition("/")
    kind = RESOURCES.get(resource)
    if kind not in ROLLOUT_KINDS or not name:
        raise SimError(
            "error: kubectl-sim: rollout status daemonset/NAME or deployment/NAME (exactly one)"
        )
    namespace = parsed.get("namespace") or "default"
    state = connect(ctx, parsed)
    if f"{kind}/{namespace}/{name}" not in state.get("objects", {}):
        raise not_found(PLURALS[kind], name)
    shown = "daemon set" if kind == "DaemonSet" else "deployment"
    ctx.say(f'{shown} "{name}" successfully rolled out')
    return 0


def restart_targets(args):
    """``[(kind, name or None for all)]`` from ``TYPE [NAME...]`` or ``TYPE/NAME...``."""
    usage = SimError(
        "error: kubectl-sim: rollout restart daemonset|deployment [NAME...] or "
        "daemonset/NAME|deployment/NAME..."
    )
    if not args:
        raise usage
    if "/" not in args[0]:
        kind = RESOURCES.get(args[0])
        if kind not in ROLLOUT_KINDS or any("/" in arg for arg in args[1:]):
            raise usage
        return [(kind, name) for name in args[1:]] or [(kind, None)]
    targets = []
    for arg in args:
        resource, _, name = arg.partition("/")
        if RESOURCES.get(resource) not in ROLLOUT_KINDS or not name:
            raise usage
        targets.append((RESOURCES[resource], name))
    return targets


def set_restarted_at(doc, when):
    """kubectl's restart: the pod template's ``kubectl.kubernetes.io/restartedAt`` annotation."""
    node = doc
    for key in ("spec", "template", "metadata", "annotations"):
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[RESTARTED_AT] = when


def rollout_restart(ctx, parsed):
    targets = restart_targets(parsed.args)
    namespace = parsed.get("namespace") or "default"
    when = datetime.datetime.fromtimestamp(ctx.node.now(), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    with ctx.store.locked() as state:
        connect(ctx, parsed)
        objects = state.get("objects", {})
        keys = []
        for kind, name in targets:
            prefix = f"{kind}/{namespace}/"
            if name is None:
                keys += sorted(key for key in objects if key.startswith(prefix))
            elif prefix + name in objects:
                keys.append(prefix + name)
            else:
                raise not_found(PLURALS[kind], name)
        for key in keys:
            entry = objects[key]
            set_restarted_at(entry["object"], when)
            entry["restartedAt"] = when
            entry["generation"] += 1
    ctx.record["restarted"] = keys
    if not keys:
        print(f"No resources found in {namespace} namespace.", file=ctx.err)
    for key in keys:
        entry = objects[key]
        ctx.say(f"{resource_name(entry['kind'], entry['apiVersion'])}/{entry['name']} restarted")
    return 0


def cmd_version(ctx, argv):
    parsed = parse(argv, {"client": "bool"})
    if not parsed.get("client"):
        raise SimError("error: kubectl-sim: only version --client (there is no server)")
    ctx.say(f"Client Version: {CLIENT_VERSION} (kubectl-sim)")
    return 0


COMMANDS = {
    "get": cmd_get,
    "drain": cmd_drain,
    "delete": cmd_delete,
    "apply": cmd_apply,
    "patch": cmd_patch,
    "rollout": cmd_rollout,
    "version": cmd_version,
}


def split_command(argv):
    """The command word (the first argument that is neither a flag nor a flag's value)."""
    index = 0
    takes_value = {"--kubeconfig", "--namespace", "-n", "--request-timeout", "-o", "--output"}
    while index < len(argv):
        arg = argv[index]
        if arg in takes_value:
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        return arg, argv[:index] + argv[index + 1 :]
    return "", list(argv)


def dispatch(ctx, argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        ctx.say(USAGE)
        return 0
    word, rest = split_command(argv)
    ctx.record["command"] = word
    command = COMMANDS.get(word)
    if command is None:
        if not word:
            parse(rest, {})
            ctx.say(USAGE)
            return 0
        raise UsageError(f'error: unknown command "{word}" for "kubectl"')
    if word in ("get", "delete", "patch", "rollout"):
        following, _ = split_command(rest)
        if following:
            ctx.record["command"] = f"{word} {following}"
    return command(ctx, rest)


def log_call(ctx, argv, start, end, code):
    redacted, count = flagmod.redact(argv)
    record = {
        "time": datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "start": round(start, 6),
        "end": round(end, 6),
        "command": ctx.record.pop("command", ""),
        "argv": ["kubectl", *redacted],
        "redactions": count,
        "cwd": os.getcwd(),
        "host": ctx.node.hostname,
        "uid": os.geteuid(),
        "exit_code": code,
        **ctx.record,
    }
    path = ctx.node.env.get("KUBECTL_SIM_LOG") or ctx.node.path(LOG_PATH)
    append_log_record(path, record)


def main(argv=None, environ=None, stdin=None, stdout=None, stderr=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = Ctx(
        Node(environ),
        stdout or sys.stdout,
        stderr or sys.stderr,
        sys.stdin if stdin is None else stdin,
    )
    return run_and_log(ctx, argv, dispatch, report_error, log_call, "kubectl-sim")


def report_error(exc, err):
    """kubectl's way: ``error: ...`` on stderr, exit code 1."""
    message = exc.message
    if isinstance(exc, UsageError) and not message.startswith("error:"):
        message = f"error: {message}"
    print(message, file=err)
    return 1
