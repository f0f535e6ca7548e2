"""The offline planner: what each host needs, and what a bundle's manifest lacks."""

import json

import pytest

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (
    KUBERNETES_VERSION,
    OfflinePlanError,
    describe,
    find_missing,
    host_problems,
    image_problems,
    input_problems,
    missing_message,
    parse_manifest,
    plan_needs,
    read_manifest,
    split_image,
)

TRIXIE = {"ansible_distribution_release": "trixie", "ansible_architecture": "x86_64"}
BOOKWORM_ARM = {"ansible_distribution_release": "bookworm", "ansible_architecture": "aarch64"}


def deb(name, suite="trixie", arch="amd64"):
    return {"kind": "deb", "name": name, "version": "1", "suite": suite, "arch": arch}


def image(name, version, arch="amd64", digest=None):
    entry = {"kind": "image", "name": name, "version": version, "arch": arch}
    if digest:
        entry["digest"] = digest
    return entry


def manifest(*artifacts, suites=("trixie",), arches=("amd64",)):
    return {
        "format": 1,
        "kubernetes_version": "1.37.1",
        "suites": list(suites),
        "architectures": list(arches),
        "artifacts": list(artifacts),
    }


COMPLETE = [
    deb("containerd"),
    deb("etcd-server"),
    deb("etcd-client"),
    deb("haproxy"),
    image("registry.k8s.io/pause", "3.10.2"),
    deb("containernetworking-plugins"),
]


FLANNEL_PATH = "files/kube-flannel/v0.28.9/all/kube-flannel.yml"
FLANNEL_FILE = {
    "kind": "binary",
    "name": "kube-flannel",
    "version": "v0.28.9",
    "arch": "all",
    "path": FLANNEL_PATH,
}


def three_hosts(**extra):
    hostvars = {h: {**TRIXIE, **extra} for h in ("cp1", "cp2", "w1")}
    groups = {"control_plane": ["cp1", "cp2"], "workers": ["w1"], "etcd": ["cp1", "cp2"]}
    return groups, hostvars


def by_key(needs):
    return {(n["kind"], n["name"], n["suite"], n["arch"]): n["hosts"] for n in needs}


# --- needs -----------------------------------------------------------------------------------


def test_defaults_give_runtime_etcd_haproxy_and_pause():
    groups, hostvars = three_hosts()
    needs = by_key(plan_needs(groups, hostvars))
    assert needs == {
        ("deb", "containerd", "trixie", "amd64"): ["cp1", "cp2", "w1"],
        ("deb", "containernetworking-plugins", "trixie", "amd64"): ["cp1", "cp2", "w1"],
        ("image", "registry.k8s.io/pause:3.10.2", None, "amd64"): ["cp1", "cp2", "w1"],
        ("deb", "etcd-server", "trixie", "amd64"): ["cp1", "cp2"],
        ("deb", "etcd-client", "trixie", "amd64"): ["cp1", "cp2"],
        ("deb", "haproxy", "trixie", "amd64"): ["cp1", "cp2", "w1"],
    }


def test_etcd_packages_only_where_the_planner_puts_members():
    groups, hostvars = three_hosts()
    needs = by_key(plan_needs(groups, hostvars, etcd_hosts=["cp2"]))
    assert needs[("deb", "etcd-server", "trixie", "amd64")] == ["cp2"]


def test_etcd_defaults_to_the_control_plane_without_an_etcd_group():
    groups, hostvars = three_hosts()
    del groups["etcd"]
    needs = by_key(plan_needs(groups, hostvars))
    assert needs[("deb", "etcd-client", "trixie", "amd64")] == ["cp1", "cp2"]


def test_etcd_only_hosts_get_the_runtime_but_no_sandbox_image():
    groups, hostvars = three_hosts()
    groups["etcd"] = ["e1"]
    hostvars["e1"] = dict(TRIXIE)
    needs = by_key(plan_needs(groups, hostvars))
    assert needs[("deb", "containerd", "trixie", "amd64")] == ["cp1", "cp2", "w1", "e1"]
    # The runtime role installs the CNI plugins wherever it runs.
    assert needs[("deb", "containernetworking-plugins", "trixie", "amd64")] == [
        "cp1",
        "cp2",
        "w1",
        "e1",
    ]
    assert "e1" not in needs[("image", "registry.k8s.io/pause:3.10.2", None, "amd64")]
    assert "e1" not in needs[("deb", "haproxy", "trixie", "amd64")]


