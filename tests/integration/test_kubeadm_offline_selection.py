"""The kubeadm role's bundle method takes exactly what the offline preflight requires.

The role picks its kubeadm, kubelet and kubectl entries and its CNI manifest file out of the
controller's ``manifest.json`` with Jinja (roles/kubeadm/vars/main.yml); preflight plans the
same artifacts in Python (plugins/module_utils/offline_plan.py). Both are run here on the same
manifests and must agree. The role's refusals of what cannot work offline are run for real
(its validate tasks, against localhost, stop before any host task).

The download itself (get_url from the bundle server, checked against the manifest's sha256)
is run in the ``kubeadm`` Molecule scenario, where the nodes install the simulator's stand-ins
with the bundle method.
"""

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (
    cni_manifest_path,
    find_missing,
    plan_needs,
)

ROLE = Path(__file__).resolve().parents[2] / "roles" / "kubeadm"

VERSION = "1.37.1"
BUNDLE_URL = "http://bundle1:8080"


def entry(name, version=VERSION, arch="amd64", kind="binary"):
    return {
        "kind": kind,
        "name": name,
        "version": version,
        "arch": arch,
        "path": f"files/{name}/{version}/{arch}/{name}",
        "sha256": f"{abs(hash((name, version, arch))):064x}"[:64],
    }


FLANNEL = {
    "kind": "binary",
    "name": "kube-flannel",
    "version": "v0.28.9",
    "arch": "all",
    "path": "files/kube-flannel/v0.28.9/all/kube-flannel.yml",
    "sha256": "f" * 64,
}

MANIFESTS = {
    "complete": [entry("kubeadm"), entry("kubelet"), entry("kubectl"), FLANNEL],
    "v-prefixed versions": [entry(n, version="v" + VERSION) for n in ("kubeadm", "kubelet")]
    + [entry("kubectl")],
    "other architecture only": [entry(n, arch="arm64") for n in ("kubeadm", "kubelet", "kubectl")],
    "other release and a deb": [
        entry("kubeadm", version="1.36.2"),
        entry("kubelet"),
        entry("kubectl", kind="deb"),
    ],
    "empty": [],
}


