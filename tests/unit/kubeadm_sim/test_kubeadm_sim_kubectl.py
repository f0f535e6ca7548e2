"""The kubectl and etcdctl stand-ins of the kubeadm simulator: exactly the calls the roles make,
against the shared state file, logged like the kubeadm simulator's calls; anything else refused."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import pathlib
import sys

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SIM = pathlib.Path(__file__).resolve().parents[2] / "kubeadm_sim"
sys.path.insert(0, str(SIM))

from kubeadmsim import etcdctl, kubectl  # noqa: E402

# The kubeadm simulator's lab (nodes sharing a state file, the collection's PKI), for the joins.
from test_kubeadm_sim_cli import WORKER_IGNORE, Lab, join_config, pki_store  # noqa: E402, F401

ADMIN = "/etc/kubernetes/admin.conf"
ENDPOINT = "k8s-api.lab.test:6443"


def make_ca(name):
    """``(PEM, discovery pin)`` of a new self-signed CA, the pin computed here, not by the sim."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return pem, "sha256:" + hashlib.sha256(spki).hexdigest()


def cluster_info(ca_pem, server=f"https://{ENDPOINT}"):
    ca_data = base64.b64encode(ca_pem.encode()).decode()
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "", "cluster": {"certificate-authority-data": ca_data, "server": server}}
            ],
            "contexts": [],
            "users": [],
        }
    )


def patch_args(kubeconfig):
    patch = json.dumps({"data": {"kubeconfig": kubeconfig}})
    return [
        "-n",
        "kube-public",
        "patch",
        "configmap",
        "cluster-info",
        "--type",
        "merge",
        "-p",
        patch,
    ]


MANIFEST = """\
---
kind: Namespace
apiVersion: v1
metadata:
  name: kube-flannel
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  net-conf.json: '{"Network": "10.244.0.0/16"}'
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
spec:
  template:
    spec:
      initContainers:
        - name: install-cni-plugin
          image: registry.lab.test/flannel-io/flannel-cni-plugin:v1.9.1-flannel1
      containers:
        - name: kube-flannel
          image: registry.lab.test/flannel-io/flannel:v0.28.9
"""


@pytest.fixture
def cluster(tmp_path):
    root = tmp_path / "cp1"
    (root / "etc/kubernetes").mkdir(parents=True)
    (root / "etc/kubernetes/admin.conf").write_text("apiVersion: v1\nkind: Config\n")
    state = tmp_path / "shared" / "cluster.json"
    state.parent.mkdir()
    ca_pem, ca_hash = make_ca("kubernetes")
    state.write_text(
        json.dumps(
            {
                "format": 1,
                "cluster": {
                    "initialised_by": "cp1",
                    "control_plane_endpoint": ENDPOINT,
                    "ca_cert_pem": ca_pem,
                    "ca_cert_hash": ca_hash,
                },
                "nodes": {
                    "cp1": {
                        "role": "control-plane",
                        "ready": True,
                        "advertise_address": "192.0.2.11",
                    },
                    "cp2": {
                        "role": "control-plane",
                        "ready": True,
                        "advertise_address": "192.0.2.12",
                    },
                    "w1": {"role": "worker", "ready": True, "advertise_address": "192.0.2.21"},
                },
                "tokens": {},
            }
        )
    )
    return {
        "root": root,
        "state": state,
        "log": tmp_path / "kubectl.jsonl",
        "tmp": tmp_path,
        "ca_pem": ca_pem,
    }


