"""Contract tests for the kubeadm role's configuration, rendered by Ansible itself.

kubeadm cannot be installed here: each host's document set (init on the first control plane,
control-plane join, worker join) is rendered with the role's real template and defaults and
validated by the kubeadm simulator's schemas and semantic checks (tests/kubeadm_sim, the
kubeadm.k8s.io/v1beta4, kubelet v1beta1 and kube-proxy v1alpha1 references): an unknown field,
a wrong type, the v1beta3 map form of extraArgs or an old API version fails. The script that
hands kubeadm a token is run with a kubeadm stand-in.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "kubeadm_sim"))

from kubeadmsim import config as simconfig  # noqa: E402
from kubeadmsim.errors import ValidationError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (  # noqa: E402
    KUBERNETES_VERSION,
)

ROLE = REPO / "roles" / "kubeadm"
PLACEHOLDER = "abcdef.0123456789abcdef"
CA_HASH = "sha256:" + "ab" * 32

# What vars/main.yml and decide.yml work out for a host, given directly.
HOST = {
    "pki_api_endpoint": "k8s-api.lab.test:6443",
    "pki_service_cidr": "10.96.0.0/12",
    "__kubeadm_node_name": "cp-1",
    "__kubeadm_node_ip": "192.0.2.11",
    "__kubeadm_endpoint": "k8s-api.lab.test:6443",
    "__kubeadm_etcd_endpoints": ["https://192.0.2.11:2379", "https://192.0.2.12:2379"],
    "__kubeadm_ca_hash": CA_HASH,
    "__kubeadm_token_placeholder": PLACEHOLDER,
    "__kubeadm_taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    "__kubeadm_kubelet_args": [{"name": "node-labels", "value": "example.com/rack=r1"}],
    "__kubeadm_ignore_preflight": [],
}
INIT = {**HOST, "__kubeadm_doc": "init"}
CONTROL_PLANE = {
    **HOST,
    "__kubeadm_doc": "control-plane",
    "__kubeadm_node_name": "cp-2",
    "__kubeadm_node_ip": "192.0.2.12",
    "__kubeadm_ignore_preflight": ["FileAvailable--etc-kubernetes-kubelet.conf"],
}
WORKER = {
    **HOST,
    "__kubeadm_doc": "worker",
    "__kubeadm_node_name": "w-1",
    "__kubeadm_node_ip": "192.0.2.21",
    "__kubeadm_taints": [{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}],
    "__kubeadm_kubelet_args": [],
    "__kubeadm_ignore_preflight": [
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "FileAvailable--etc-kubernetes-pki-ca.crt",
    ],
}


def role_vars(name):
    return yaml.safe_load((ROLE / name).read_text())


@pytest.fixture
def render(ansible, tmp_path):
    def render(host, **overrides):
        dest = tmp_path / "kubeadm.yaml"
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps({**role_vars("defaults/main.yml"), **host, **overrides}))
        res = ansible(
            "ansible", "localhost", "-c", "local", "-m", "ansible.builtin.template",
            "-a", f"src={ROLE / 'templates' / 'kubeadm.yaml.j2'} dest={dest}",
            "-e", f"@{extra}",
        )  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        text = dest.read_text()
        return text, simconfig.parse_config(text, str(dest))

    return render


def docs_of(text):
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}


def test_init_documents(render):
    text, parsed = render(INIT)
    assert parsed.kinds() == [
        "InitConfiguration",
        "ClusterConfiguration",
        "KubeletConfiguration",
        "KubeProxyConfiguration",
    ]
    docs = docs_of(text)
    assert {kind: doc["apiVersion"] for kind, doc in docs.items()} == {
        "InitConfiguration": "kubeadm.k8s.io/v1beta4",
        "ClusterConfiguration": "kubeadm.k8s.io/v1beta4",
        "KubeletConfiguration": "kubelet.config.k8s.io/v1beta1",
        "KubeProxyConfiguration": "kubeproxy.config.k8s.io/v1alpha1",
    }
    init, cluster = docs["InitConfiguration"], docs["ClusterConfiguration"]
    assert init["localAPIEndpoint"] == {"advertiseAddress": "192.0.2.11", "bindPort": 6443}
    assert init["bootstrapTokens"][0]["token"] == PLACEHOLDER
    assert init["bootstrapTokens"][0]["ttl"] == "15m0s"
    registration = init["nodeRegistration"]
    assert registration["name"] == "cp-1"
    assert registration["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert registration["taints"] == HOST["__kubeadm_taints"]
    assert registration["kubeletExtraArgs"] == HOST["__kubeadm_kubelet_args"]
    # The role's default follows the inventory's kubernetes_version, else the collection's
    # one fallback release (tests/unit/test_versions.py).
    assert cluster["kubernetesVersion"] == "v" + KUBERNETES_VERSION
    assert cluster["controlPlaneEndpoint"] == "k8s-api.lab.test:6443"
    assert cluster["networking"] == {
        "serviceSubnet": "10.96.0.0/12",
        "podSubnet": "10.244.0.0/16",
        "dnsDomain": "cluster.local",
    }
    assert cluster["etcd"]["external"] == {
        "endpoints": HOST["__kubeadm_etcd_endpoints"],
        "caFile": "/etc/kubernetes/pki/etcd/ca.crt",
        "certFile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
        "keyFile": "/etc/kubernetes/pki/apiserver-etcd-client.key",
    }
    assert cluster["imageRepository"] == "registry.k8s.io"
    assert cluster["certificateValidityPeriod"] == "8760h0m0s"
    assert cluster["caCertificateValidityPeriod"] == "87600h0m0s"
    kubelet = docs["KubeletConfiguration"]
    assert kubelet["cgroupDriver"] == "systemd"
    assert kubelet["failSwapOn"] is True
    assert kubelet["failCgroupV1"] is True
    assert docs["KubeProxyConfiguration"]["clusterCIDR"] == "10.244.0.0/16"


def test_init_with_private_registry_extra_args_and_swap(render):
    text, _ = render(
        INIT,
        kubeadm_image_repository="registry.example.test/k8s",
        kubeadm_apiserver_extra_args=[{"name": "audit-log-maxage", "value": "30"}],
        kubeadm_scheduler_extra_args=[{"name": "bind-address", "value": "0.0.0.0"}],
        kubeadm_swap_mode="allow",
        kubeadm_fail_cgroup_v1=False,
        pki_cert_validity_days=90,
    )
    docs = docs_of(text)
    cluster = docs["ClusterConfiguration"]
    assert cluster["imageRepository"] == "registry.example.test/k8s"
    assert cluster["apiServer"]["extraArgs"] == [{"name": "audit-log-maxage", "value": "30"}]
    assert cluster["certificateValidityPeriod"] == "2160h0m0s"
    kubelet = docs["KubeletConfiguration"]
    assert kubelet["failSwapOn"] is False
    assert kubelet["memorySwap"] == {"swapBehavior": "LimitedSwap"}
    assert kubelet["failCgroupV1"] is False


def test_the_inventorys_kubernetes_version_reaches_the_configuration(render):
    text, _ = render(INIT, kubernetes_version="1.36.2")
    assert docs_of(text)["ClusterConfiguration"]["kubernetesVersion"] == "v1.36.2"


def test_control_plane_join(render):
    text, parsed = render(CONTROL_PLANE)
    assert parsed.kinds() == ["JoinConfiguration"]
    join = docs_of(text)["JoinConfiguration"]
    assert join["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert join["discovery"] == {
        "bootstrapToken": {
            "apiServerEndpoint": "k8s-api.lab.test:6443",
            "token": PLACEHOLDER,
            "caCertHashes": [CA_HASH],
        },
        "tlsBootstrapToken": PLACEHOLDER,
    }
    assert join["controlPlane"] == {
        "localAPIEndpoint": {"advertiseAddress": "192.0.2.12", "bindPort": 6443}
    }
    assert join["nodeRegistration"]["ignorePreflightErrors"] == [
        "FileAvailable--etc-kubernetes-kubelet.conf"
    ]
    assert "certificateKey" not in join["controlPlane"]


def test_worker_join(render):
    text, _ = render(WORKER)
    join = docs_of(text)["JoinConfiguration"]
    assert "controlPlane" not in join
    assert join["caCertPath"] == "/etc/kubernetes/pki/ca.crt"
    assert join["nodeRegistration"]["taints"] == WORKER["__kubeadm_taints"]
    assert join["nodeRegistration"]["kubeletExtraArgs"] == []
    assert set(join["nodeRegistration"]["ignorePreflightErrors"]) == {
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "FileAvailable--etc-kubernetes-pki-ca.crt",
    }


def test_values_cannot_change_the_structure(render):
    args = [{"name": "node-labels", "value": 'a=b"\nfoo: bar'}]
    text, _ = render(WORKER, __kubeadm_kubelet_args=args)
    assert docs_of(text)["JoinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"] == args


def test_the_simulator_refuses_what_the_role_must_not_render(render):
    """The schemas catch the mistakes the contract tests exist for."""
    text, _ = render(INIT)
    with pytest.raises(ValidationError, match="old API spec"):
        simconfig.parse_config(text.replace("kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3"))
    with pytest.raises(ValidationError, match="unknown field"):
        simconfig.parse_config(text.replace("cgroupDriver: systemd", "cgroupDriver: systemd\nx: 1"))
    with pytest.raises(ValidationError):
        render(INIT, kubeadm_apiserver_extra_args={"audit-log-maxage": "30"})


def test_run_script_passes_the_token_only_through_a_removed_copy(tmp_path):
    """The role's kubeadm wrapper: token on stdin, a 0600 copy for kubeadm, removed after."""
    script = role_vars("vars/main.yml")["__kubeadm_run_script"]
    config_dir = tmp_path / "kubeadm"
    config_dir.mkdir(mode=0o700)
    config = config_dir / "kubeadm.yaml"
    config.write_text(f"token: {PLACEHOLDER}\ntls: {PLACEHOLDER}\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    seen = tmp_path / "seen"
    fake = bindir / "kubeadm"
    fake.write_text(
        f'#!/bin/sh\necho "$@" > {seen}.argv\nstat -c %a "$3" > {seen}.mode\ncat "$3" > {seen}\n'
    )
    fake.chmod(0o755)
    token = "q1w2e3.r4t5y6u7i8o9p0a1"
    env = {
        **os.environ,
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "KUBEADM_CONFIG": str(config),
        "KUBEADM_CONFIG_DIR": str(config_dir),
        "KUBEADM_PLACEHOLDER": PLACEHOLDER,
    }
    res = subprocess.run(
        ["bash", "-c", script, "kubeadm-run", "join"],
        input=token + "\n",
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert seen.read_text() == f"token: {token}\ntls: {token}\n"
    assert (tmp_path / "seen.mode").read_text().strip() == "600"
    argv = (tmp_path / "seen.argv").read_text()
    assert argv.startswith("join --config ") and token not in argv
    assert sorted(p.name for p in config_dir.iterdir()) == ["kubeadm.yaml"]
    assert PLACEHOLDER in config.read_text() and token not in config.read_text()
