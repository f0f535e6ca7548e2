# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an offline installation needs from the bundle, and what the bundle lacks.

Pure Python, run on the controller by the ``prodgrade.kubernetes.offline_missing`` filter
(preflight, with ``offline: true``). Three steps:

* :func:`read_manifest` reads ``<bundle dir>/manifest.json`` and checks its shape;
* :func:`plan_needs` turns the inventory (each host's groups, Debian suite, architecture and
  the role variables that name packages and images) into the artifacts each host needs;
* :func:`find_missing` compares the two and :func:`missing_message` words the result.

The role variables are read with the defaults the roles use (:data:`ROLE_DEFAULTS`; those
that follow an inventory variable, :data:`FOLLOWS`, take its value first);
``tests/unit/plugins/test_offline_role_defaults.py`` keeps the two equal.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.manifest_images import (
    ManifestError,
    manifest_images,
    rewrite_image,
)

MANIFEST_FORMAT = 1

# The Kubernetes release when the inventory sets no kubernetes_version: the same literal as
# every role's fallback (tests/unit/test_versions.py keeps them equal).
KUBERNETES_VERSION = "1.37.1"

# The collection-wide inventory variables, when unset.
INVENTORY_DEFAULTS = {
    "kubernetes_version": KUBERNETES_VERSION,
    "offline_bundle_dir": "",
    "offline_bundle_url": "",
}
# Role variables whose default is an inventory variable's value.
FOLLOWS = {
    "kubeadm_kubernetes_version": "kubernetes_version",
    "kubeadm_bundle_dir": "offline_bundle_dir",
    "kubeadm_bundle_url": "offline_bundle_url",
}

# The defaults of the role variables read here, as each role's defaults/main.yml sets them.
ROLE_DEFAULTS = {
    "runtime": {
        "runtime_engine": "containerd",
        "runtime_containerd_package": "containerd",
        "runtime_crio_package": "cri-o",
        "runtime_docker_package": "docker.io",
        "runtime_cni_plugins_package": "containernetworking-plugins",
    },
    "etcd": {
        "etcd_package": "etcd-server",
        "etcd_client_package": "etcd-client",
    },
    "loadbalancer": {
        "loadbalancer_mode": "local",
        "loadbalancer_haproxy_package": "haproxy",
        "loadbalancer_keepalived_package": "keepalived",
    },
    "registry_trust": {
        "registry_trust_offline_upstreams": ["registry.k8s.io", "docker.io", "ghcr.io", "quay.io"],
    },
    "kubeadm": {
        "kubeadm_image_repository": "registry.k8s.io",
        "kubeadm_cni": "flannel",
        "kubeadm_cni_flannel_version": "v0.28.9",
        "kubeadm_cni_manifest_src": "",
        "kubeadm_cni_image_registry": "",
    },
}
# The runtime's default sandbox image follows the Kubernetes minor: the pause release kubeadm
# uses (roles/runtime/vars/main.yml __runtime_pause_versions; tests keep them equal).
PAUSE_VERSIONS = {
    "1.33": "3.10",
    "1.34": "3.10.1",
    "1.35": "3.10.1",
    "1.36": "3.10.2",
    "1.37": "3.10.2",
}


def default_sandbox_image(minor):
    """runtime_sandbox_image's default for a Kubernetes minor (the newest known past the table)."""
    version = PAUSE_VERSIONS.get(minor) or PAUSE_VERSIONS[sorted(PAUSE_VERSIONS)[-1]]
    return f"registry.k8s.io/pause:{version}"


# Role defaults that are expressions, as they evaluate with offline: true (the only case this
# module plans for); kubeadm_cni_manifest_url's is worked out by cni_manifest_path().
OFFLINE_ROLE_DEFAULTS = {
    "kubeadm": {
        "kubeadm_install_method": "bundle",
    },
}
DEFAULTS = {
    name: value
    for roles in (ROLE_DEFAULTS, OFFLINE_ROLE_DEFAULTS)
    for role in roles.values()
    for name, value in role.items()
}
DEFAULTS.update(INVENTORY_DEFAULTS)

# The package variable of each runtime engine.
ENGINE_PACKAGE = {
    "containerd": "runtime_containerd_package",
    "crio": "runtime_crio_package",
    "cri_dockerd": "runtime_docker_package",
}

