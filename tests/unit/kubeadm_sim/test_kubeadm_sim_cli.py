"""The kubeadm simulator's commands, run unprivileged: every node is a directory given as
KUBEADM_SIM_ROOT, and the nodes share one state file (KUBEADM_SIM_STATE), as Molecule nodes share
a mounted directory.

The PKI is the collection's own: the pki module's ``converge`` issues it into a store and
``host_files`` says which file goes where on which host, exactly as the pki role installs it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.prodgrade.kubernetes.plugins.module_utils import pki

SIM = pathlib.Path(__file__).resolve().parents[2] / "kubeadm_sim"
sys.path.insert(0, str(SIM))

from kubeadmsim import cli, flags  # noqa: E402

ENDPOINT = "k8s-api.lab.test:6443"
CP = [
    {"host": "cp1", "name": "cp1", "ip": "192.0.2.11"},
    {"host": "cp2", "name": "cp2", "ip": "192.0.2.12"},
    {"host": "cp3", "name": "cp3", "ip": "192.0.2.13"},
]
WORKERS = [
    {"host": "w1", "name": "w1", "ip": "192.0.2.21"},
    {"host": "w2", "name": "w2", "ip": "192.0.2.22"},
]
IPS = {entry["host"]: entry["ip"] for entry in CP + WORKERS}
TOKEN = "abcdef.0123456789abcdef"
TOKEN_RE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")

CLUSTER_CONFIG = f"""\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.35.9
controlPlaneEndpoint: {ENDPOINT}
imageRepository: registry.lab.test/k8s
clusterName: kubernetes
certificatesDir: /etc/kubernetes/pki
encryptionAlgorithm: ECDSA-P256
certificateValidityPeriod: 8760h0m0s
caCertificateValidityPeriod: 87600h0m0s
networking:
  serviceSubnet: 10.96.0.0/12
  podSubnet: 10.244.0.0/16
  dnsDomain: cluster.local
etcd:
  external:
    endpoints:
      - https://192.0.2.11:2379
      - https://192.0.2.12:2379
      - https://192.0.2.13:2379
    caFile: /etc/kubernetes/pki/etcd/ca.crt
    certFile: /etc/kubernetes/pki/apiserver-etcd-client.crt
    keyFile: /etc/kubernetes/pki/apiserver-etcd-client.key
apiServer:
  certSANs: [k8s-api.lab.test]
  extraArgs:
    - name: profiling
      value: "false"
    - name: service-cluster-ip-range
      value: 10.96.0.0/12
    - name: audit-log-maxage
      value: "30"
controllerManager:
  extraArgs:
    - name: profiling
      value: "false"
scheduler:
  extraArgs:
    - name: profiling
      value: "false"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
failSwapOn: false
memorySwap:
  swapBehavior: NoSwap
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clusterCIDR: 10.244.0.0/16
"""


def init_config(host="cp1", ignore=(), extra=""):
    ignore_lines = "".join(f"    - {name}\n" for name in ignore)
    return (
        f"""\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {IPS[host]}
  bindPort: 6443
nodeRegistration:
  name: {host}
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: {IPS[host]}
  ignorePreflightErrors:
{ignore_lines or "    []"}
bootstrapTokens:
  - token: {TOKEN}
    ttl: 1h0m0s
{extra}---
"""
        + CLUSTER_CONFIG
    ).replace("  ignorePreflightErrors:\n    []", "  ignorePreflightErrors: []")


def join_config(host, ca_hash, control_plane=False, ignore=(), token=TOKEN, certificate_key=None):
    lines = [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: JoinConfiguration",
        "nodeRegistration:",
        f"  name: {host}",
        "  criSocket: unix:///run/containerd/containerd.sock",
        "  kubeletExtraArgs:",
        "    - name: node-ip",
        f"      value: {IPS[host]}",
    ]
    if ignore:
        lines.append("  ignorePreflightErrors:")
        lines += [f"    - {name}" for name in ignore]
    lines += [
        "discovery:",
        "  bootstrapToken:",
        f"    apiServerEndpoint: {ENDPOINT}",
        f"    token: {token}",
        "    caCertHashes:",
        f"      - {ca_hash}",
    ]
    if control_plane:
        lines += [
            "controlPlane:",
            "  localAPIEndpoint:",
            f"    advertiseAddress: {IPS[host]}",
            "    bindPort: 6443",
        ]
        if certificate_key:
            lines.append(f'  certificateKey: "{certificate_key}"')
    return "\n".join(lines) + "\n"


CP_IGNORE = ("FileAvailable--etc-kubernetes-kubelet.conf",)
WORKER_IGNORE = (
    "FileAvailable--etc-kubernetes-kubelet.conf",
    "FileAvailable--etc-kubernetes-pki-ca.crt",
)


@pytest.fixture(scope="module")
def pki_store(tmp_path_factory):
    """The cluster PKI as the pki role makes it: one store, each host's files listed."""
    store = tmp_path_factory.mktemp("pki") / "store"
    result = pki.converge(
        {
            "store": str(store),
            "api_endpoint": ENDPOINT,
            "control_plane": CP,
            "etcd": CP,
            "nodes": CP + WORKERS,
        }
    )
    ca = x509.load_pem_x509_certificate((store / "ca.crt").read_bytes())
    spki = ca.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "store": store,
        "files": result["host_files"],
        "hash": "sha256:" + hashlib.sha256(spki).hexdigest(),
    }


