"""The offline planner reads role variables with the defaults the roles themselves use.

``module_utils/offline_plan.py`` cannot read the roles' defaults at run time (preflight runs
before those roles), so it carries copies; these tests keep the copies equal to the roles'
``defaults/main.yml`` files, and the CA-file defaults of the roles that need the cluster CA
equal to each other.
"""

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (
    ENGINE_PACKAGE,
    FOLLOWS,
    KUBERNETES_VERSION,
    OFFLINE_ROLE_DEFAULTS,
    ROLE_DEFAULTS,
    _var,
    cni_manifest_path,
)

ROLES = Path(__file__).resolve().parents[3] / "roles"


def defaults(role):
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}


@pytest.mark.parametrize(
    ("role", "name"),
    [(role, name) for role, values in ROLE_DEFAULTS.items() for name in values],
)
def test_planner_default_equals_the_roles(role, name):
    role_defaults = defaults(role)
    assert name in role_defaults, f"roles/{role}/defaults/main.yml no longer defines {name}"
    assert ROLE_DEFAULTS[role][name] == role_defaults[name]


def test_every_engine_package_variable_is_a_runtime_default():
    runtime = defaults("runtime")
    for variable in ENGINE_PACKAGE.values():
        assert variable in runtime
        assert variable in ROLE_DEFAULTS["runtime"]


def test_engines_are_those_the_runtime_role_accepts():
    specs = yaml.safe_load((ROLES / "runtime" / "meta" / "argument_specs.yml").read_text())
    choices = specs["argument_specs"]["main"]["options"]["runtime_engine"].get("choices")
    if choices:
        assert sorted(ENGINE_PACKAGE) == sorted(choices)


def test_cluster_ca_default_is_the_pki_stores_everywhere():
    pki = defaults("pki")
    # The pki role's own expression, and the fallback the other roles spell out.
    assert pki["pki_store_dir"] == (
        "{{ lookup('ansible.builtin.env', 'HOME') }}/.prodgrade/{{ pki_cluster_name }}/pki"
    )
    assert pki["pki_cluster_name"] == "kubernetes"
    expected = (
        "{{ pki_store_dir | default(lookup('ansible.builtin.env', 'HOME') ~ '/.prodgrade/' "
        "~ (pki_cluster_name | default('kubernetes')) ~ '/pki') }}/ca.crt"
    )
    for role, name in (
        ("preflight", "preflight_offline_ca_file"),
        ("registry_trust", "registry_trust_offline_ca_file"),
    ):
        # Folded YAML keeps the line break of a more-indented line: compare the words.
        assert " ".join(defaults(role)[name].split()) == expected, role


def test_offline_switches_read_the_inventory_variables():
    assert defaults("preflight")["preflight_offline"] == "{{ offline | default(false) }}"
    assert defaults("registry_trust")["registry_trust_offline"] == "{{ offline | default(false) }}"
    sources = defaults("package_sources")
    assert sources["package_sources_offline"] == "{{ offline | default(false) }}"
    assert sources["package_sources_bundle_dir"] == "{{ offline_bundle_dir | default('') }}"
    assert sources["package_sources_bundle_url"] == "{{ offline_bundle_url | default('') }}"