# ansible_architecture -> Debian architecture (and the one OCI images use).
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el"}
# Manifest arch values that fit every host.
ANY_ARCH = ("all", "any", "multi", "")

# The images kubeadm pulls for a control plane, and the one every node pulls.
KUBEADM_CONTROL_PLANE_IMAGES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
KUBEADM_NODE_IMAGES = ("kube-proxy",)
KUBEADM_BINARIES = ("kubeadm", "kubelet", "kubectl")
# The CNI manifest as a file of the bundle (the kubeadm role's kubeadm_cni_manifest_url with
# offline: true): files/<name>/<flannel version>/all/<filename>.
CNI_BUNDLE_NAME = "kube-flannel"
CNI_BUNDLE_FILE = "kube-flannel.yml"
CNI_BUNDLE_ARCH = "all"

_DEFAULT_REGISTRY = "docker.io"


class OfflinePlanError(ValueError):
    """The bundle cannot be read, or the inventory asks for something this cannot plan."""


# --- the manifest ----------------------------------------------------------------------------


def read_manifest(bundle_dir):
    """The manifest of the bundle in ``bundle_dir`` (a directory on the controller), checked."""
    if not bundle_dir:
        raise OfflinePlanError(
            "offline_bundle_dir is not set: set it to the bundle directory on the controller "
            "(the one holding manifest.json)."
        )
    path = os.path.join(str(bundle_dir), "manifest.json")
    if not os.path.isdir(str(bundle_dir)):
        raise OfflinePlanError(
            f"offline_bundle_dir {bundle_dir} is not a directory on the controller: copy the "
            "bundle there (or point offline_bundle_dir at it)."
        )
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise OfflinePlanError(
            f"{path} does not exist: offline_bundle_dir must be a bundle made by "
            "prodgrade.kubernetes.bundle_build."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OfflinePlanError(f"{path} cannot be read on the controller: {exc}.") from None
    return parse_manifest(text, path)


def parse_manifest(text, source="manifest.json"):
    """Check the manifest's text and return it as a dictionary."""
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise OfflinePlanError(f"{source} is not valid JSON ({exc}): rebuild the bundle.") from None
    if not isinstance(manifest, dict):
        raise OfflinePlanError(f"{source} holds no JSON object: rebuild the bundle.")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise OfflinePlanError(
            f"{source} has format {manifest.get('format')!r}; this collection reads format "
            f"{MANIFEST_FORMAT}. Rebuild the bundle with the bundle_build playbook of this "
            "collection's version."
        )
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, list) or not all(
        isinstance(a, dict) and a.get("kind") and a.get("name") for a in artifacts
    ):
        raise OfflinePlanError(
            f"{source} has no list of artifacts with a kind and a name each: rebuild the bundle."
        )
    return manifest


# --- image references ------------------------------------------------------------------------


def split_image(reference):
    """``(registry, repository, tag, digest)`` of an image reference, as the runtimes read it.

    A reference without a registry is Docker Hub's (``library/`` for one-part names); a
    reference without tag or digest is ``latest``.
    """
    ref = str(reference).strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    parts = ref.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, "/".join(parts[1:])
    else:
        registry, path = _DEFAULT_REGISTRY, ref
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = _DEFAULT_REGISTRY
    if registry == _DEFAULT_REGISTRY and "/" not in path:
        path = "library/" + path
    if tag is None and digest is None:
        tag = "latest"
    return registry.lower(), path, tag, digest


def image_name(reference):
    """``registry/repository`` of a reference (no tag or digest), Docker Hub made explicit."""
    registry, path, _, _ = split_image(reference)
    return f"{registry}/{path}"


# --- the needs -------------------------------------------------------------------------------


def _var(hostvars, host, name):
    values = hostvars.get(host) or {}
    value = values.get(name) if hasattr(values, "get") else None
    if value is not None:
        return value
    if name in FOLLOWS:
        return _var(hostvars, host, FOLLOWS[name])
    if name in DERIVED:
        return DERIVED[name](hostvars, host)
    return DEFAULTS[name]


# Role defaults worked out from other variables of the host, as the roles' defaults do.
DERIVED = {
    # The minor of kubernetes_version (x.y.z).
    "runtime_kubernetes_version": lambda hostvars, host: ".".join(
        str(_var(hostvars, host, "kubernetes_version")).split(".")[:2]
    ),
    "runtime_sandbox_image": lambda hostvars, host: default_sandbox_image(
        str(_var(hostvars, host, "runtime_kubernetes_version"))
    ),
}