def run(cluster, *argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    env = {
        "KUBEADM_SIM_ROOT": str(cluster["root"]),
        "KUBEADM_SIM_STATE": str(cluster["state"]),
        "KUBECTL_SIM_LOG": str(cluster["log"]),
        "KUBEADM_SIM_HOSTNAME": "cp1",
    }
    code = kubectl.main(list(argv), environ=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def k(cluster, *argv, **kwargs):
    return run(cluster, "--kubeconfig", ADMIN, *argv, **kwargs)


def state(cluster):
    return json.loads(cluster["state"].read_text())


def calls(cluster):
    return [json.loads(line) for line in cluster["log"].read_text().splitlines()]


def write_manifest(cluster, text=MANIFEST, name="cni.yaml"):
    path = cluster["root"] / name
    path.write_text(text)
    return f"/{name}"


def test_get_nodes_lists_the_state(cluster):
    code, out, _ = k(cluster, "get", "nodes", "-o", "json")
    assert code == 0
    items = json.loads(out)["items"]
    assert [item["metadata"]["name"] for item in items] == ["cp1", "cp2", "w1"]
    assert "node-role.kubernetes.io/control-plane" in items[0]["metadata"]["labels"]
    code, out, _ = k(cluster, "get", "node", "w1", "-o", "name")
    assert (code, out) == (0, "node/w1\n")
    code, _, err = k(cluster, "get", "node", "nope")
    assert code == 1
    assert 'nodes "nope" not found' in err


def test_apply_records_objects_images_and_is_logged(cluster):
    path = write_manifest(cluster)
    code, out, _ = k(cluster, "apply", "-f", path)
    assert code == 0
    assert out.splitlines() == [
        "namespace/kube-flannel created",
        "configmap/kube-flannel-cfg created",
        "daemonset.apps/kube-flannel-ds created",
    ]
    objects = state(cluster)["objects"]
    ds = objects["DaemonSet/kube-flannel/kube-flannel-ds"]
    assert ds["images"] == [
        "registry.lab.test/flannel-io/flannel-cni-plugin:v1.9.1-flannel1",
        "registry.lab.test/flannel-io/flannel:v0.28.9",
    ]
    assert objects["Namespace//kube-flannel"]["namespace"] == ""
    record = calls(cluster)[-1]
    assert record["command"] == "apply"
    assert record["argv"] == ["kubectl", "--kubeconfig", ADMIN, "apply", "-f", path]
    assert record["exit_code"] == 0
    assert record["kubeconfig"] == ADMIN
    assert len(record["images"]) == 2
    assert {item["result"] for item in record["objects"]} == {"created"}
    # Again: unchanged; with a new image: configured, generation 2.
    code, out, _ = k(cluster, "apply", "-f", path)
    assert "daemonset.apps/kube-flannel-ds unchanged" in out
    path = write_manifest(cluster, MANIFEST.replace("v0.28.9", "v0.28.10"))
    code, out, _ = k(cluster, "apply", "-f", path)
    assert "daemonset.apps/kube-flannel-ds configured" in out
    assert state(cluster)["objects"]["DaemonSet/kube-flannel/kube-flannel-ds"]["generation"] == 2


def test_get_daemonset_and_rollout_status(cluster):
    code, _, err = k(cluster, "get", "daemonset", "kube-flannel-ds", "-n", "kube-flannel")
    assert code == 1
    assert 'daemonsets.apps "kube-flannel-ds" not found' in err
    k(cluster, "apply", "-f", write_manifest(cluster))
    code, out, _ = k(
        cluster, "-n", "kube-flannel", "get", "daemonset", "kube-flannel-ds", "-o", "name"
    )
    assert (code, out) == (0, "daemonset.apps/kube-flannel-ds\n")
    code, out, _ = k(
        cluster,
        "rollout",
        "status",
        "daemonset/kube-flannel-ds",
        "-n",
        "kube-flannel",
        "--timeout",
        "300s",
    )
    assert code == 0
    assert "successfully rolled out" in out
    assert calls(cluster)[-1]["command"] == "rollout status"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [b\n", "error parsing"),
        ("kind: Pod\nmetadata: {name: p}\n", "apiVersion not set"),
        ("apiVersion: v1\nmetadata: {name: p}\n", "kind not set"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\n", "metadata.name"),
        ("- 1\n", "not a mapping"),
        ("", "no objects passed to apply"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: missing}\n",
            'namespaces "missing" not found',
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "  - {name: a, image: 'bad image'}\n",
            "invalid image",
        ),
    ],
)
def test_apply_refuses_what_kubectl_or_the_api_would(cluster, text, message):
    code, _, err = k(cluster, "apply", "-f", write_manifest(cluster, text))
    assert code == 1
    assert message in err
    assert "objects" not in state(cluster) or not state(cluster)["objects"]


def test_apply_needs_a_file(cluster):
    code, _, err = k(cluster, "apply", "-f", "/nope.yaml")
    assert code == 1
    assert 'the path "/nope.yaml" does not exist' in err
    code, _, err = k(cluster, "apply")
    assert "must specify one of -f" in err


def test_apply_reads_stdin(cluster):
    code, out, _ = k(cluster, "apply", "-f", "-", stdin=MANIFEST)
    assert code == 0
    assert len(out.splitlines()) == 3


def test_drain_cordons_and_needs_ignore_daemonsets_once_a_daemonset_runs(cluster):
    code, out, _ = k(cluster, "drain", "w1", "--delete-emptydir-data", "--timeout=60s")
    assert code == 0
    assert out.splitlines() == ["node/w1 cordoned", "node/w1 drained"]
    assert state(cluster)["nodes"]["w1"]["unschedulable"] is True
    k(cluster, "apply", "-f", write_manifest(cluster))
    code, _, err = k(cluster, "drain", "cp2", "--timeout", "60s")
    assert code == 1
    assert "--ignore-daemonsets" in err
    code, out, _ = k(
        cluster, "drain", "cp2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=1m0s"
    )
    assert code == 0
    assert "ignoring DaemonSet-managed Pods: kube-flannel/kube-flannel-ds" in out
    code, out, _ = k(cluster, "get", "nodes")
    assert "cp2   Ready,SchedulingDisabled   control-plane" in out
    code, _, err = k(cluster, "drain", "nope")
    assert code == 1
    assert 'nodes "nope" not found' in err
    code, _, err = k(cluster, "drain", "w1", "--timeout", "soon")
    assert code == 1
    assert "invalid duration" in err


def test_delete_node(cluster):
    code, out, _ = k(cluster, "delete", "node", "w1")
    assert (code, out) == (0, 'node "w1" deleted\n')
    assert "w1" not in state(cluster)["nodes"]
    assert calls(cluster)[-1]["command"] == "delete node"
    code, _, err = k(cluster, "delete", "node", "w1")
    assert code == 1
    assert 'nodes "w1" not found' in err
    assert k(cluster, "delete", "node", "w1", "--ignore-not-found")[0] == 0
    code, _, err = k(cluster, "delete", "pod", "x")
    assert code == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], 'error: unknown command "frobnicate" for "kubectl"'),
        (["get", "nodes", "--bogus"], "error: unknown flag: --bogus"),
        (["get", "pods"], "doesn't have a resource type"),
        (["get", "nodes", "-o", "xml"], "unable to match a printer"),
        (["rollout", "undo", "ds/x"], 'unknown command "undo"'),
        (["version"], "only version --client"),
    ],
)
def test_unknown_commands_and_flags_fail_like_kubectl(cluster, argv, message):
    code, _, err = k(cluster, *argv)
    assert code == 1
    assert message in err
    assert calls(cluster)[-1]["exit_code"] == 1