class Lab:
    """Nodes (directories) sharing one state file."""

    def __init__(self, base, pki_store):
        self.base = base
        self.pki = pki_store
        self.state = base / "shared" / "cluster.json"
        self.env_extra = {}

    def root(self, host):
        return self.base / host

    def install_pki(self, host):
        root = self.root(host)
        for entry in self.pki["files"][host]:
            dest = root / entry["dest"].lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry["src"], dest)
            os.chmod(dest, int(entry["mode"], 8))

    def env(self, host, **extra):
        env = {
            "KUBEADM_SIM_ROOT": str(self.root(host)),
            "KUBEADM_SIM_STATE": str(self.state),
            "KUBEADM_SIM_HOSTNAME": host,
            "KUBEADM_SIM_CONTROL_PLANE_JOIN_SECONDS": "0",
        }
        env.update(self.env_extra)
        env.update(extra)
        return env

    def write(self, host, path, text):
        target = self.root(host) / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return path

    def run(self, host, *argv, stdin="", **extra):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            list(argv),
            environ=self.env(host, **extra),
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
        )
        return Result(code, out.getvalue(), err.getvalue())

    def file(self, host, path):
        return self.root(host) / path.lstrip("/")

    def calls(self, host):
        log = self.file(host, "/var/log/kubeadm-sim/calls.jsonl")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def read_state(self):
        return json.loads(self.state.read_text())

    def init(self, host="cp1", *extra_args, config=None):
        self.write(host, "/etc/kubeadm/init.yaml", config or init_config(host))
        return self.run(host, "init", "--config", "/etc/kubeadm/init.yaml", *extra_args)

    def join(self, host, control_plane=False, ignore=None, **kwargs):
        if ignore is None:
            ignore = CP_IGNORE if control_plane else WORKER_IGNORE
        text = join_config(host, self.pki["hash"], control_plane, ignore, **kwargs)
        self.write(host, "/etc/kubeadm/join.yaml", text)
        return self.run(host, "join", "--config", "/etc/kubeadm/join.yaml")


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"Result({self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def lab(tmp_path, pki_store):
    lab = Lab(tmp_path, pki_store)
    for host in IPS:
        lab.install_pki(host)
    return lab


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pki_store):
    """Three control-plane nodes and two workers, initialised and joined once."""
    lab = Lab(tmp_path_factory.mktemp("cluster"), pki_store)
    for host in IPS:
        lab.install_pki(host)
    results = {"init": lab.init("cp1")}
    assert results["init"].code == 0, results["init"]
    for host in ("cp2", "cp3"):
        results[host] = lab.join(host, control_plane=True)
        assert results[host].code == 0, results[host]
    for host in ("w1", "w2"):
        results[host] = lab.join(host)
        assert results[host].code == 0, results[host]
    lab.results = results
    return lab


def static_pod_command(lab, host, name):
    pod = yaml.safe_load(lab.file(host, f"/etc/kubernetes/manifests/{name}.yaml").read_text())
    return pod["spec"]["containers"][0]["command"]


# --- version and config ---------------------------------------------------------------------------


def test_version(lab):
    assert lab.run("cp1", "version", "-o", "short").out == "v1.35.9\n"
    info = json.loads(lab.run("cp1", "version", "-o", "json").out)["clientVersion"]
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "35", "v1.35.9")
    assert lab.run("cp1", "version").out.startswith(
        'kubeadm version: &version.Info{Major:"1", Minor:"35"'
    )
    lab.write("cp1", "/etc/kubeadm-sim/version", "v1.36.1\n")
    assert lab.run("cp1", "version", "-o=short").out == "v1.36.1\n"
    assert lab.run("cp1", "version", "-o", "short", KUBEADM_SIM_VERSION="1.37.0").out == "v1.37.0\n"
    bad = lab.run("cp1", "version", "-o", "xml")
    assert (bad.code, bad.err.splitlines()[0]) == (1, "invalid output format: xml")