def role_view(ansible, tmp_path, artifacts, machine, **overrides):
    """What the role's vars select from ``artifacts`` on a host of architecture ``machine``."""
    extra = tmp_path / "vars.json"
    extra.write_text(
        json.dumps(
            {
                **yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()),
                **yaml.safe_load((ROLE / "vars" / "main.yml").read_text()),
                "offline": True,
                "offline_bundle_url": BUNDLE_URL,
                "offline_bundle_dir": str(tmp_path),
                "ansible_facts": {"architecture": machine},
                "__kubeadm_bundle_artifacts": artifacts,
                **overrides,
            }
        )
    )
    out = tmp_path / "view.json"
    expression = (
        "{{ {'binaries': __kubeadm_bundle_binaries, 'missing': __kubeadm_bundle_missing,"
        " 'cni_from_bundle': __kubeadm_cni_from_bundle | bool,"
        " 'cni_path': __kubeadm_cni_bundle_path, 'cni_entry': __kubeadm_cni_bundle_entry}"
        " | to_json }}"
    )
    res = ansible(
        "ansible", "localhost", "-c", "local", "-m", "ansible.builtin.copy",
        "-a", f"content={expression} dest={out}", "-e", f"@{extra}",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
@pytest.mark.parametrize("case", list(MANIFESTS))
def test_role_and_preflight_pick_the_same_binaries(ansible, tmp_path, case, machine):
    artifacts = MANIFESTS[case]
    view = role_view(ansible, tmp_path, artifacts, machine)
    hostvars = {
        "cp1": {
            "ansible_distribution_release": "trixie",
            "ansible_architecture": machine,
            "offline_bundle_url": BUNDLE_URL,
            "kubeadm_cni": "none",
        }
    }
    needs = [
        n
        for n in plan_needs({"control_plane": ["cp1"]}, hostvars, kubeadm=True)
        if n["kind"] == "binary"
    ]
    manifest = {"format": 1, "artifacts": artifacts}
    planned_missing = sorted(n["name"] for n in find_missing(manifest, needs))
    assert sorted(view["missing"]) == planned_missing
    assert sorted(b["name"] for b in view["binaries"]) == sorted(
        {"kubeadm", "kubelet", "kubectl"} - set(planned_missing)
    )
    # Each binary comes from its own entry: its path on the server and its sha256.
    for binary in view["binaries"]:
        assert binary in artifacts
        assert binary["path"].startswith(f"files/{binary['name']}/")


@pytest.mark.parametrize(
    ("url", "expected_path"),
    [
        (None, "files/kube-flannel/v0.28.9/all/kube-flannel.yml"),
        (BUNDLE_URL + "/files/my-cni/1.0/all/cni.yml", "files/my-cni/1.0/all/cni.yml"),
    ],
)
def test_role_and_preflight_read_the_same_cni_file(ansible, tmp_path, url, expected_path):
    overrides = {} if url is None else {"kubeadm_cni_manifest_url": url}
    view = role_view(ansible, tmp_path, MANIFESTS["complete"], "x86_64", **overrides)
    assert view["cni_from_bundle"] is True
    assert view["cni_path"] == expected_path
    hostvars = {"cp1": {"offline_bundle_url": BUNDLE_URL + "/", **overrides}}
    assert cni_manifest_path(hostvars, "cp1") == expected_path
    assert view["cni_entry"] == (FLANNEL if url is None else {})


def run_validate(ansible, tmp_path, bundle_artifacts=None, **settings):
    """The role's validate tasks against localhost as the only control-plane node."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    manifest = {"format": 1, "artifacts": bundle_artifacts or MANIFESTS["complete"]}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "control_plane": {"hosts": {"localhost": {"ansible_connection": "local"}}},
                "workers": {"hosts": {}},
                "all": {
                    "vars": {
                        "offline": True,
                        "offline_bundle_dir": str(bundle),
                        "offline_bundle_url": BUNDLE_URL,
                        "kubeadm_swap_mode": "allow",
                        **settings,
                    }
                },
            }
        )
    )
    playbook = tmp_path / "validate.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Validate",
                    "hosts": "control_plane",
                    "gather_facts": False,
                    "vars": {"ansible_facts": {"architecture": "x86_64"}},
                    "tasks": [
                        {
                            "name": "The kubeadm role's checks",
                            "ansible.builtin.include_role": {
                                "name": "prodgrade.kubernetes.kubeadm",
                                "tasks_from": "validate",
                            },
                        }
                    ],
                }
            ]
        )
    )
    return ansible("ansible-playbook", "-i", str(inventory), str(playbook))


def test_the_package_method_is_refused_offline(ansible, tmp_path):
    res = run_validate(ansible, tmp_path, kubeadm_install_method="package")
    assert res.returncode != 0
    assert "kubeadm_install_method is package, which downloads" in res.stdout
    assert "pkgs.k8s.io" in res.stdout


def test_a_cni_url_outside_the_bundle_is_refused_offline(ansible, tmp_path):
    url = "https://github.com/flannel-io/flannel/releases/download/v0.28.9/kube-flannel.yml"
    res = run_validate(ansible, tmp_path, kubeadm_cni_manifest_url=url)
    assert res.returncode != 0
    assert f"kubeadm_cni_manifest_url {url} is not on the bundle server" in res.stdout


def test_a_bundle_without_the_cni_manifest_is_refused(ansible, tmp_path):
    res = run_validate(ansible, tmp_path, bundle_artifacts=MANIFESTS["complete"][:3])
    assert res.returncode != 0
    assert "has no files/kube-flannel/v0.28.9/all/kube-flannel.yml in its manifest.json" in (
        res.stdout
    )


def test_a_bundle_without_a_binary_for_the_host_is_refused(ansible, tmp_path):
    artifacts = [entry("kubeadm"), entry("kubelet", arch="arm64"), entry("kubectl"), FLANNEL]
    res = run_validate(ansible, tmp_path, bundle_artifacts=artifacts)
    assert res.returncode != 0
    assert f"has no kubelet {VERSION} for amd64" in res.stdout