def test_version_client_needs_no_cluster(cluster):
    code, out, _ = run(cluster, "version", "--client")
    assert code == 0
    assert "Client Version" in out


def test_no_cluster_without_kubeconfig_or_init(cluster):
    code, _, err = run(cluster, "get", "nodes")
    assert code == 1
    assert "localhost:8080 was refused" in err
    code, _, err = run(cluster, "--kubeconfig", "/etc/kubernetes/nope.conf", "get", "nodes")
    assert code == 1
    assert "no such file" in err
    data = state(cluster)
    data["cluster"] = None
    cluster["state"].write_text(json.dumps(data))
    code, _, err = k(cluster, "get", "nodes")
    assert code == 1
    assert "no cluster has been initialised" in err


# --- CA rotation: the root-CA ConfigMaps, cluster-info, rollout restart ----------------------

ROOT_CA = ["get", "configmap", "kube-root-ca.crt", "-o", "jsonpath={.data.ca\\.crt}"]
CLUSTER_INFO = ["get", "configmap", "cluster-info", "-o", "jsonpath={.data.kubeconfig}"]


def test_kube_root_ca_follows_the_nodes_ca_file(cluster):
    ca_file = cluster["root"] / "etc/kubernetes/pki/ca.crt"
    code, _, err = k(cluster, "-n", "kube-system", *ROOT_CA)
    assert code == 1
    assert 'configmaps "kube-root-ca.crt" not found' in err
    old, _ = make_ca("old")
    ca_file.parent.mkdir(parents=True)
    ca_file.write_text(old)
    assert k(cluster, "-n", "kube-system", *ROOT_CA) == (0, old, "")
    bundle = old + make_ca("new")[0]
    ca_file.write_text(bundle)
    code, out, _ = k(cluster, "-n", "kube-flannel", "get", "cm", "kube-root-ca.crt", "-o", "json")
    assert code == 0
    assert json.loads(out)["data"] == {"ca.crt": bundle}
    assert json.loads(out)["metadata"]["namespace"] == "kube-flannel"
    record = calls(cluster)[-1]
    assert (record["command"], record["exit_code"]) == ("get cm", 0)