def cni_manifest_path(hostvars, host):
    """The bundle path of the CNI manifest the kubeadm role reads for ``host``'s settings.

    ``kubeadm_cni_manifest_url`` (default with offline: true: ``<kubeadm_bundle_url>/files/
    kube-flannel/<kubeadm_cni_flannel_version>/all/kube-flannel.yml``) names a file of the
    bundle; another URL cannot be read offline and is refused, as the role refuses it.
    """
    base = str(_var(hostvars, host, "kubeadm_bundle_url") or "").rstrip("/")
    version = str(_var(hostvars, host, "kubeadm_cni_flannel_version"))
    default = "/".join(["files", CNI_BUNDLE_NAME, version, CNI_BUNDLE_ARCH, CNI_BUNDLE_FILE])
    values = hostvars.get(host) or {}
    url = values.get("kubeadm_cni_manifest_url") if hasattr(values, "get") else None
    if url is None:
        return default
    url = str(url)
    if base and url.startswith(base + "/"):
        return url[len(base) + 1 :]
    raise OfflinePlanError(
        f"{host}: kubeadm_cni_manifest_url {url} is not on the bundle server "
        f"({base or 'offline_bundle_url is not set'}): offline, the CNI manifest is the bundle's "
        f"{default}; leave kubeadm_cni_manifest_url unset, point it below offline_bundle_url, or "
        "give a controller file in kubeadm_cni_manifest_src."
    )


def _fact(hostvars, host, name):
    values = hostvars.get(host) or {}
    value = values.get("ansible_" + name)
    if value is None:
        facts = values.get("ansible_facts") or {}
        value = facts.get(name)
    return value


def host_platform(hostvars, host):
    """``(suite, arch)`` of a host from its facts: ``ansible_distribution_release`` and
    ``ansible_architecture`` as a Debian architecture."""
    suite = _fact(hostvars, host, "distribution_release") or ""
    machine = _fact(hostvars, host, "architecture") or ""
    return str(suite).lower(), DEBIAN_ARCH.get(str(machine), str(machine))


def _need(needs, kind, name, host, why, suite=None, arch=None, version=None, path=None):
    key = (kind, name, version, suite, arch, path)
    entry = needs.get(key)
    if entry is None:
        entry = needs[key] = {
            "kind": kind,
            "name": name,
            "version": version,
            "suite": suite,
            "arch": arch,
            "hosts": [],
            "why": why,
        }
        if path is not None:
            # Found by its path in the bundle, as the role reads it.
            entry["path"] = path
    if host not in entry["hosts"]:
        entry["hosts"].append(host)


def _members(groups, name):
    return list(groups.get(name) or [])


def _unique(hosts):
    seen = []
    for host in hosts:
        if host not in seen:
            seen.append(host)
    return seen


