"""One Kubernetes release and one flannel release across the collection.

The inventory sets ``kubernetes_version`` once; each role's default follows it with a fallback
literal (``{{ kubernetes_version | default('x.y.z') }}``), and the offline planner carries the
same fallback in Python. These tests find every such fallback in the roles' defaults and
argument specs and require one literal everywhere, the one the planner uses, so that they
cannot drift. The bundle catalog must carry the flannel release the kubeadm role applies.
"""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (
    KUBERNETES_VERSION,
    ROLE_DEFAULTS,
)

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
FALLBACK = re.compile(r"kubernetes_version\s*\|\s*default\(\s*['\"]([^'\"]*)['\"]")
# Every role variable that holds the Kubernetes release, and the form of its value.
FOLLOWERS = {
    ("kubeadm", "kubeadm_kubernetes_version"): "x.y.z",
    ("bundle_build", "bundle_build_kubernetes_version"): "x.y.z",
    ("runtime", "runtime_kubernetes_version"): "minor",
}


def load(path):
    return yaml.safe_load(path.read_text()) or {}


def defaults(role):
    return load(ROLES / role / "defaults" / "main.yml")


def role_files():
    for role in sorted(p for p in ROLES.iterdir() if p.is_dir()):
        for rel in ("defaults/main.yml", "meta/argument_specs.yml"):
            if (role / rel).exists():
                yield role / rel


def test_the_python_fallback_is_an_exact_release():
    assert re.fullmatch(r"\d+\.\d+\.\d+", KUBERNETES_VERSION)


@pytest.mark.parametrize("path", list(role_files()), ids=lambda p: str(p.relative_to(REPO)))
def test_every_role_fallback_is_the_same_literal(path):
    found = FALLBACK.findall(path.read_text())
    assert all(value == KUBERNETES_VERSION for value in found), (
        f"{path.relative_to(REPO)} falls back to {found}, the collection to {KUBERNETES_VERSION}"
    )


@pytest.mark.parametrize(("role", "name"), list(FOLLOWERS))
def test_every_release_variable_follows_kubernetes_version(role, name):
    value = str(defaults(role)[name])
    assert FALLBACK.findall(value) == [KUBERNETES_VERSION], (
        f"roles/{role}: {name} must follow kubernetes_version (default "
        f"'{KUBERNETES_VERSION}'), not {value!r}"
    )


def test_no_other_role_default_pins_a_release():
    """A new *_kubernetes_version default must follow kubernetes_version too."""
    for role in sorted(p.name for p in ROLES.iterdir() if p.is_dir()):
        for name, value in defaults(role).items():
            if name.endswith("kubernetes_version"):
                assert (role, name) in FOLLOWERS, f"roles/{role}: {name} is not checked here"
                assert "kubernetes_version" in str(value), f"roles/{role}: {name} = {value!r}"


def test_the_releases_minor_is_one_every_role_knows():
    minor = ".".join(KUBERNETES_VERSION.split(".")[:2])
    kubeadm_vars = load(ROLES / "kubeadm" / "vars" / "main.yml")
    assert minor in kubeadm_vars["__kubeadm_supported_minors"]
    assert (
        max(kubeadm_vars["__kubeadm_supported_minors"], key=lambda m: tuple(map(int, m.split("."))))
        == minor
    )
    catalog = load(ROLES / "bundle_build" / "vars" / "main.yml")["__bundle_build_releases"]
    assert minor in catalog
    assert sorted(catalog) == sorted(kubeadm_vars["__kubeadm_supported_minors"])


def test_the_bundle_carries_the_flannel_release_the_kubeadm_role_applies():
    flannel = defaults("kubeadm")["kubeadm_cni_flannel_version"]
    assert ROLE_DEFAULTS["kubeadm"]["kubeadm_cni_flannel_version"] == flannel
    catalog = load(ROLES / "bundle_build" / "vars" / "main.yml")
    for minor, row in catalog["__bundle_build_releases"].items():
        assert row["flannel"] == flannel, f"bundle catalog {minor}: flannel {row['flannel']}"
    files = [b for b in catalog["__bundle_build_binary_catalog"] if b["name"] == "kube-flannel"]
    assert len(files) == 1
    manifest = files[0]
    assert manifest["version"] == "{{ __bundle_build_release.flannel }}"
    assert manifest["arch"] == "all"
    assert manifest["url"].endswith(
        "/flannel-io/flannel/releases/download/{version}/kube-flannel.yml"
    )
    # No upstream checksum file: pinned by the user, or the build refuses it.
    assert "checksum_url" not in manifest and "sha256" not in manifest
    images = {i["name"]: i["version"] for i in catalog["__bundle_build_image_catalog"]}
    assert images["ghcr.io/flannel-io/flannel"] == "{{ __bundle_build_release.flannel }}"