def test_cluster_info_is_built_from_the_state(cluster):
    code, out, _ = k(cluster, "-n", "kube-public", *CLUSTER_INFO)
    assert code == 0
    kubeconfig = yaml.safe_load(out)
    assert (kubeconfig["apiVersion"], kubeconfig["kind"]) == ("v1", "Config")
    entry = kubeconfig["clusters"][0]
    assert entry["name"] == ""
    assert entry["cluster"]["server"] == f"https://{ENDPOINT}"
    assert (
        base64.b64decode(entry["cluster"]["certificate-authority-data"]).decode()
        == (cluster["ca_pem"])
    )
    code, out, _ = k(cluster, "-n", "kube-public", "get", "configmap", "cluster-info", "-o", "json")
    assert json.loads(out)["data"]["kubeconfig"] == yaml.safe_dump(kubeconfig)
    code, _, err = k(cluster, "-n", "kube-system", *CLUSTER_INFO)
    assert code == 1
    assert 'configmaps "cluster-info" not found' in err
    code, out, _ = k(
        cluster,
        "-n",
        "kube-public",
        "get",
        "configmap",
        "cluster-info",
        "-o",
        "jsonpath={.data.nope}",
    )
    assert (code, out) == (0, "")
    code, _, err = k(cluster, "-n", "kube-public", *CLUSTER_INFO[:-1], "jsonpath={.items[*]}")
    assert code == 1
    assert "error parsing jsonpath" in err


def test_patch_cluster_info_then_join_pinned_to_any_certificate(tmp_path, pki_store):  # noqa: F811
    lab = Lab(tmp_path, pki_store)
    for host in ("cp1", "w1", "w2"):
        lab.install_pki(host)
    assert lab.init().code == 0
    log = tmp_path / "kubectl.jsonl"

    def kc(*argv):
        out, err = io.StringIO(), io.StringIO()
        env = lab.env("cp1", KUBECTL_SIM_LOG=str(log))
        code = kubectl.main(["--kubeconfig", ADMIN, *argv], environ=env, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    old_pem = (pki_store["store"] / "ca.crt").read_text()
    new_pem, new_hash = make_ca("kubernetes-next")
    kubeconfig = cluster_info(old_pem + new_pem)
    assert kc(*patch_args(kubeconfig)) == (0, "configmap/cluster-info patched\n", "")
    cluster = lab.read_state()["cluster"]
    assert cluster["ca_cert_hashes"] == [pki_store["hash"], new_hash]
    assert cluster["cluster_info_ca_pem"] == old_pem + new_pem
    assert cluster["ca_cert_hash"] == pki_store["hash"]
    assert kc("-n", "kube-public", *CLUSTER_INFO) == (0, kubeconfig, "")
    assert kc(*patch_args(kubeconfig))[1] == "configmap/cluster-info patched (no change)\n"
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["command"], record["exit_code"]) == ("patch configmap", 0)
    assert record["ca_cert_hashes"] == [pki_store["hash"], new_hash]
    # Pinned to the second certificate only: accepted, as kubeadm's CheckAny accepts it.
    lab.write("w1", "/etc/kubeadm/join.yaml", join_config("w1", new_hash, ignore=WORKER_IGNORE))
    joined = lab.run("w1", "join", "--config", "/etc/kubeadm/join.yaml")
    assert joined.code == 0, joined
    # Pinned to an unrelated key: refused in kubeadm's words, every certificate's hash listed.
    other = make_ca("unrelated")[1]
    lab.write("w2", "/etc/kubeadm/join.yaml", join_config("w2", other, ignore=WORKER_IGNORE))
    refused = lab.run("w2", "join", "--config", "/etc/kubeadm/join.yaml")
    assert refused.code == 1
    assert (
        "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "
        f'"{pki_store["hash"]}:{new_hash}" are pinned'
    ) in refused.err