def plan_needs(groups, hostvars, etcd_hosts=None, kubeadm=False):
    """Every artifact the phases will install, one entry per artifact with the hosts needing it.

    ``groups`` and ``hostvars`` are Ansible's. ``etcd_hosts`` are the hosts the etcd planner
    places members on (default: the ``etcd`` group, or ``control_plane`` without one).
    ``kubeadm`` adds the kubeadm phase's binaries and control-plane images.
    Each entry: ``kind`` (deb, image, binary), ``name``, ``version`` (images and binaries),
    ``suite`` (debs), ``arch``, ``hosts`` and ``why`` (the variable that asks for it).
    """
    control_plane = _members(groups, "control_plane")
    workers = _members(groups, "workers")
    kube_nodes = _unique(control_plane + workers)
    runtime_hosts = _unique(kube_nodes + _members(groups, "etcd"))
    if etcd_hosts is None:
        etcd_hosts = _members(groups, "etcd") or control_plane
    needs = {}

    for host in runtime_hosts:
        suite, arch = host_platform(hostvars, host)
        engine = str(_var(hostvars, host, "runtime_engine"))
        variable = ENGINE_PACKAGE.get(engine)
        if variable is None:
            raise OfflinePlanError(
                f"{host}: runtime_engine {engine!r} is none of {', '.join(ENGINE_PACKAGE)}."
            )
        _need(needs, "deb", str(_var(hostvars, host, variable)), host, variable, suite, arch)
        # The runtime role installs the CNI plugins wherever it runs; "" installs none.
        cni_plugins = str(_var(hostvars, host, "runtime_cni_plugins_package") or "")
        if cni_plugins:
            _need(needs, "deb", cni_plugins, host, "runtime_cni_plugins_package", suite, arch)

    for host in kube_nodes:
        _, arch = host_platform(hostvars, host)
        image = str(_var(hostvars, host, "runtime_sandbox_image"))
        _need(needs, "image", image, host, "runtime_sandbox_image", arch=arch)

    for host in etcd_hosts:
        suite, arch = host_platform(hostvars, host)
        for variable in ("etcd_package", "etcd_client_package"):
            _need(needs, "deb", str(_var(hostvars, host, variable)), host, variable, suite, arch)

    for host in kube_nodes:
        mode = str(_var(hostvars, host, "loadbalancer_mode"))
        suite, arch = host_platform(hostvars, host)
        haproxy = mode == "local" or (mode == "vip" and host in control_plane)
        if haproxy:
            name = str(_var(hostvars, host, "loadbalancer_haproxy_package"))
            _need(needs, "deb", name, host, "loadbalancer_haproxy_package", suite, arch)
        if mode == "vip" and host in control_plane:
            name = str(_var(hostvars, host, "loadbalancer_keepalived_package"))
            _need(needs, "deb", name, host, "loadbalancer_keepalived_package", suite, arch)

    if kubeadm:
        _kubeadm_needs(needs, control_plane, kube_nodes, hostvars)
    return list(needs.values())


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _kubeadm_needs(needs, control_plane, kube_nodes, hostvars):
    """What the kubeadm role takes from the bundle: with kubeadm_install_method bundle (the
    default offline) kubeadm, kubelet and kubectl; the control-plane and node images; and with
    a CNI, its manifest file (unless kubeadm_cni_manifest_src gives one on the controller) and
    the images that manifest names (moved to kubeadm_cni_image_registry when set)."""
    for host in kube_nodes:
        _, arch = host_platform(hostvars, host)
        version = str(_var(hostvars, host, "kubeadm_kubernetes_version")).lstrip("v")
        repository = str(_var(hostvars, host, "kubeadm_image_repository")).rstrip("/")
        why = "kubeadm_kubernetes_version"
        method = str(_var(hostvars, host, "kubeadm_install_method"))
        if method == "package":
            raise OfflinePlanError(
                f"{host}: kubeadm_install_method package downloads from pkgs.k8s.io, which an "
                "offline install cannot reach (the bundle has no Kubernetes package repository): "
                "use bundle (the default with offline: true), binary or none."
            )
        if method == "bundle":
            for binary in KUBEADM_BINARIES:
                _need(needs, "binary", binary, host, why, arch=arch, version=version)
        names = KUBEADM_NODE_IMAGES + (
            KUBEADM_CONTROL_PLANE_IMAGES if host in control_plane else ()
        )
        for name in names:
            _need(needs, "image", f"{repository}/{name}:v{version}", host, why, arch=arch)
        # CoreDNS's tag is kubeadm's own constant for each release: any tag will do.
        _need(needs, "image", f"{repository}/coredns/coredns", host, why, arch=arch, version="*")

    # The CNI is applied once, from the first control-plane node, with its settings.
    if not control_plane or str(_var(hostvars, control_plane[0], "kubeadm_cni")) == "none":
        return
    first = control_plane[0]
    source = str(_var(hostvars, first, "kubeadm_cni_manifest_src") or "")
    if source:
        text = _read_text(source)
    else:
        path = cni_manifest_path(hostvars, first)
        version = str(_var(hostvars, first, "kubeadm_cni_flannel_version"))
        _need(
            needs,
            "binary",
            CNI_BUNDLE_NAME,
            first,
            "kubeadm_cni_flannel_version",
            arch=CNI_BUNDLE_ARCH,
            version=version,
            path=path,
        )
        bundle_dir = str(_var(hostvars, first, "kubeadm_bundle_dir") or "")
        text = _read_text(os.path.join(bundle_dir, path)) if bundle_dir else None
    if text is None:
        # Without the manifest its images are unknown; the manifest itself is reported.
        return
    registry = str(_var(hostvars, first, "kubeadm_cni_image_registry") or "")
    try:
        images = manifest_images(text)
        if registry:
            images = [rewrite_image(i, registry) for i in images]
    except ManifestError as exc:
        raise OfflinePlanError(
            f"the CNI manifest ({source or 'the bundle'}) cannot be read: {exc}"
        ) from None
    for host in kube_nodes:
        _, arch = host_platform(hostvars, host)
        for reference in images:
            _need(needs, "image", reference, host, "kubeadm_cni (its manifest's images)", arch=arch)