def test_suite_and_architecture_come_from_each_hosts_facts():
    groups, hostvars = three_hosts()
    hostvars["w1"] = {
        "ansible_facts": {"distribution_release": "Bookworm", "architecture": "aarch64"}
    }
    needs = by_key(plan_needs(groups, hostvars))
    assert needs[("deb", "containerd", "bookworm", "arm64")] == ["w1"]
    assert needs[("deb", "containerd", "trixie", "amd64")] == ["cp1", "cp2"]


@pytest.mark.parametrize(
    ("settings", "pause"),
    [
        ({"kubernetes_version": "1.35.4"}, "3.10.1"),
        ({"kubernetes_version": "1.36.0"}, "3.10.2"),
        ({"kubernetes_version": "1.37.1", "runtime_kubernetes_version": "1.34"}, "3.10.1"),
    ],
)
def test_the_default_pause_image_follows_the_kubernetes_minor(settings, pause):
    groups, hostvars = three_hosts(**settings)
    needs = by_key(plan_needs(groups, hostvars))
    assert ("image", f"registry.k8s.io/pause:{pause}", None, "amd64") in needs


def test_role_variables_set_in_the_inventory_win():
    groups, hostvars = three_hosts(
        runtime_engine="crio",
        runtime_crio_package="cri-o-1.33",
        runtime_sandbox_image="registry.k8s.io/pause:3.9",
        etcd_package="etcd",
        loadbalancer_mode="vip",
    )
    needs = by_key(plan_needs(groups, hostvars))
    assert needs[("deb", "cri-o-1.33", "trixie", "amd64")] == ["cp1", "cp2", "w1"]
    assert ("image", "registry.k8s.io/pause:3.9", None, "amd64") in needs
    assert needs[("deb", "etcd", "trixie", "amd64")] == ["cp1", "cp2"]
    # vip: haproxy and keepalived on the control plane only.
    assert needs[("deb", "haproxy", "trixie", "amd64")] == ["cp1", "cp2"]
    assert needs[("deb", "keepalived", "trixie", "amd64")] == ["cp1", "cp2"]


def test_cni_plugins_package_follows_each_hosts_setting():
    groups, hostvars = three_hosts()
    hostvars["cp2"]["runtime_cni_plugins_package"] = "my-cni-plugins"
    # "": the plugins are the user's own, nothing to install.
    hostvars["w1"]["runtime_cni_plugins_package"] = ""
    needs = plan_needs(groups, hostvars)
    keyed = by_key(needs)
    assert keyed[("deb", "containernetworking-plugins", "trixie", "amd64")] == ["cp1"]
    assert keyed[("deb", "my-cni-plugins", "trixie", "amd64")] == ["cp2"]
    assert {n["why"] for n in needs if "w1" in n["hosts"] and n["kind"] == "deb"} == {
        "runtime_containerd_package",
        "loadbalancer_haproxy_package",
    }
    assert [n["why"] for n in needs if n["name"] == "my-cni-plugins"] == [
        "runtime_cni_plugins_package"
    ]


def test_external_load_balancer_needs_no_package():
    groups, hostvars = three_hosts(loadbalancer_mode="external")
    kinds = {n["name"] for n in plan_needs(groups, hostvars)}
    assert "haproxy" not in kinds and "keepalived" not in kinds


def test_unknown_engine_is_refused():
    groups, hostvars = three_hosts(runtime_engine="rkt")
    with pytest.raises(OfflinePlanError, match="rkt"):
        plan_needs(groups, hostvars)