def test_the_executable_runs_with_the_standard_library_only(lab):
    result = subprocess.run(
        [sys.executable, "-S", str(SIM / "kubeadm"), "version", "-o", "short"],
        env={**lab.env("cp1"), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    # -S: no site-packages. Only PyYAML is needed beyond the standard library, and only to read
    # configuration files, which `version` does not do.
    assert (result.returncode, result.stdout) == (0, "v1.35.9\n"), result.stderr
    assert os.access(SIM / "kubeadm", os.X_OK)


def test_config_validate(lab):
    path = lab.write("cp1", "/etc/kubeadm/init.yaml", init_config())
    result = lab.run("cp1", "config", "validate", "--config", path)
    assert (result.code, result.out) == (0, "ok\n")
    lab.write("cp1", path, init_config().replace("  bindPort: 6443", "  bindPort: 6443\n  port: 1"))
    result = lab.run("cp1", "config", "validate", "--config", path)
    assert result.code == 3
    assert (
        "InitConfiguration localAPIEndpoint.port: strict decoding error: unknown field "
        '"localAPIEndpoint.port"' in result.err
    )
    assert lab.run("cp1", "config", "validate").err.startswith("the --config flag is mandatory")


def test_unknown_commands_and_flags_are_refused(lab):
    result = lab.run("cp1", "join", "--tokn", TOKEN)
    assert (result.code, result.err.strip()) == (1, "unknown flag: --tokn")
    result = lab.run("cp1", "upgrade", "apply")
    assert 'unknown command "upgrade" for "kubeadm"' in result.err
    result = lab.run("cp1", "init", "-x")
    assert "unknown shorthand flag: 'x' in -x" in result.err
    path = lab.write("cp1", "/etc/kubeadm/init.yaml", init_config())
    result = lab.run("cp1", "init", "--config", path, "--pod-network-cidr", "10.0.0.0/16")
    assert (result.code, result.err.splitlines()[0]) == (
        3,
        "can not mix '--config' with arguments [pod-network-cidr]",
    )
    result = lab.run("cp1", "init", "--config", path, "--ignore-preflight-errors=all,Swap")
    assert "don't specify individual checks if 'all' is used" in result.err


def test_v1beta3_is_refused(lab):
    result = lab.init(
        config=init_config().replace("kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3")
    )
    assert result.code == 3
    assert 'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3"' in result.err
    assert not lab.state.exists()


# --- init and joins: the 3 + 2 cluster ----------------------------------------------------------


def test_init_runs_once_on_the_first_control_plane(cluster):
    out = cluster.results["init"].out
    assert "[init] Using Kubernetes version: v1.35.9" in out
    assert "[certs] Using existing ca certificate authority" in out
    assert "[certs] Using existing apiserver certificate and key on disk" in out
    assert '[certs] Using the existing "sa" key' in out
    assert '[kubeconfig] Using existing kubeconfig file: "/etc/kubernetes/super-admin.conf"' in out
    assert (
        f"kubeadm join {ENDPOINT} --token {TOKEN} --discovery-token-ca-cert-hash "
        f"{cluster.pki['hash']}" in out
    )
    inits = [
        (host, call) for host in IPS for call in cluster.calls(host) if call["command"] == "init"
    ]
    assert [host for host, _ in inits] == ["cp1"]
    assert inits[0][1]["exit_code"] == 0
    assert inits[0][1]["config_kinds"] == [
        "InitConfiguration",
        "ClusterConfiguration",
        "KubeletConfiguration",
        "KubeProxyConfiguration",
    ]


def test_static_pods_carry_the_configuration(cluster):
    api = static_pod_command(cluster, "cp1", "kube-apiserver")
    assert (
        "--etcd-servers=https://192.0.2.11:2379,https://192.0.2.12:2379,https://192.0.2.13:2379"
        in api
    )
    assert "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt" in api
    assert "--advertise-address=192.0.2.11" in api
    assert "--service-cluster-ip-range=10.96.0.0/12" in api
    assert "--profiling=false" in api and "--audit-log-maxage=30" in api
    assert api.count("--service-cluster-ip-range=10.96.0.0/12") == 1  # extraArgs replace defaults
    cm = static_pod_command(cluster, "cp1", "kube-controller-manager")
    assert "--cluster-cidr=10.244.0.0/16" in cm and "--allocate-node-cidrs=true" in cm
    assert "--advertise-address=192.0.2.12" in static_pod_command(cluster, "cp2", "kube-apiserver")
    for host in ("cp1", "cp2", "cp3"):
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            path = cluster.file(host, f"/etc/kubernetes/manifests/{name}.yaml")
            assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert not cluster.file(host, "/etc/kubernetes/manifests/etcd.yaml").exists()
    pod = yaml.safe_load(
        cluster.file("cp1", "/etc/kubernetes/manifests/kube-apiserver.yaml").read_text()
    )
    assert pod["spec"]["containers"][0]["image"] == "registry.lab.test/k8s/kube-apiserver:v1.35.9"
    for host in ("w1", "w2"):
        assert not cluster.file(host, "/etc/kubernetes/manifests").exists()


def test_kubelet_files_on_every_node(cluster):
    for host, address in IPS.items():
        kubelet = yaml.safe_load(cluster.file(host, "/var/lib/kubelet/config.yaml").read_text())
        assert kubelet["kind"] == "KubeletConfiguration"
        assert kubelet["cgroupDriver"] == "systemd"
        assert kubelet["failSwapOn"] is False
        assert kubelet["memorySwap"] == {"swapBehavior": "NoSwap"}
        assert kubelet["clusterDNS"] == ["10.96.0.10"]
        assert kubelet["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt"
        flags_env = cluster.file(host, "/var/lib/kubelet/kubeadm-flags.env").read_text()
        assert flags_env == (
            'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint='
            "unix:///run/containerd/containerd.sock "
            f'--node-ip={address}"\n'
        )


def test_state_records_the_cluster(cluster):
    state = cluster.read_state()
    assert state["cluster"]["initialised_by"] == "cp1"
    assert state["cluster"]["control_plane_endpoint"] == ENDPOINT
    assert state["cluster"]["ca_cert_hash"] == cluster.pki["hash"]
    assert state["cluster"]["kube_proxy_configuration"]["mode"] == "nftables"
    roles = {name: (node["role"], node["ready"]) for name, node in state["nodes"].items()}
    assert roles == {
        "cp1": ("control-plane", True),
        "cp2": ("control-plane", True),
        "cp3": ("control-plane", True),
        "w1": ("worker", True),
        "w2": ("worker", True),
    }
    assert state["control_plane_joins"] == {}
    assert oct(cluster.state.stat().st_mode & 0o777) == "0o600"


def test_control_planes_joined_one_after_the_other(cluster):
    joins = sorted(
        (call["start"], call["end"], host)
        for host in ("cp2", "cp3")
        for call in cluster.calls(host)
        if call["command"] == "join"
    )
    assert [host for *_, host in joins] == ["cp2", "cp3"]
    assert joins[0][1] <= joins[1][0]


def test_no_secret_in_any_log(cluster):
    for host in IPS:
        log = cluster.file(host, "/var/log/kubeadm-sim/calls.jsonl").read_text()
        assert not TOKEN_RE.search(log), host


def test_a_second_init_is_refused(cluster):
    again = cluster.run("cp1", "init", "--config", "/etc/kubeadm/init.yaml")
    assert again.code == 2
    assert (
        "\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: "
        "/etc/kubernetes/manifests/kube-apiserver.yaml already exists"
    ) in again.err
    assert "--ignore-preflight-errors=..." in again.err
    cluster.write("cp2", "/etc/kubeadm/init.yaml", init_config("cp2", ignore=("all",)))
    other = cluster.run("cp2", "init", "--config", "/etc/kubeadm/init.yaml")
    assert other.code == 1
    assert "was already initialised by cp1" in other.err
    assert "`kubeadm init` must run exactly once" in other.err


def test_a_joined_node_cannot_join_again(cluster):
    again = cluster.run("w1", "join", "--config", "/etc/kubeadm/join.yaml")
    assert again.code == 1
    assert 'a Node with name "w1" and status "Ready" already exists in the cluster' in again.err
    cluster.write("w1", "/etc/kubeadm/plain.yaml", join_config("w1", cluster.pki["hash"]))
    strict = cluster.run("w1", "join", "--config", "/etc/kubeadm/plain.yaml")
    assert strict.code == 2
    assert (
        "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already "
        "exists" in strict.err
    )
    assert "[ERROR DirAvailable--var-lib-kubelet]" not in strict.err


# --- joins that fail ------------------------------------------------------------------------------


def test_pre_provisioned_files_fail_preflight_unless_ignored(lab):
    assert lab.init().code == 0
    worker = lab.join("w1", ignore=())
    assert worker.code == 2
    assert (
        "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already "
        "exists" in worker.err
    )
    assert (
        "[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already "
        "exists" in worker.err
    )
    control = lab.join("cp2", control_plane=True, ignore=())
    assert control.code == 2
    assert "FileAvailable--etc-kubernetes-pki-ca.crt" not in control.err
    ignored = lab.join("w1", ignore=("all",))
    assert ignored.code == 0, ignored
    assert "[WARNING FileAvailable--etc-kubernetes-kubelet.conf]" in ignored.err


def test_join_with_an_unknown_or_expired_token_fails(lab):
    assert lab.init().code == 0
    unknown = lab.join("w1", token="zzzzzz.0123456789abcdef")
    assert unknown.code == 1
    assert (
        'could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"'
        in unknown.err
    )
    later = str(lab.read_state()["cluster"]["time"] + 2 * 3600)
    lab.write(
        "w2", "/etc/kubeadm/join.yaml", join_config("w2", lab.pki["hash"], ignore=WORKER_IGNORE)
    )
    expired = lab.run("w2", "join", "--config", "/etc/kubeadm/join.yaml", KUBEADM_SIM_NOW=later)
    assert expired.code == 1
    assert 'for token ID "abcdef"' in expired.err


def test_join_with_a_wrong_ca_pin_fails(lab):
    assert lab.init().code == 0
    text = join_config("w1", "sha256:" + "0" * 64, ignore=WORKER_IGNORE)
    lab.write("w1", "/etc/kubeadm/join.yaml", text)
    result = lab.run("w1", "join", "--config", "/etc/kubeadm/join.yaml")
    assert result.code == 1
    assert f'none of the public keys "{lab.pki["hash"]}" are pinned' in result.err


def test_join_before_init_or_to_an_unknown_endpoint_fails(lab):
    early = lab.join("w1")
    assert early.code == 1 and "no cluster in" in early.err
    assert lab.init().code == 0
    result = lab.run(
        "w1",
        "join",
        "10.9.9.9:6443",
        "--token",
        TOKEN,
        "--discovery-token-ca-cert-hash",
        lab.pki["hash"],
        "--ignore-preflight-errors",
        ",".join(WORKER_IGNORE),
    )
    assert result.code == 1
    assert "no API server at 10.9.9.9:6443" in result.err


def test_join_with_flags_and_a_fresh_node(lab):
    assert lab.init().code == 0
    shutil.rmtree(lab.root("w2"))
    result = lab.run(
        "w2",
        "join",
        "192.0.2.11:6443",
        "--token",
        TOKEN,
        "--discovery-token-ca-cert-hash",
        lab.pki["hash"],
        "--node-name",
        "w2",
    )
    assert result.code == 0, result
    assert "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap" in result.out
    assert (
        lab.file("w2", "/etc/kubernetes/pki/ca.crt").read_bytes()
        == (lab.pki["store"] / "ca.crt").read_bytes()
    )
    assert oct(lab.file("w2", "/etc/kubernetes/kubelet.conf").stat().st_mode & 0o777) == "0o600"
    call = lab.calls("w2")[-1]
    assert call["argv"][:5] == ["kubeadm", "join", "192.0.2.11:6443", "--token", "<redacted>"]
    assert TOKEN not in json.dumps(call)


def test_control_plane_join_needs_a_stable_endpoint(lab):
    config = init_config().replace(f"controlPlaneEndpoint: {ENDPOINT}\n", "")
    assert lab.init(config=config).code == 0
    text = join_config("cp2", lab.pki["hash"], control_plane=True, ignore=CP_IGNORE)
    lab.write("cp2", "/etc/kubeadm/join.yaml", text.replace(ENDPOINT, "192.0.2.11:6443"))
    result = lab.run("cp2", "join", "--config", "/etc/kubeadm/join.yaml")
    assert result.code == 1
    assert "cluster that doesn't have a stable controlPlaneEndpoint address" in result.err


def test_control_plane_joins_at_the_same_time_are_caught(lab):
    assert lab.init().code == 0
    for host in ("cp2", "cp3"):
        lab.write(
            host, "/etc/kubeadm/join.yaml", join_config(host, lab.pki["hash"], True, CP_IGNORE)
        )
    results = {}

    def run(host):
        env = {
            **lab.env(host, KUBEADM_SIM_CONTROL_PLANE_JOIN_SECONDS="3"),
            "PATH": os.environ["PATH"],
        }
        results[host] = subprocess.run(
            [sys.executable, str(SIM / "kubeadm"), "join", "--config", "/etc/kubeadm/join.yaml"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    threads = [threading.Thread(target=run, args=(host,)) for host in ("cp2", "cp3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(result.returncode for result in results.values())
    assert codes == [0, 1], {host: r.stderr for host, r in results.items()}
    failed = next(result for result in results.values() if result.returncode)
    assert "join control-plane nodes one at a time" in failed.stderr


# --- PKI checks -----------------------------------------------------------------------------------


def test_apiserver_certificate_must_carry_the_advertise_address(lab):
    config = init_config().replace("advertiseAddress: 192.0.2.11", "advertiseAddress: 192.0.2.99")
    result = lab.init(config=config)
    assert result.code == 1
    assert "certificate apiserver is invalid: x509: certificate is valid for" in result.err
    assert "not 192.0.2.99" in result.err
    extra = init_config().replace(
        "certSANs: [k8s-api.lab.test]", "certSANs: [k8s-api.lab.test, api.example.org]"
    )
    assert "not api.example.org" in lab.init(config=extra).err


def test_keys_must_be_private(lab):
    os.chmod(lab.file("cp1", "/etc/kubernetes/pki/sa.key"), 0o644)
    os.chmod(lab.file("cp1", "/etc/kubernetes/admin.conf"), 0o640)
    result = lab.init()
    assert result.code == 1
    assert "kubeadm-sim: /etc/kubernetes/pki/sa.key has mode 0644" in result.err
    os.chmod(lab.file("cp1", "/etc/kubernetes/pki/sa.key"), 0o600)
    result = lab.init()
    assert "kubeadm-sim: /etc/kubernetes/admin.conf has mode 0640" in result.err


def test_missing_pki_files_are_not_generated(lab):
    lab.file("cp1", "/etc/kubernetes/pki/front-proxy-client.key").unlink()
    lab.file("cp1", "/etc/kubernetes/pki/sa.pub").unlink()
    result = lab.init()
    assert result.code == 1
    assert (
        "/etc/kubernetes/pki/front-proxy-client.key is missing and "
        "/etc/kubernetes/pki/front-proxy-ca.key is absent" in result.err
    )
    assert (
        "kubeadm-sim: /etc/kubernetes/pki/sa.pub is missing: kubeadm would generate it"
        in result.err
    )
    assert not lab.file("cp1", "/etc/kubernetes/manifests").exists()


def test_external_etcd_client_files_must_exist(lab):
    lab.file("cp1", "/etc/kubernetes/pki/apiserver-etcd-client.key").unlink()
    result = lab.init()
    assert result.code == 2
    assert (
        "[ERROR ExternalEtcdClientCertificates]: /etc/kubernetes/pki/apiserver-etcd-client.key "
        "doesn't exist" in result.err
    )


def test_a_certificate_from_another_ca_is_refused(lab, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "kube-apiserver")])
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    lab.file("cp1", "/etc/kubernetes/pki/apiserver.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
    )
    result = lab.init()
    assert result.code == 1
    assert "certificate apiserver is not signed by corresponding CA" in result.err
    assert (
        "kubeadm-sim: /etc/kubernetes/pki/apiserver.key does not match apiserver.crt" in result.err
    )


def test_a_kubeconfig_with_another_ca_is_refused(lab):
    admin = yaml.safe_load(lab.file("cp1", "/etc/kubernetes/admin.conf").read_text())
    other = (lab.pki["store"] / "front-proxy-ca.crt").read_bytes()
    import base64

    admin["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other).decode()
    lab.file("cp1", "/etc/kubernetes/admin.conf").write_text(yaml.safe_dump(admin))
    result = lab.init()
    assert result.code == 1
    assert (
        'a kubeconfig file "/etc/kubernetes/admin.conf" exists already but has got the wrong CA '
        "cert" in result.err
    )


def test_a_kubeconfig_for_another_server_is_a_warning(lab):
    config = init_config().replace(
        f"controlPlaneEndpoint: {ENDPOINT}", "controlPlaneEndpoint: 192.0.2.11:6443"
    )
    result = lab.init(config=config)
    assert result.code == 0, result
    assert (
        'a kubeconfig file "/etc/kubernetes/admin.conf" exists already but has an unexpected API '
        f"Server URL: expected: https://192.0.2.11:6443, got: https://{ENDPOINT}"
    ) in result.err


def test_missing_kubeconfigs_are_written_only_with_the_ca_key(lab):
    lab.file("cp1", "/etc/kubernetes/scheduler.conf").unlink()
    result = lab.init()
    assert result.code == 0, result
    assert '[kubeconfig] Writing "scheduler.conf" kubeconfig file' in result.out
    written = yaml.safe_load(lab.file("cp1", "/etc/kubernetes/scheduler.conf").read_text())
    assert written["clusters"][0]["cluster"]["server"] == "https://192.0.2.11:6443"
    assert oct(lab.file("cp1", "/etc/kubernetes/scheduler.conf").stat().st_mode & 0o777) == "0o600"


# --- tokens, certificate keys, upload-certs -------------------------------------------------------


def test_tokens(lab):
    assert lab.run("cp1", "token", "create").code == 1  # no cluster yet
    assert lab.init().code == 0
    created = lab.run("cp1", "token", "create", "--ttl", "2h", "--print-join-command")
    assert created.code == 0, created
    command = created.out.strip()
    assert re.fullmatch(
        rf"kubeadm join {ENDPOINT} --token [a-z0-9]{{6}}\.[a-z0-9]{{16}} "
        rf"--discovery-token-ca-cert-hash {lab.pki['hash']}",
        command,
    )
    token = command.split()[4]
    listed = lab.run("cp1", "token", "list")
    assert token in listed.out and TOKEN in listed.out
    as_json = lab.run("cp1", "token", "list", "-o", "json")
    assert '"usages": [' in as_json.out
    key = lab.run("cp1", "certs", "certificate-key").out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    cp_command = lab.run(
        "cp1", "token", "create", "--print-join-command", "--certificate-key", key
    ).out
    assert cp_command.strip().endswith(f"--control-plane --certificate-key {key}")
    assert (
        lab.run("cp1", "token", "delete", token.split(".")[0]).out.strip()
        == f'bootstrap token "{token.split(".")[0]}" deleted'
    )
    assert token not in lab.run("cp1", "token", "list").out
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}\n", lab.run("cp1", "token", "generate").out)
    assert "is missing token" in lab.run("cp1", "token", "delete").err
    for call in lab.calls("cp1"):
        assert key not in json.dumps(call) and not TOKEN_RE.search(json.dumps(call))


def test_token_commands_need_the_admin_kubeconfig(lab):
    assert lab.init().code == 0
    result = lab.run("w1", "token", "create")
    assert result.code == 1
    assert (
        "failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or "
        "directory" in result.err
    )


def test_upload_certs_and_join_with_the_certificate_key(lab):
    result = lab.init("cp1", "--upload-certs")
    assert result.code == 0, result
    key = re.search(r"\[upload-certs\] Using certificate key:\n([0-9a-f]{64})", result.out).group(1)
    assert f"--control-plane --certificate-key {key}" in result.out
    wrong = lab.join("cp2", control_plane=True, certificate_key="1" * 64)
    assert wrong.code == 1 and "cipher: message authentication failed" in wrong.err
    later = str(lab.read_state()["uploaded_certs"]["expires"] + 1)
    forever = lab.run("cp1", "token", "create", "--ttl", "0").out.strip()
    text = join_config("cp3", lab.pki["hash"], True, CP_IGNORE, token=forever, certificate_key=key)
    lab.write("cp3", "/etc/kubeadm/join.yaml", text)
    expired = lab.run("cp3", "join", "--config", "/etc/kubeadm/join.yaml", KUBEADM_SIM_NOW=later)
    assert expired.code == 1 and 'Secret "kubeadm-certs" was not found' in expired.err
    lab.file("cp2", "/etc/kubernetes/pki/sa.key").unlink()
    joined = lab.join("cp2", control_plane=True, certificate_key=key)
    assert joined.code == 0, joined
    assert "[download-certs] Downloading the certificates" in joined.out
    assert (
        lab.file("cp2", "/etc/kubernetes/pki/sa.key").read_bytes()
        == (lab.pki["store"] / "sa.key").read_bytes()
    )
    assert oct(lab.file("cp2", "/etc/kubernetes/pki/sa.key").stat().st_mode & 0o777) == "0o600"
    again = lab.run(
        "cp1", "init", "phase", "upload-certs", "--upload-certs", "--certificate-key", "2" * 64
    )
    assert again.code == 0 and ("2" * 64) in again.out
    assert lab.read_state()["uploaded_certs"]["key"] == "2" * 64
    for call in lab.calls("cp1"):
        assert "2" * 64 not in json.dumps(call)


# --- reset ----------------------------------------------------------------------------------------


def test_reset(lab):
    assert lab.init().code == 0
    assert lab.join("w1").code == 0
    refused = lab.run("w1", "reset", stdin="n\n")
    assert refused.code == 1
    assert "won't proceed; the user didn't answer (Y|y) in order to continue" in refused.err
    assert lab.file("w1", "/etc/kubernetes/kubelet.conf").exists()
    done = lab.run("w1", "reset", "-f")
    assert done.code == 0, done
    assert (
        "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet "
        "/etc/kubernetes/pki]" in done.out
    )
    assert not lab.file("w1", "/etc/kubernetes/kubelet.conf").exists()
    assert not lab.file("w1", "/etc/kubernetes/pki/ca.crt").exists()
    assert not lab.file("w1", "/var/lib/kubelet/config.yaml").exists()
    assert lab.read_state()["nodes"]["w1"]["ready"] is False
    rejoined = lab.join("w1")
    assert rejoined.code == 0, rejoined
    assert lab.read_state()["nodes"]["w1"]["ready"] is True
    lab.write(
        "w2",
        "/etc/kubeadm/reset.yaml",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\n",
    )
    assert lab.run("w2", "reset", "--config", "/etc/kubeadm/reset.yaml").code == 0


# --- the call log ---------------------------------------------------------------------------------


def test_every_call_is_logged_with_secrets_redacted(lab):
    argv = [
        "join",
        "10.0.0.1:6443",
        "--token",
        TOKEN,
        f"--discovery-token-ca-cert-hash=sha256:{'a' * 64}",
        "--discovery-token-unsafe-skip-ca-verification",
        "--certificate-key",
        "b" * 64,
        "--control-plane",
    ]
    lab.run("w1", *argv)
    (call,) = lab.calls("w1")
    assert call["argv"] == [
        "kubeadm",
        "join",
        "10.0.0.1:6443",
        "--token",
        "<redacted>",
        "--discovery-token-ca-cert-hash=<redacted>",
        "--discovery-token-unsafe-skip-ca-verification",
        "--certificate-key",
        "<redacted>",
        "--control-plane",
    ]
    assert call["redactions"] == 3
    assert call["command"] == "join" and call["exit_code"] == 2  # preflight: kubelet.conf exists
    assert call["host"] == "w1" and call["cwd"] == os.getcwd()
    assert call["start"] <= call["end"]
    custom = lab.base / "elsewhere.jsonl"
    lab.run("w1", "version", KUBEADM_SIM_LOG=str(custom))
    assert json.loads(custom.read_text())["command"] == "version"


def test_redaction_rules():
    argv, count = flags.redact(
        [
            "token",
            "delete",
            TOKEN,
            "--discovery-token",
            TOKEN,
            "--tls-bootstrap-token=" + TOKEN,
            "x" + TOKEN,
        ]
    )
    assert argv == [
        "token",
        "delete",
        "<redacted>",
        "--discovery-token",
        "<redacted>",
        "--tls-bootstrap-token=<redacted>",
        "x<redacted>",
    ]
    assert count == 4
    assert flags.redact(["--token"]) == (["--token"], 0)


def test_dry_run_changes_nothing(lab):
    result = lab.init("cp1", "--dry-run")
    assert result.code == 0, result
    assert "[dryrun] Would write file '/etc/kubernetes/manifests/kube-apiserver.yaml'" in result.out
    assert not lab.file("cp1", "/etc/kubernetes/manifests").exists()
    assert not lab.state.exists()


def test_init_from_flags_with_local_etcd(lab):
    result = lab.run(
        "cp1",
        "init",
        "--apiserver-advertise-address=192.0.2.11",
        "--control-plane-endpoint",
        ENDPOINT,
        "--node-name",
        "cp1",
        "--pod-network-cidr",
        "10.244.0.0/16",
        "--kubernetes-version",
        "v1.34.2",
        "--token",
        TOKEN,
    )
    # The pki phase gives control-plane nodes no etcd CA key: etcd leaves are used as they are.
    assert result.code == 0, result
    assert "[init] Using Kubernetes version: v1.34.2" in result.out
    etcd = static_pod_command(lab, "cp1", "etcd")
    assert "--advertise-client-urls=https://192.0.2.11:2379" in etcd
    api = static_pod_command(lab, "cp1", "kube-apiserver")
    assert "--etcd-servers=https://127.0.0.1:2379" in api
    old = lab.run(
        "cp2", "init", "--kubernetes-version", "v1.33.0", KUBEADM_SIM_DEFAULT_ADDRESS="192.0.2.12"
    )
    assert old.code == 3
    assert "only supports deploying clusters with the control plane version >= 1.34.0" in old.err