def render_kubeadm_defaults(ansible, tmp_path, **inventory):
    """The kubeadm role's defaults as Ansible evaluates them with ``inventory`` set."""
    names = [
        "kubeadm_kubernetes_version",
        "kubeadm_install_method",
        "kubeadm_bundle_dir",
        "kubeadm_bundle_url",
        "kubeadm_cni_manifest_url",
    ]
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**defaults("kubeadm"), **inventory}))
    out = tmp_path / "out.json"
    expression = "{{ {" + ", ".join(f"'{n}': {n}" for n in names) + "} | to_json }}"
    res = ansible(
        "ansible", "localhost", "-c", "local", "-m", "ansible.builtin.copy",
        "-a", f"content={expression} dest={out}", "-e", f"@{extra}",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(out.read_text())


def test_planner_follows_the_kubeadm_defaults_offline(ansible, tmp_path):
    """What the planner assumes for the kubeadm role with offline: true is what it renders."""
    inventory = {
        "offline": True,
        "offline_bundle_dir": "/srv/bundle",
        "offline_bundle_url": "http://bundle1:8080/",
    }
    rendered = render_kubeadm_defaults(ansible, tmp_path, **inventory)
    hostvars = {"cp1": dict(inventory)}
    for name, value in OFFLINE_ROLE_DEFAULTS["kubeadm"].items():
        assert rendered[name] == value, name
    for name, follows in FOLLOWS.items():
        assert rendered[name] == _var(hostvars, "cp1", follows), name
        assert _var(hostvars, "cp1", name) == rendered[name], name
    assert rendered["kubeadm_kubernetes_version"] == KUBERNETES_VERSION
    base = inventory["offline_bundle_url"].rstrip("/")
    assert rendered["kubeadm_cni_manifest_url"] == base + "/" + cni_manifest_path(hostvars, "cp1")
    # kubernetes_version from the inventory reaches both.
    rendered = render_kubeadm_defaults(ansible, tmp_path, kubernetes_version="1.36.2", **inventory)
    assert rendered["kubeadm_kubernetes_version"] == "1.36.2"
    assert _var({"cp1": {"kubernetes_version": "1.36.2"}}, "cp1", "kubeadm_kubernetes_version") == (
        "1.36.2"
    )


def test_kubeadm_defaults_online_are_upstreams(ansible, tmp_path):
    rendered = render_kubeadm_defaults(ansible, tmp_path)
    assert rendered["kubeadm_install_method"] == "package"
    assert rendered["kubeadm_cni_manifest_url"] == (
        "https://github.com/flannel-io/flannel/releases/download/"
        + ROLE_DEFAULTS["kubeadm"]["kubeadm_cni_flannel_version"]
        + "/kube-flannel.yml"
    )


def test_default_packages_are_in_the_bundle_catalog():
    """A bundle built with the defaults holds every package the planner requires by default."""
    catalog = yaml.safe_load((ROLES / "bundle_build" / "vars" / "main.yml").read_text())
    node_debs = catalog["__bundle_build_debs_node"]
    for role, name in (
        ("runtime", "runtime_containerd_package"),
        ("runtime", "runtime_cni_plugins_package"),
        ("etcd", "etcd_package"),
        ("etcd", "etcd_client_package"),
        ("loadbalancer", "loadbalancer_haproxy_package"),
        ("loadbalancer", "loadbalancer_keepalived_package"),
    ):
        assert ROLE_DEFAULTS[role][name] in node_debs, name


def test_pause_versions_are_one_table():
    """The runtime role's default sandbox image, the planner's and the bundle catalog's pause
    release per Kubernetes minor are the same."""
    from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (
        PAUSE_VERSIONS,
        default_sandbox_image,
    )

    runtime_vars = yaml.safe_load((ROLES / "runtime" / "vars" / "main.yml").read_text())
    assert runtime_vars["__runtime_pause_versions"] == PAUSE_VERSIONS
    catalog = yaml.safe_load((ROLES / "bundle_build" / "vars" / "main.yml").read_text())
    for minor, release in catalog["__bundle_build_releases"].items():
        assert release["pause"] == PAUSE_VERSIONS[minor], minor
    assert default_sandbox_image(KUBERNETES_VERSION.rsplit(".", 1)[0]).endswith(
        ":" + PAUSE_VERSIONS[KUBERNETES_VERSION.rsplit(".", 1)[0]]
    )
    # A newer minor than the table knows takes the newest release.
    assert default_sandbox_image("1.99") == "registry.k8s.io/pause:" + PAUSE_VERSIONS["1.37"]