@pytest.mark.parametrize(
    ("ca_data", "message"),
    [
        (base64.b64encode(b"garbage").decode(), "does not contain any valid"),
        ("not base64!", "not base64"),
        (
            base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "is a PRIVATE KEY, not a CERTIFICATE",
        ),
        (
            base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "PEM block 1 is not a valid certificate",
        ),
    ],
)
def test_patch_refuses_ca_data_that_is_not_certificates(cluster, ca_data, message):
    if isinstance(ca_data, bytes):
        ca_data = ca_data.decode()
    kubeconfig = cluster_info("x").replace(base64.b64encode(b"x").decode(), ca_data)
    before = state(cluster)
    code, _, err = k(cluster, *patch_args(kubeconfig))
    assert code == 1
    assert err.startswith("error: ")
    assert message in err
    assert state(cluster) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-n", "kube-public", "patch", "configmap", "other", "-p", "{}"], "only the cluster-info"),
        (["-n", "kube-public", "patch", "deployment/x", "-p", "{}"], "only the cluster-info"),
        (["patch", "configmap/cluster-info", "-p", '{"data": {"kubeconfig": "x"}}'], "not found"),
        (["-n", "kube-public", "patch", "cm", "cluster-info", "-p", '{"data": {}}'], "must be"),
        (["-n", "kube-public", "patch", "cm", "cluster-info", "-p", "5"], "must be"),
        (
            [
                "-n",
                "kube-public",
                "patch",
                "cm",
                "cluster-info",
                "-p",
                '{"data": {"kubeconfig": 1}}',
            ],
            "must be",
        ),
        (["-n", "kube-public", "patch", "cm", "cluster-info"], "must specify --patch"),
        (["-n", "kube-public", "patch", "cm", "cluster-info", "--type", "x", "-p", "{}"], "--type"),
        (["-n", "kube-public", "patch", "cm", "cluster-info", "--force", "-p", "{}"], "--force"),
    ],
)
def test_patch_refuses_other_targets_and_patches(cluster, argv, message):
    code, _, err = k(cluster, *argv)
    assert code == 1
    assert message in err