def test_kubeadm_adds_binaries_and_control_plane_images():
    groups, hostvars = three_hosts(kubeadm_kubernetes_version="1.37.1")
    needs = plan_needs(groups, hostvars, kubeadm=True)
    keyed = {(n["kind"], n["name"], n["version"]): n["hosts"] for n in needs}
    assert keyed[("binary", "kubeadm", "1.37.1")] == ["cp1", "cp2", "w1"]
    assert keyed[("image", "registry.k8s.io/kube-apiserver:v1.37.1", None)] == ["cp1", "cp2"]
    assert keyed[("image", "registry.k8s.io/kube-proxy:v1.37.1", None)] == ["cp1", "cp2", "w1"]
    assert keyed[("image", "registry.k8s.io/coredns/coredns", "*")] == ["cp1", "cp2", "w1"]
    assert not any(n["kind"] == "binary" for n in plan_needs(groups, hostvars))


# --- the manifest ----------------------------------------------------------------------------


def test_manifest_is_read_from_the_bundle_directory(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest(*COMPLETE)))
    assert read_manifest(str(tmp_path))["kubernetes_version"] == "1.37.1"


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda d: None, "manifest.json does not exist"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "manifest.json").write_text("[]"), "no JSON object"),
        (lambda d: (d / "manifest.json").write_text('{"format": 2, "artifacts": []}'), "format 2"),
        (lambda d: (d / "manifest.json").write_text('{"format": 1}'), "no list of artifacts"),
        (lambda d: (d / "manifest.json").mkdir(), "cannot be read"),
    ],
)
def test_bad_manifests_are_named(tmp_path, setup, words):
    setup(tmp_path)
    with pytest.raises(OfflinePlanError, match=words):
        read_manifest(str(tmp_path))


def test_missing_bundle_directory_is_named(tmp_path):
    with pytest.raises(OfflinePlanError, match="not a directory"):
        read_manifest(str(tmp_path / "nowhere"))
    with pytest.raises(OfflinePlanError, match="offline_bundle_dir is not set"):
        read_manifest("")


# --- missing ---------------------------------------------------------------------------------


def test_complete_bundle_lacks_nothing():
    groups, hostvars = three_hosts()
    assert find_missing(manifest(*COMPLETE), plan_needs(groups, hostvars)) == []


def test_each_missing_artifact_is_named_with_its_hosts_and_the_fix():
    groups, hostvars = three_hosts()
    hostvars["w1"] = dict(BOOKWORM_ARM)
    bundle = manifest(*[a for a in COMPLETE if a["name"] != "etcd-client"])
    missing = find_missing(bundle, plan_needs(groups, hostvars))
    described = [(describe(m), m["hosts"]) for m in missing]
    assert described == [
        ("deb containerd (bookworm/arm64)", ["w1"]),
        ("deb containernetworking-plugins (bookworm/arm64)", ["w1"]),
        ("image registry.k8s.io/pause:3.10.2 (arm64)", ["w1"]),
        ("deb etcd-client (trixie/amd64)", ["cp1", "cp2"]),
        ("deb haproxy (bookworm/arm64)", ["w1"]),
    ]
    text = missing_message(bundle, missing, "/srv/bundle")
    assert "/srv/bundle" in text and "lacks 5 artifact(s)" in text
    assert "- deb etcd-client (trixie/amd64), needed by cp1, cp2 (etcd_client_package)" in text
    assert "bundle_build_suites += bookworm" in text
    assert "bundle_build_architectures += arm64" in text
    assert (
        "bundle_build_deb_packages += containerd, containernetworking-plugins, etcd-client, haproxy"
        in text
    )
    assert "bundle_build_images += registry.k8s.io/pause:3.10.2" in text
    assert "bundle_build" in text and "Nothing was changed" in text
    assert missing_message(bundle, []) == ""


def test_a_package_of_another_suite_or_architecture_does_not_count():
    groups, hostvars = three_hosts()
    needs = plan_needs(groups, hostvars)
    bundle = manifest(
        deb("containerd", suite="bookworm"), deb("etcd-server", arch="arm64"), *COMPLETE[2:]
    )
    names = [m["name"] for m in find_missing(bundle, needs)]
    assert names == ["containerd", "etcd-server"]


def test_architecture_all_fits_every_host():
    groups, hostvars = three_hosts()
    bundle = manifest(deb("containerd", arch="all"), *COMPLETE[1:])
    assert find_missing(bundle, plan_needs(groups, hostvars)) == []