# --- what is missing -------------------------------------------------------------------------


def _arch_fits(entry_arch, arch):
    entry_arch = "" if entry_arch is None else str(entry_arch)
    return not arch or entry_arch in ANY_ARCH or entry_arch == arch


def _version(value):
    return str(value or "").lstrip("v")


def _has_deb(artifacts, need):
    return any(
        a.get("kind") == "deb"
        and a.get("name") == need["name"]
        and str(a.get("suite") or "") == need["suite"]
        and _arch_fits(a.get("arch"), need["arch"])
        for a in artifacts
    )


def _has_binary(artifacts, need):
    if need.get("path"):
        return any(a.get("kind") == "binary" and a.get("path") == need["path"] for a in artifacts)
    return any(
        a.get("kind") == "binary"
        and a.get("name") == need["name"]
        and _version(a.get("version")) == _version(need["version"])
        and _arch_fits(a.get("arch"), need["arch"])
        for a in artifacts
    )


def _has_image(artifacts, need, offline_registry=""):
    registry, path, tag, digest = split_image(need["name"])
    offline_registry = str(offline_registry or "").lower()
    for a in artifacts:
        if a.get("kind") != "image" or not _arch_fits(a.get("arch"), need["arch"]):
            continue
        a_registry, a_path, _, _ = split_image(a["name"])
        # An image named by the bundle registry itself is found by its repository path.
        if registry == offline_registry and offline_registry:
            if a_path != path:
                continue
        elif (a_registry, a_path) != (registry, path):
            continue
        if need.get("version") == "*":
            return True
        if digest and a.get("digest") == digest:
            return True
        if tag is not None and _version(a.get("version")) == _version(tag):
            return True
    return False


def find_missing(manifest, needs, offline_registry=""):
    """The needs the manifest's artifacts do not satisfy, in the order of ``needs``."""
    artifacts = manifest.get("artifacts") or []
    missing = []
    for need in needs:
        if need["kind"] == "deb":
            found = _has_deb(artifacts, need)
        elif need["kind"] == "binary":
            found = _has_binary(artifacts, need)
        else:
            found = _has_image(artifacts, need, offline_registry)
        if not found:
            missing.append(need)
    return missing


def describe(need):
    """One artifact in words: ``deb containerd (trixie/amd64)``."""
    if need["kind"] == "deb":
        return f"deb {need['name']} ({need['suite'] or 'unknown suite'}/{need['arch']})"
    if need["kind"] == "binary" and need.get("path"):
        return f"file {need['name']} {need['version']} ({need['path']})"
    if need["kind"] == "binary":
        return f"binary {need['name']} {need['version']} ({need['arch']})"
    if need.get("version") == "*":
        return f"image {need['name']} (any tag, {need['arch']})"
    return f"image {need['name']} ({need['arch']})"