DAEMONSETS_AND_DEPLOYMENT = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: kube-proxy, image: registry.lab.test/k8s/kube-proxy:v1.35.9}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: kube-system}
spec: {template: {metadata: {labels: {app: agent}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec: {template: {}}
"""


def restarted_at(cluster, key):
    entry = state(cluster)["objects"][key]
    template = entry["object"]["spec"]["template"]
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    return entry.get("restartedAt"), annotations.get("kubectl.kubernetes.io/restartedAt")


def test_rollout_restart_records_restarted_at(cluster):
    path = write_manifest(cluster, DAEMONSETS_AND_DEPLOYMENT)
    assert k(cluster, "apply", "-f", path)[0] == 0
    code, out, _ = run(
        cluster, "--kubeconfig", ADMIN, "rollout", "restart", "daemonset", "-n", "kube-system"
    )
    assert code == 0
    assert out.splitlines() == [
        "daemonset.apps/kube-proxy restarted",
        "daemonset.apps/node-agent restarted",
    ]
    for name in ("kube-proxy", "node-agent"):
        stamp, annotation = restarted_at(cluster, f"DaemonSet/kube-system/{name}")
        assert stamp and stamp == annotation
        assert datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    assert state(cluster)["objects"]["DaemonSet/kube-system/kube-proxy"]["generation"] == 2
    assert restarted_at(cluster, "Deployment/kube-system/coredns") == (None, None)
    record = calls(cluster)[-1]
    assert record["command"] == "rollout restart"
    assert record["restarted"] == [
        "DaemonSet/kube-system/kube-proxy",
        "DaemonSet/kube-system/node-agent",
    ]
    # Applying the same manifest again leaves the restart annotation, as kubectl apply does.
    assert "daemonset.apps/kube-proxy unchanged" in k(cluster, "apply", "-f", path)[1]
    assert restarted_at(cluster, "DaemonSet/kube-system/kube-proxy")[1]
    code, out, _ = k(cluster, "-n", "kube-system", "rollout", "restart", "deployment/coredns")
    assert (code, out) == (0, "deployment.apps/coredns restarted\n")
    assert restarted_at(cluster, "Deployment/kube-system/coredns")[0]
    code, out, _ = k(cluster, "-n", "kube-system", "rollout", "status", "deployment/coredns")
    assert (code, out) == (0, 'deployment "coredns" successfully rolled out\n')


def test_rollout_restart_with_nothing_or_a_missing_name(cluster):
    code, out, err = k(cluster, "rollout", "restart", "deployment", "-n", "kube-system")
    assert (code, out, err) == (0, "", "No resources found in kube-system namespace.\n")
    code, _, err = k(cluster, "-n", "kube-system", "rollout", "restart", "daemonset/nope")
    assert code == 1
    assert 'Error from server (NotFound): daemonsets.apps "nope" not found' in err
    code, _, err = k(cluster, "rollout", "restart", "pod/x")
    assert code == 1
    assert "rollout restart daemonset|deployment" in err
    code, _, err = k(cluster, "rollout", "restart", "ds", "--timeout", "1m")
    assert code == 1
    assert "unknown flag: --timeout" in err


# --- etcdctl ---------------------------------------------------------------------------------

PKI = "/etc/kubernetes/pki/etcd"
SEED = {
    "members": [
        {
            "name": f"etcd-cp{i}",
            "peer_url": f"https://192.0.2.1{i}:2380",
            "client_url": f"https://192.0.2.1{i}:2379",
        }
        for i in (1, 2, 3)
    ]
}


@pytest.fixture
def etcd(cluster):
    pki = cluster["root"] / PKI.lstrip("/")
    pki.mkdir(parents=True)
    for name in ("ca.crt", "healthcheck-client.crt", "healthcheck-client.key"):
        (pki / name).write_text("x")
    seed = cluster["tmp"] / "etcd-seed.json"
    seed.write_text(json.dumps(SEED))
    cluster["etcd_log"] = cluster["tmp"] / "etcdctl.jsonl"
    cluster["env"] = {
        "KUBEADM_SIM_ROOT": str(cluster["root"]),
        "KUBEADM_SIM_STATE": str(cluster["state"]),
        "KUBEADM_SIM_HOSTNAME": "cp1",
        "ETCDCTL_SIM_SEED": str(seed),
        "ETCDCTL_SIM_LOG": str(cluster["etcd_log"]),
        "ETCDCTL_API": "3",
        "ETCDCTL_CACERT": f"{PKI}/ca.crt",
        "ETCDCTL_CERT": f"{PKI}/healthcheck-client.crt",
        "ETCDCTL_KEY": f"{PKI}/healthcheck-client.key",
        "ETCDCTL_ENDPOINTS": "https://192.0.2.11:2379,https://192.0.2.12:2379",
    }
    return cluster


def e(cluster, *argv, **env):
    out, err = io.StringIO(), io.StringIO()
    code = etcdctl.main(list(argv), environ={**cluster["env"], **env}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_etcdctl_member_list_and_remove(etcd):
    code, out, _ = e(etcd, "member", "list", "-w", "json")
    assert code == 0
    members = json.loads(out)["members"]
    assert [m["name"] for m in members] == ["etcd-cp1", "etcd-cp2", "etcd-cp3"]
    victim = members[2]
    code, out, _ = e(etcd, "member", "remove", f"{victim['ID']:x}")
    assert code == 0
    assert out.startswith(f"Member {victim['ID']:x} removed from cluster ")
    assert [m["name"] for m in state(etcd)["etcd"]["members"]] == ["etcd-cp1", "etcd-cp2"]
    log = [json.loads(line) for line in etcd["etcd_log"].read_text().splitlines()]
    assert log[-1]["command"] == "member remove"
    assert log[-1]["removed"] == "etcd-cp3"
    assert log[-1]["tls"]["cert"] == f"{PKI}/healthcheck-client.crt"
    assert log[-1]["endpoints"] == ["https://192.0.2.11:2379", "https://192.0.2.12:2379"]
    code, _, err = e(etcd, "member", "remove", f"{victim['ID']:x}")
    assert code == 1
    assert "member not found" in err


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["member", "list"], {"ETCDCTL_CERT": ""}, "no --cert"),
        (["member", "list"], {"ETCDCTL_KEY": "/nope.key"}, "no such file"),
        (["member", "list"], {"ETCDCTL_ENDPOINTS": "https://192.0.2.99:2379"}, "deadline"),
        (["member", "list"], {"ETCDCTL_API": "2"}, "only API v3"),
        (["member", "remove", "zz"], {}, "expecting ID in Hex"),
        (["member", "promote", "1"], {}, 'unknown command "promote"'),
        (["put", "a", "b"], {}, 'unknown command "put"'),
        (["member", "list", "--bogus"], {}, "unknown flag: --bogus"),
    ],
)
def test_etcdctl_refusals(etcd, argv, env, message):
    code, _, err = e(etcd, *argv, **env)
    assert code == 1
    assert message in err


def test_etcdctl_without_a_seed_has_no_etcd(etcd):
    code, _, err = e(etcd, "member", "list", ETCDCTL_SIM_SEED=str(etcd["tmp"] / "none.json"))
    assert code == 1
    assert "context deadline exceeded" in err