def test_images_match_by_tag_digest_or_bundle_registry_path():
    need = {"kind": "image", "arch": "amd64", "hosts": ["cp1"], "why": "x", "version": None}
    pause = image("registry.k8s.io/pause", "3.10", digest="sha256:aa")
    bundle = manifest(pause)
    assert not find_missing(bundle, [{**need, "name": "registry.k8s.io/pause:3.10"}])
    assert not find_missing(bundle, [{**need, "name": "registry.k8s.io/pause@sha256:aa"}])
    assert find_missing(bundle, [{**need, "name": "registry.k8s.io/pause:3.9"}])
    assert find_missing(bundle, [{**need, "name": "registry.k8s.io/pause@sha256:bb"}])
    # Named by the bundle registry itself: found by repository path.
    assert not find_missing(
        bundle, [{**need, "name": "bundle1:5000/pause:3.10"}], offline_registry="bundle1:5000"
    )
    assert find_missing(bundle, [{**need, "name": "bundle1:5000/pause:3.10"}])


def test_binaries_match_name_version_and_architecture():
    groups, hostvars = three_hosts()
    binaries = [
        {"kind": "binary", "name": n, "version": "v1.37.1", "arch": "amd64"}
        for n in ("kubeadm", "kubelet", "kubectl")
    ]
    images = [
        image(f"registry.k8s.io/{n}", "v1.37.1")
        for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
    ] + [image("registry.k8s.io/coredns/coredns", "v1.12.1")]
    needs = plan_needs(groups, hostvars, kubeadm=True)
    assert find_missing(manifest(*COMPLETE, *binaries, *images, FLANNEL_FILE), needs) == []
    missing = find_missing(manifest(*COMPLETE, *binaries[1:], *images[:-1]), needs)
    assert [describe(m) for m in missing] == [
        "binary kubeadm 1.37.1 (amd64)",
        "image registry.k8s.io/coredns/coredns (any tag, amd64)",
        f"file kube-flannel v0.28.9 ({FLANNEL_PATH})",
    ]


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("registry.k8s.io/pause:3.10", ("registry.k8s.io", "pause", "3.10", None)),
        ("nginx", ("docker.io", "library/nginx", "latest", None)),
        ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", None)),
        ("index.docker.io/library/nginx:1", ("docker.io", "library/nginx", "1", None)),
        ("bundle1:5000/a/b:c", ("bundle1:5000", "a/b", "c", None)),
        ("localhost/x@sha256:ab", ("localhost", "x", None, "sha256:ab")),
        ("Quay.IO/a/b:1@sha256:ab", ("quay.io", "a/b", "1", "sha256:ab")),
    ],
)
def test_image_references_are_read_as_the_runtimes_read_them(reference, parts):
    assert split_image(reference) == parts


# --- problems --------------------------------------------------------------------------------


def test_inputs_are_all_checked():
    assert input_problems("/b", "http://bundle1:8080", "bundle1:5000") == []
    problems = input_problems("", "", "")
    assert len(problems) == 3
    assert "offline_bundle_dir is not set" in problems[0]
    problems = input_problems("/b", "bundle1:8080", "https://bundle1:5000/x")
    assert "offline_bundle_url bundle1:8080 must be" in problems[0]
    assert "offline_registry https://bundle1:5000/x must be host[:port]" in problems[1]


def test_hosts_offline_mode_cannot_serve_are_named():
    hostvars = {
        "deb": {**TRIXIE, "ansible_pkg_mgr": "apt"},
        "el": {**TRIXIE, "ansible_pkg_mgr": "dnf"},
        "nofacts": {},
        "docker": {**TRIXIE, "runtime_engine": "cri_dockerd"},
    }
    problems = " ".join(host_problems(hostvars, list(hostvars)))
    assert "deb" not in problems.split(" ")[0]
    assert "el uses dnf" in problems
    assert "nofacts: its release (ansible_distribution_release) is unknown" in problems
    assert "docker runs runtime_engine cri_dockerd" in problems