def missing_message(manifest, missing, bundle_dir=""):
    """The failure message: every missing artifact, who needs it, and how to fix the bundle."""
    if not missing:
        return ""
    lines = [
        f"The bundle in {bundle_dir or 'offline_bundle_dir'} (Kubernetes "
        f"{manifest.get('kubernetes_version', '?')}, suites "
        f"{', '.join(manifest.get('suites') or []) or 'none'}, architectures "
        f"{', '.join(manifest.get('architectures') or []) or 'none'}) lacks "
        f"{len(missing)} artifact(s) this inventory needs:"
    ]
    for need in missing:
        lines.append(f"- {describe(need)}, needed by {', '.join(need['hosts'])} ({need['why']})")
    suites = sorted({n["suite"] for n in missing if n["kind"] == "deb" and n["suite"]})
    arches = sorted({n["arch"] for n in missing if n["arch"] and n["arch"] not in ANY_ARCH})
    new_suites = [s for s in suites if s not in (manifest.get("suites") or [])]
    new_arches = [a for a in arches if a not in (manifest.get("architectures") or [])]
    additions = []
    if new_suites:
        additions.append(f"bundle_build_suites += {', '.join(new_suites)}")
    if new_arches:
        additions.append(f"bundle_build_architectures += {', '.join(new_arches)}")
    for kind, variable in (
        ("deb", "bundle_build_deb_packages"),
        ("binary", "bundle_build_binaries"),
        ("image", "bundle_build_images"),
    ):
        names = []
        for need in missing:
            if need["kind"] == kind and not need.get("path") and need["name"] not in names:
                names.append(need["name"])
        if names:
            additions.append(f"{variable} += {', '.join(names)}")
    for need in missing:
        if need.get("path") and need["name"] == CNI_BUNDLE_NAME:
            additions.append(
                f"the catalog carries {need['path']}: pin its sha256 in bundle_build_pins "
                f'["{CNI_BUNDLE_NAME}/{CNI_BUNDLE_ARCH}"]'
            )
    fix = (
        "Fix: rebuild the bundle on a connected machine with prodgrade.kubernetes.bundle_build ("
        + "; ".join(additions)
        + "), carry it in, replace offline_bundle_dir with it and serve it again with "
        "prodgrade.kubernetes.bundle_serve; or set the variables named above to what the bundle "
        "holds. Nothing was changed on any host."
    )
    lines.append(fix)
    return "\n".join(lines)


# --- the inputs ------------------------------------------------------------------------------

_HOST_RE = re.compile(
    r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$"
)
_URL_RE = re.compile(r"^https?://[^/\s]+(/\S*)?$")


def input_problems(bundle_dir, bundle_url, registry):
    """What is wrong with the three inventory variables of offline mode, one sentence each."""
    problems = []
    if not bundle_dir:
        problems.append(
            "offline_bundle_dir is not set: the bundle directory on the controller (manifest.json "
            "and the signing key are read from it, never from the network)."
        )
    if not bundle_url:
        problems.append(
            "offline_bundle_url is not set: the bundle server, e.g. http://bundle1:8080."
        )
    elif not _URL_RE.match(str(bundle_url)):
        problems.append(
            f"offline_bundle_url {bundle_url} must be http://host[:port][/path] (or https://)."
        )
    if not registry:
        problems.append("offline_registry is not set: the bundle's registry, e.g. bundle1:5000.")
    elif not _HOST_RE.match(str(registry)):
        problems.append(
            f"offline_registry {registry} must be host[:port] as in image references, without a "
            "scheme or a path."
        )
    return problems


def image_problems(needs, upstreams, offline_registry):
    """Images on a registry the nodes will not pull through the bundle registry.

    Offline mode makes the bundle registry the mirror of ``upstreams`` only
    (``registry_trust_offline_upstreams``); an image of another registry would be pulled from
    that registry itself.
    """
    allowed = {str(u).lower() for u in upstreams or []}
    if offline_registry:
        allowed.add(str(offline_registry).lower())
    problems = []
    for need in needs:
        if need["kind"] != "image":
            continue
        registry = split_image(need["name"])[0]
        if registry not in allowed:
            problems.append(
                f"{need['name']} ({need['why']}, on {', '.join(need['hosts'])}) is on {registry}, "
                f"which the bundle registry does not mirror ({', '.join(sorted(allowed))}): name "
                "it by one of those registries, or add it to registry_trust_offline_upstreams."
            )
    return problems


def host_problems(hostvars, hosts):
    """Hosts offline mode cannot serve: not apt, or without a known release."""
    problems = []
    for host in hosts:
        values = hostvars.get(host) or {}
        manager = values.get("ansible_pkg_mgr") or (values.get("ansible_facts") or {}).get(
            "pkg_mgr"
        )
        if manager and manager != "apt":
            problems.append(
                f"{host} uses {manager}: the bundle carries a Debian (apt) package repository "
                "only, so offline: true needs Debian or Ubuntu hosts."
            )
        engine = _var(hostvars, host, "runtime_engine")
        if engine == "cri_dockerd":
            problems.append(
                f"{host} runs runtime_engine cri_dockerd: Docker Engine can mirror only Docker "
                "Hub, so it cannot pull registry.k8s.io images from the bundle's registry. Use "
                "containerd or crio with offline: true."
            )
        if not host_platform(hostvars, host)[0]:
            problems.append(
                f"{host}: its release (ansible_distribution_release) is unknown, so the bundle's "
                "package suite for it cannot be chosen; gather facts first."
            )
    return problems