def test_images_outside_the_mirrored_registries_are_named():
    groups, hostvars = three_hosts(runtime_sandbox_image="registry.example/pause:3.10")
    needs = plan_needs(groups, hostvars)
    upstreams = ["registry.k8s.io", "docker.io"]
    (problem,) = image_problems(needs, upstreams, "bundle1:5000")
    assert "registry.example/pause:3.10 (runtime_sandbox_image" in problem
    groups, hostvars = three_hosts(runtime_sandbox_image="bundle1:5000/pause:3.10")
    assert image_problems(plan_needs(groups, hostvars), upstreams, "bundle1:5000") == []


def test_parse_manifest_accepts_the_contracts_example():
    text = json.dumps(
        {
            "format": 1,
            "kubernetes_version": "1.37.1",
            "created": "2026-05-01T10:00:00Z",
            "architectures": ["amd64"],
            "suites": ["trixie"],
            "artifacts": [
                {
                    "kind": "deb",
                    "name": "containerd",
                    "version": "1.7.24~ds1-1",
                    "arch": "amd64",
                    "suite": "trixie",
                    "path": "debs/trixie/containerd_1.7.24~ds1-1_amd64.deb",
                    "sha256": "0" * 64,
                    "source": "http://deb.debian.org/debian",
                    "requested": True,
                }
            ],
        }
    )
    assert parse_manifest(text)["artifacts"][0]["name"] == "containerd"


# --- the kubeadm phase: what the role takes from the bundle -----------------------------------

FLANNEL_MANIFEST = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-flannel-ds, namespace: kube-flannel}
spec:
  template:
    spec:
      initContainers:
        - name: install-cni-plugin
          image: ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3
      containers:
        - name: kube-flannel
          image: ghcr.io/flannel-io/flannel:v0.28.9
"""


def kubeadm_keys(needs):
    return {
        (n["kind"], n["name"], n["version"], n.get("path")): n["hosts"]
        for n in needs
        if n["why"] != "runtime_sandbox_image" and n["kind"] != "deb"
    }


def test_kubeadm_release_follows_the_inventory_kubernetes_version():
    groups, hostvars = three_hosts(kubernetes_version="1.36.2")
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert keys[("binary", "kubelet", "1.36.2", None)] == ["cp1", "cp2", "w1"]
    assert ("image", "registry.k8s.io/kube-proxy:v1.36.2", None, None) in keys
    # The role variable, when set, wins over the collection-wide one.
    groups, hostvars = three_hosts(kubernetes_version="1.36.2", kubeadm_kubernetes_version="1.35.4")
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert ("binary", "kubelet", "1.35.4", None) in keys
    assert not any(k[2] == "1.36.2" for k in keys)


def test_kubeadm_release_defaults_to_the_collections_literal():
    groups, hostvars = three_hosts()
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert ("binary", "kubeadm", KUBERNETES_VERSION, None) in keys


def test_kubeadm_binaries_only_with_the_bundle_method():
    for method in ("binary", "none"):
        groups, hostvars = three_hosts(kubeadm_install_method=method)
        needs = plan_needs(groups, hostvars, kubeadm=True)
        assert not any(n["name"] in ("kubeadm", "kubelet", "kubectl") for n in needs), method
        # The images are pulled whatever installed the binaries.
        assert any(n["name"].startswith("registry.k8s.io/kube-proxy:") for n in needs)


def test_kubeadm_package_method_is_refused_offline():
    groups, hostvars = three_hosts(kubeadm_install_method="package")
    with pytest.raises(OfflinePlanError, match=r"pkgs\.k8s\.io"):
        plan_needs(groups, hostvars, kubeadm=True)


def test_cni_manifest_is_a_bundle_file_needed_by_the_first_control_plane():
    groups, hostvars = three_hosts()
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert keys[("binary", "kube-flannel", "v0.28.9", FLANNEL_PATH)] == ["cp1"]
    # Another flannel release: another file.
    groups, hostvars = three_hosts(kubeadm_cni_flannel_version="v0.29.0")
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert (
        "binary",
        "kube-flannel",
        "v0.29.0",
        "files/kube-flannel/v0.29.0/all/kube-flannel.yml",
    ) in keys


def test_no_cni_manifest_without_a_cni_or_with_a_controller_file(tmp_path):
    groups, hostvars = three_hosts(kubeadm_cni="none")
    assert not any(n["name"] == "kube-flannel" for n in plan_needs(groups, hostvars, kubeadm=True))
    src = tmp_path / "flannel.yml"
    src.write_text(FLANNEL_MANIFEST)
    groups, hostvars = three_hosts(kubeadm_cni_manifest_src=str(src))
    needs = plan_needs(groups, hostvars, kubeadm=True)
    assert not any(n["name"] == "kube-flannel" for n in needs)
    # The controller file's images are still pulled through the bundle registry.
    keys = kubeadm_keys(needs)
    assert keys[("image", "ghcr.io/flannel-io/flannel:v0.28.9", None, None)] == ["cp1", "cp2", "w1"]


def test_cni_images_are_read_from_the_bundles_manifest_file(tmp_path):
    (tmp_path / FLANNEL_PATH).parent.mkdir(parents=True)
    (tmp_path / FLANNEL_PATH).write_text(FLANNEL_MANIFEST)
    groups, hostvars = three_hosts(offline_bundle_dir=str(tmp_path))
    needs = plan_needs(groups, hostvars, kubeadm=True)
    images = [n for n in needs if n["why"] == "kubeadm_cni (its manifest's images)"]
    assert [n["name"] for n in images] == [
        "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3",
        "ghcr.io/flannel-io/flannel:v0.28.9",
    ]
    assert all(n["hosts"] == ["cp1", "cp2", "w1"] for n in images)
    bundle = manifest(
        *COMPLETE, FLANNEL_FILE, image("ghcr.io/flannel-io/flannel", "v0.28.9"), arches=("amd64",)
    )
    missing = [describe(m) for m in find_missing(bundle, images)]
    assert missing == ["image ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3 (amd64)"]


def test_cni_images_moved_to_the_bundle_registry_are_found_by_path(tmp_path):
    (tmp_path / FLANNEL_PATH).parent.mkdir(parents=True)
    (tmp_path / FLANNEL_PATH).write_text(FLANNEL_MANIFEST)
    groups, hostvars = three_hosts(
        offline_bundle_dir=str(tmp_path), kubeadm_cni_image_registry="bundle1:5000"
    )
    needs = plan_needs(groups, hostvars, kubeadm=True)
    images = [n for n in needs if n["why"] == "kubeadm_cni (its manifest's images)"]
    assert [n["name"] for n in images] == [
        "bundle1:5000/flannel-io/flannel-cni-plugin:v1.9.1-flannel3",
        "bundle1:5000/flannel-io/flannel:v0.28.9",
    ]
    bundle = manifest(
        image("ghcr.io/flannel-io/flannel", "v0.28.9"),
        image("ghcr.io/flannel-io/flannel-cni-plugin", "v1.9.1-flannel3"),
    )
    assert find_missing(bundle, images, offline_registry="bundle1:5000") == []


def test_cni_manifest_url_must_be_the_bundle_servers():
    url = "http://bundle1:8080"
    groups, hostvars = three_hosts(
        offline_bundle_url=url + "/",
        kubeadm_cni_manifest_url=url + "/files/my-cni/1/all/cni.yml",
    )
    keys = kubeadm_keys(plan_needs(groups, hostvars, kubeadm=True))
    assert ("binary", "kube-flannel", "v0.28.9", "files/my-cni/1/all/cni.yml") in keys
    groups, hostvars = three_hosts(
        offline_bundle_url=url,
        kubeadm_cni_manifest_url="https://github.com/flannel-io/flannel/releases/download/x.yml",
    )
    with pytest.raises(OfflinePlanError, match="not on the bundle server"):
        plan_needs(groups, hostvars, kubeadm=True)


def test_missing_cni_manifest_says_to_pin_it():
    groups, hostvars = three_hosts()
    needs = plan_needs(groups, hostvars, kubeadm=True)
    missing = [n for n in find_missing(manifest(*COMPLETE), needs) if n["name"] == "kube-flannel"]
    text = missing_message(manifest(*COMPLETE), missing, "/b")
    assert f"file kube-flannel v0.28.9 ({FLANNEL_PATH}), needed by cp1" in text
    assert 'bundle_build_pins ["kube-flannel/all"]' in text
    assert "bundle_build_architectures" not in text
    assert "bundle_build_binaries" not in text
