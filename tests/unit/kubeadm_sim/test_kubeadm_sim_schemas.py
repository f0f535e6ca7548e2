"""The kubeadm simulator's configuration schemas and its validator (tests/kubeadm_sim).

Good documents are full examples in the shape of the upstream references' own examples; every
kind must pass both the simulator's small validator and the reference ``jsonschema``
implementation, and the two must agree on mutated documents too.
"""

from __future__ import annotations

import copy
import json
import pathlib
import sys

import pytest
import yaml

SIM = pathlib.Path(__file__).resolve().parents[2] / "kubeadm_sim"
sys.path.insert(0, str(SIM))

from kubeadmsim import config, schema, schemagen  # noqa: E402
from kubeadmsim.errors import ValidationError  # noqa: E402

jsonschema = pytest.importorskip("jsonschema")

INIT = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "9a08jv.c0izixklcxtmnze7"
    description: "kubeadm bootstrap token"
    ttl: "24h"
  - token: "783bde.3f89s0fje9f38fhf"
    description: "another bootstrap token"
    usages:
      - authentication
      - signing
    groups:
      - system:bootstrappers:kubeadm:default-node-token
dryRun: false
nodeRegistration:
  name: "ec2-10-100-0-1"
  criSocket: "unix:///var/run/containerd/containerd.sock"
  taints:
    - key: "kubeadmNode"
      value: "someValue"
      effect: "NoSchedule"
  kubeletExtraArgs:
    - name: v
      value: "5"
  ignorePreflightErrors:
    - IsPrivilegedUser
  imagePullPolicy: "IfNotPresent"
  imagePullSerial: true
localAPIEndpoint:
  advertiseAddress: "10.100.0.1"
  bindPort: 6443
certificateKey: "e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204"
skipPhases:
  - addon/kube-proxy
patches:
  directory: /etc/kubernetes/patches
timeouts:
  controlPlaneComponentHealthCheck: "60s"
  kubeletHealthCheck: "4m0s"
  kubernetesAPICall: "40s"
  etcdAPICall: "2m"
  tlsBootstrap: "5m"
  discovery: "5m"
  upgradeManifests: "5m"
"""

CLUSTER = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
etcd:
  external:
    endpoints:
      - https://10.100.0.1:2379
      - https://10.100.0.2:2379
    httpEndpoints:
      - https://10.100.0.1:2382
    caFile: "/etc/kubernetes/pki/etcd/ca.crt"
    certFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    keyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key"
networking:
  serviceSubnet: "10.96.0.0/16"
  podSubnet: "10.244.0.0/24"
  dnsDomain: "cluster.local"
kubernetesVersion: "v1.35.0"
controlPlaneEndpoint: "10.100.0.1:6443"
apiServer:
  extraArgs:
    - name: authorization-mode
      value: Node,RBAC
    - name: audit-log-path
      value: /var/log/kubernetes/audit.log
  extraEnvs:
    - name: SOME_VAR
      value: SOME_VALUE
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
  extraVolumes:
    - name: "some-volume"
      hostPath: "/etc/some-path"
      mountPath: "/etc/some-pod-path"
      readOnly: false
      pathType: File
  certSANs:
    - "10.100.1.1"
    - "ec2-10-100-0-1.compute-1.amazonaws.com"
controllerManager:
  extraArgs:
    - name: node-cidr-mask-size
      value: "20"
  extraVolumes:
    - name: "some-volume"
      hostPath: "/etc/some-path"
      mountPath: "/etc/some-pod-path"
      readOnly: false
      pathType: File
scheduler:
  extraArgs:
    - name: bind-address
      value: 10.100.0.1
dns:
  imageRepository: registry.lab.test/coredns
  imageTag: v1.12.1
  disabled: false
proxy:
  disabled: false
certificatesDir: "/etc/kubernetes/pki"
imageRepository: "registry.k8s.io"
featureGates:
  ControlPlaneKubeletLocalMode: true
clusterName: "example-cluster"
encryptionAlgorithm: ECDSA-P256
certificateValidityPeriod: 8760h0m0s
caCertificateValidityPeriod: 87600h0m0s
"""

LOCAL_ETCD = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
etcd:
  local:
    imageRepository: "registry.k8s.io"
    imageTag: "3.6.5-0"
    dataDir: "/var/lib/etcd"
    extraArgs:
      - name: listen-client-urls
        value: https://10.100.0.1:2379
    extraEnvs:
      - name: SOME_VAR
        value: SOME_VALUE
    serverCertSANs:
      - ec2-10-100-0-1.compute-1.amazonaws.com
    peerCertSANs:
      - 10.100.0.1
"""

JOIN = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
dryRun: false
nodeRegistration:
  name: cp2
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
  kubeletExtraArgs:
    - name: node-ip
      value: 10.100.0.2
  ignorePreflightErrors:
    - FileAvailable--etc-kubernetes-kubelet.conf
  imagePullPolicy: Never
  imagePullSerial: false
caCertPath: /etc/kubernetes/pki/ca.crt
discovery:
  bootstrapToken:
    apiServerEndpoint: k8s-api.example.com:6443
    token: abcdef.0123456789abcdef
    caCertHashes:
      - sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  tlsBootstrapToken: abcdef.0123456789abcdef
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 10.100.0.2
    bindPort: 6443
  certificateKey: e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204
skipPhases:
  - control-plane-prepare/download-certs
patches:
  directory: /etc/kubernetes/patches
timeouts:
  discovery: 5m0s
  tlsBootstrap: 5m0s
"""

FILE_JOIN = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  file:
    kubeConfigPath: /etc/kubernetes/discovery.conf
  tlsBootstrapToken: abcdef.0123456789abcdef
"""

RESET = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ResetConfiguration
cleanupTmpDir: true
certificatesDir: /etc/kubernetes/pki
criSocket: unix:///run/containerd/containerd.sock
dryRun: false
force: true
ignorePreflightErrors:
  - IsPrivilegedUser
skipPhases:
  - remove-etcd-member
unmountFlags:
  - MNT_FORCE
  - UMOUNT_NOFOLLOW
timeouts:
  etcdAPICall: 2m0s
"""

UPGRADE = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: UpgradeConfiguration
apply:
  kubernetesVersion: v1.35.9
  allowExperimentalUpgrades: false
  allowRCUpgrades: false
  certificateRenewal: false
  dryRun: false
  etcdUpgrade: false
  forceUpgrade: true
  ignorePreflightErrors: [CoreDNSUnsupportedPlugins]
  patches:
    directory: /etc/kubernetes/patches
  printConfig: false
  skipPhases: [addon/kube-proxy]
  imagePullPolicy: Never
  imagePullSerial: true
diff:
  kubernetesVersion: v1.35.9
  contextLines: 3
node:
  certificateRenewal: false
  dryRun: false
  etcdUpgrade: false
  ignorePreflightErrors: []
  skipPhases: []
  patches:
    directory: /etc/kubernetes/patches
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
plan:
  kubernetesVersion: v1.35.9
  allowExperimentalUpgrades: false
  allowRCUpgrades: false
  dryRun: false
  etcdUpgrade: false
  ignorePreflightErrors: []
  printConfig: true
timeouts:
  upgradeManifests: 5m0s
"""

KUBELET = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
enableServer: true
staticPodPath: /etc/kubernetes/manifests
podLogsDir: /var/log/pods
syncFrequency: 1m0s
fileCheckFrequency: 20s
httpCheckFrequency: 20s
address: 0.0.0.0
port: 10250
readOnlyPort: 0
tlsCipherSuites:
  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
tlsMinVersion: VersionTLS12
rotateCertificates: true
serverTLSBootstrap: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
    cacheTTL: 2m0s
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 5m0s
    cacheUnauthorizedTTL: 30s
registryPullQPS: 5
registryBurst: 10
imagePullCredentialsVerificationPolicy: NeverVerifyPreloadedImages
preloadedImagesVerificationAllowlist:
  - registry.lab.test/pause
eventRecordQPS: 50
eventBurst: 100
enableDebuggingHandlers: true
healthzPort: 10248
healthzBindAddress: 127.0.0.1
oomScoreAdj: -999
clusterDomain: cluster.local
clusterDNS:
  - 10.96.0.10
streamingConnectionIdleTimeout: 4h0m0s
nodeStatusUpdateFrequency: 10s
nodeStatusReportFrequency: 5m0s
nodeLeaseDurationSeconds: 40
imageMinimumGCAge: 2m0s
imageMaximumGCAge: 0s
imageGCHighThresholdPercent: 85
imageGCLowThresholdPercent: 80
volumeStatsAggPeriod: 1m0s
cgroupsPerQOS: true
cgroupDriver: systemd
cpuManagerPolicy: none
singleProcessOOMKill: false
cpuManagerReconcilePeriod: 10s
memoryManagerPolicy: None
topologyManagerPolicy: none
topologyManagerScope: container
runtimeRequestTimeout: 2m0s
hairpinMode: promiscuous-bridge
maxPods: 110
podPidsLimit: -1
resolvConf: /run/systemd/resolve/resolv.conf
cpuCFSQuota: true
cpuCFSQuotaPeriod: 100ms
nodeStatusMaxImages: 50
maxOpenFiles: 1000000
contentType: application/vnd.kubernetes.protobuf
kubeAPIQPS: 50
kubeAPIBurst: 100
serializeImagePulls: false
maxParallelImagePulls: 5
evictionHard:
  memory.available: 100Mi
  nodefs.available: 10%
evictionSoft:
  memory.available: 300Mi
evictionSoftGracePeriod:
  memory.available: 30s
evictionPressureTransitionPeriod: 5m0s
evictionMaxPodGracePeriod: 60
mergeDefaultEvictionSettings: true
enableControllerAttachDetach: true
protectKernelDefaults: true
makeIPTablesUtilChains: true
featureGates:
  KubeletCrashLoopBackOffMax: true
failSwapOn: false
memorySwap:
  swapBehavior: LimitedSwap
containerLogMaxSize: 10Mi
containerLogMaxFiles: 5
containerLogMaxWorkers: 1
containerLogMonitorInterval: 10s
configMapAndSecretChangeDetectionStrategy: Watch
systemReserved:
  cpu: 500m
  memory: 512Mi
kubeReserved:
  cpu: 250m
enforceNodeAllocatable:
  - pods
allowedUnsafeSysctls:
  - net.ipv4.route.min_pmtu
logging:
  format: json
  flushFrequency: 5s
  verbosity: 2
  vmodule:
    - filePattern: kubelet*
      verbosity: 4
  options:
    json:
      infoBufferSize: "0"
      splitStream: false
enableSystemLogHandler: true
enableSystemLogQuery: false
shutdownGracePeriod: 30s
shutdownGracePeriodCriticalPods: 10s
crashLoopBackOff:
  maxContainerRestartPeriod: 300s
reservedMemory:
  - numaNode: 0
    limits:
      memory: 1Gi
enableProfilingHandler: false
enableDebugFlagsHandler: false
seccompDefault: true
memoryThrottlingFactor: 0.9
registerWithTaints:
  - key: dedicated
    value: infra
    effect: NoSchedule
registerNode: true
tracing:
  endpoint: localhost:4317
  samplingRatePerMillion: 100
localStorageCapacityIsolation: true
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failCgroupV1: true
userNamespaces:
  idsPerPod: 65536
"""

KUBEPROXY = """\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
featureGates: {}
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  acceptContentTypes: ""
  contentType: application/vnd.kubernetes.protobuf
  qps: 5
  burst: 10
logging:
  format: text
  flushFrequency: 0
  verbosity: 0
  options:
    text:
      infoBufferSize: "0"
hostnameOverride: ""
bindAddress: 0.0.0.0
healthzBindAddress: 0.0.0.0:10256
metricsBindAddress: 127.0.0.1:10249
bindAddressHardFail: false
enableProfiling: false
showHiddenMetricsForVersion: ""
mode: nftables
iptables:
  masqueradeBit: 14
  masqueradeAll: false
  localhostNodePorts: true
  syncPeriod: 30s
  minSyncPeriod: 1s
ipvs:
  syncPeriod: 30s
  minSyncPeriod: 0s
  scheduler: ""
  excludeCIDRs: []
  strictARP: false
  tcpTimeout: 0s
  tcpFinTimeout: 0s
  udpTimeout: 0s
nftables:
  masqueradeBit: 14
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 1s
winkernel:
  networkName: ""
  sourceVip: ""
  enableDSR: false
  rootHnsEndpointName: ""
  forwardHealthCheckVip: false
detectLocalMode: ClusterCIDR
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
clusterCIDR: 10.244.0.0/16
nodePortAddresses:
  - primary
oomScoreAdj: -999
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpEstablishedTimeout: 24h0m0s
  tcpCloseWaitTimeout: 1h0m0s
  tcpBeLiberal: false
  udpTimeout: 0s
  udpStreamTimeout: 0s
configSyncPeriod: 15m0s
portRange: ""
"""

EXAMPLES = {
    "InitConfiguration": INIT,
    "ClusterConfiguration": CLUSTER,
    "JoinConfiguration": JOIN,
    "ResetConfiguration": RESET,
    "UpgradeConfiguration": UPGRADE,
    "KubeletConfiguration": KUBELET,
    "KubeProxyConfiguration": KUBEPROXY,
}
ALL_DOCS = [INIT, CLUSTER, LOCAL_ETCD, JOIN, FILE_JOIN, RESET, UPGRADE, KUBELET, KUBEPROXY]


def load(text):
    return yaml.safe_load(text)


def reference_validator(doc):
    path = schema.schema_file(doc["apiVersion"], doc["kind"])
    with open(path, encoding="utf-8") as handle:
        return jsonschema.Draft202012Validator(json.load(handle))


def sim_errors(doc):
    return schema.load_validator(doc["apiVersion"], doc["kind"]).errors(doc)


def invalid(text):
    with pytest.raises(ValidationError) as info:
        config.parse_config(text)
    return info.value.message


# --- the schema files ----------------------------------------------------------------------------


def test_schema_files_are_what_the_generator_writes():
    files = {
        path.name: path.read_text(encoding="utf-8") for path in (SIM / "schemas").glob("*.json")
    }
    assert files == schemagen.render(), (
        "run: cd tests/kubeadm_sim && python3 -m kubeadmsim.schemagen"
    )


@pytest.mark.parametrize("path", sorted((SIM / "schemas").glob("*.json")), ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12_and_closed(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "checked against Kubernetes v1.35" in document["$comment"]
    assert "types.go" in document["$comment"]

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, f"{where} is open"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(document, path.name)
    schema.Validator(document)  # every keyword used is one the simulator implements


def test_every_upstream_kind_has_a_schema():
    assert set(schema.known_kinds()) == {
        ("kubeadm.k8s.io/v1beta4", "InitConfiguration"),
        ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration"),
        ("kubeadm.k8s.io/v1beta4", "JoinConfiguration"),
        ("kubeadm.k8s.io/v1beta4", "ResetConfiguration"),
        ("kubeadm.k8s.io/v1beta4", "UpgradeConfiguration"),
        ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
        ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"),
    }


def test_v1beta4_facts():
    cluster = json.loads(
        (SIM / "schemas/kubeadm.k8s.io_v1beta4_ClusterConfiguration.json").read_text()
    )
    init = json.loads((SIM / "schemas/kubeadm.k8s.io_v1beta4_InitConfiguration.json").read_text())
    join = json.loads((SIM / "schemas/kubeadm.k8s.io_v1beta4_JoinConfiguration.json").read_text())
    defs = cluster["$defs"]
    assert defs["ArgList"]["type"] == "array" and defs["ArgList"]["items"] == {
        "$ref": "#/$defs/Arg"
    }
    assert defs["Arg"]["required"] == ["name", "value"]
    assert set(defs["ExternalEtcd"]["properties"]) == {
        "endpoints",
        "httpEndpoints",
        "caFile",
        "certFile",
        "keyFile",
    }
    assert cluster["properties"]["encryptionAlgorithm"]["enum"] == [
        "RSA-2048",
        "RSA-3072",
        "RSA-4096",
        "ECDSA-P256",
        "ECDSA-P384",
    ]
    for field in ("certificateValidityPeriod", "caCertificateValidityPeriod"):
        assert cluster["properties"][field] == {"$ref": "#/$defs/Duration"}
    assert set(init["$defs"]["NodeRegistrationOptions"]["properties"]) == {
        "name",
        "criSocket",
        "taints",
        "kubeletExtraArgs",
        "ignorePreflightErrors",
        "imagePullPolicy",
        "imagePullSerial",
    }
    assert "timeouts" in init["properties"] and "timeouts" in join["properties"]
    assert set(join["$defs"]["Discovery"]["properties"]) == {
        "bootstrapToken",
        "file",
        "tlsBootstrapToken",
    }
    assert set(join["$defs"]["BootstrapTokenDiscovery"]["properties"]) == {
        "token",
        "apiServerEndpoint",
        "caCertHashes",
        "unsafeSkipCAVerification",
    }
    assert set(join["$defs"]["JoinControlPlane"]["properties"]) == {
        "localAPIEndpoint",
        "certificateKey",
    }


def test_kubelet_schema_has_the_v1_35_fields():
    kubelet = json.loads(
        (SIM / "schemas/kubelet.config.k8s.io_v1beta1_KubeletConfiguration.json").read_text()
    )
    fields = set(kubelet["properties"]) - {"apiVersion", "kind"}
    assert len(fields) == 123
    for name in (
        "cgroupDriver",
        "failSwapOn",
        "memorySwap",
        "containerRuntimeEndpoint",
        "imageServiceEndpoint",
        "failCgroupV1",
        "crashLoopBackOff",
        "imagePullCredentialsVerificationPolicy",
        "preloadedImagesVerificationAllowlist",
        "mergeDefaultEvictionSettings",
        "singleProcessOOMKill",
        "userNamespaces",
        "podLogsDir",
        "containerLogMaxWorkers",
        "enableSystemLogQuery",
    ):
        assert name in fields
    assert kubelet["$defs"]["MemorySwapConfiguration"]["properties"]["swapBehavior"]["enum"] == [
        "",
        "NoSwap",
        "LimitedSwap",
    ]


# --- good documents -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ALL_DOCS, ids=lambda t: load(t)["kind"] + ":" + str(len(t)))
def test_full_examples_pass_both_validators(text):
    doc = load(text)
    assert sim_errors(doc) == []
    assert list(reference_validator(doc).iter_errors(doc)) == []
    docs = config.parse_config(text)
    assert docs.kinds() == [doc["kind"]]


def test_a_multi_document_init_file_passes():
    text = "---\n".join([INIT, CLUSTER, KUBELET, KUBEPROXY])
    docs = config.parse_config(text)
    assert docs.kinds() == [
        "InitConfiguration",
        "ClusterConfiguration",
        "KubeletConfiguration",
        "KubeProxyConfiguration",
    ]


def test_minimal_documents_pass():
    for kind, version in (
        ("ClusterConfiguration", "kubeadm.k8s.io/v1beta4"),
        ("KubeletConfiguration", "kubelet.config.k8s.io/v1beta1"),
        ("KubeProxyConfiguration", "kubeproxy.config.k8s.io/v1alpha1"),
    ):
        config.parse_config(f"apiVersion: {version}\nkind: {kind}\n")


# --- bad documents: the message names the field ---------------------------------------------------


def mutations(doc):
    """(description, mutated document) pairs: an unknown field in every object, every scalar
    given the wrong type."""

    def walk(node, path):
        if isinstance(node, dict):
            yield path, node
            for key, value in node.items():
                yield from walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, [*path, index])

    def at(target, path):
        for step in path:
            target = target[step]
        return target

    for path, node in list(walk(doc, [])):
        if not isinstance(node, dict):
            continue
        mutated = copy.deepcopy(doc)
        at(mutated, path)["notAField"] = 1
        yield f"unknown field at {path}", mutated, ".".join(str(p) for p in [*path, "notAField"])
        for key, value in node.items():
            if key in ("apiVersion", "kind") or isinstance(value, (dict, list)):
                continue
            mutated = copy.deepcopy(doc)
            at(mutated, path)[key] = {"wrong": "type"}
            yield f"object for {[*path, key]}", mutated, None


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_validators_agree_on_every_mutation(kind):
    doc = load(EXAMPLES[kind])
    reference = reference_validator(doc)
    refused = 0
    cases = list(mutations(doc))
    for description, mutated, _ in cases:
        ours = sim_errors(mutated)
        theirs = list(reference.iter_errors(mutated))
        assert bool(ours) == bool(theirs), description
        refused += bool(ours)
    # Only maps of quantities accept an extra key holding a number.
    assert refused >= len(cases) - 1


def test_unknown_fields_are_refused_with_their_path():
    message = invalid(
        INIT.replace("  imagePullSerial: true\n", "  imagePullSerial: true\n  colour: red\n")
    )
    assert (
        "InitConfiguration nodeRegistration.colour: strict decoding error: unknown field "
        '"nodeRegistration.colour"' in message
    )
    message = invalid(KUBELET + "cgroupDriverr: systemd\n")
    assert 'unknown field "cgroupDriverr"' in message
    message = invalid(CLUSTER.replace("    keyFile:", "    keyfile: /x\n    keyFile:"))
    assert "etcd.external.keyfile" in message
    message = invalid(KUBEPROXY + "metadata:\n  name: x\n")
    assert 'unknown field "metadata"' in message


def test_wrong_types_are_refused_with_their_path():
    message = invalid(INIT.replace("bindPort: 6443", 'bindPort: "6443"'))
    assert "InitConfiguration localAPIEndpoint.bindPort: expected integer, got string" in message
    message = invalid(KUBELET.replace("failSwapOn: false", 'failSwapOn: "false"'))
    assert "KubeletConfiguration failSwapOn: expected boolean, got string" in message
    message = invalid(
        INIT.replace('    - name: v\n      value: "5"', "    - name: v\n      value: 5")
    )
    assert "nodeRegistration.kubeletExtraArgs[0].value: expected string, got integer" in message
    message = invalid(
        CLUSTER.replace("certificateValidityPeriod: 8760h0m0s", "certificateValidityPeriod: 365d")
    )
    assert 'ClusterConfiguration certificateValidityPeriod: invalid value "365d"' in message
    message = invalid(KUBELET.replace("port: 10250", "port: 70000"))
    assert "KubeletConfiguration port: 70000 is greater than the maximum 65535" in message


def test_null_values_are_refused():
    message = invalid(
        INIT.replace(
            '  taints:\n    - key: "kubeadmNode"\n      value: "someValue"\n      effect: '
            '"NoSchedule"\n',
            "  taints:\n",
        )
    )
    assert "nodeRegistration.taints: expected array, got null" in message
    assert "give the value, or leave the key out" in message


def test_enums():
    message = invalid(INIT.replace('effect: "NoSchedule"', 'effect: "Sometimes"'))
    assert 'nodeRegistration.taints[0].effect: unsupported value "Sometimes"' in message
    message = invalid(
        CLUSTER.replace("encryptionAlgorithm: ECDSA-P256", "encryptionAlgorithm: ECDSA")
    )
    assert '"ECDSA-P384"' in message
    message = invalid(KUBELET.replace("cgroupDriver: systemd", "cgroupDriver: Systemd"))
    assert (
        'cgroupDriver: unsupported value "Systemd": supported values: "cgroupfs", "systemd"'
        in message
    )
    message = invalid(KUBELET.replace("swapBehavior: LimitedSwap", "swapBehavior: UnlimitedSwap"))
    assert "memorySwap.swapBehavior" in message


def test_extra_args_in_map_form_are_refused():
    text = CLUSTER.replace(
        "  extraArgs:\n    - name: authorization-mode\n      value: Node,RBAC\n"
        "    - name: audit-log-path\n      value: /var/log/kubernetes/audit.log\n",
        "  extraArgs:\n    authorization-mode: Node,RBAC\n",
    )
    message = invalid(text)
    assert "ClusterConfiguration apiServer.extraArgs: expected array, got object" in message
    assert "list of {name, value}" in message
    text = INIT.replace(
        '  kubeletExtraArgs:\n    - name: v\n      value: "5"', '  kubeletExtraArgs:\n    v: "5"'
    )
    assert "nodeRegistration.kubeletExtraArgs: expected array, got object" in invalid(text)


def test_v1beta3_and_older_are_refused():
    message = invalid(INIT.replace("kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3"))
    assert message.startswith(
        'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3" (kind: '
        '"InitConfiguration"). Please use kubeadm v1.35 instead'
    )
    assert "v1.22" in invalid("apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n")
    message = invalid("apiVersion: kubeadm.k8s.io/v1\nkind: ClusterConfiguration\n")
    assert 'experimental API spec: "kubeadm.k8s.io/v1"' in message
    with pytest.raises(ValidationError, match="unknown configuration document"):
        # Allowed, but the placeholder v1 API has no schema here.
        config.parse_config(
            "apiVersion: kubeadm.k8s.io/v1\nkind: ClusterConfiguration\n", allow_experimental=True
        )


def test_unknown_and_duplicate_documents():
    message = invalid("apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n")
    assert (
        "unknown configuration document GroupVersionKind kubelet.config.k8s.io/v1, "
        "Kind=KubeletConfiguration" in message
    )
    message = invalid(CLUSTER + "---\n" + CLUSTER)
    assert "is specified twice in YAML file" in message
    message = invalid("kind: ClusterConfiguration\n")
    assert "kind and apiVersion is mandatory information that must be specified" in message
    message = invalid(CLUSTER + "clusterName: again\n")
    assert 'key "clusterName" already set in map' in message


def test_mutually_exclusive_choices():
    both = CLUSTER.replace("etcd:\n", "etcd:\n  local:\n    dataDir: /var/lib/etcd\n", 1)
    assert (
        "etcd: must not set all of local, external together (etcd.local and etcd.external are "
        "mutually exclusive)" in invalid(both)
    )
    both = FILE_JOIN.replace(
        "  file:",
        "  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: "
        "true\n    apiServerEndpoint: a:6443\n  file:",
    )
    assert "discovery.bootstrapToken and discovery.file are mutually exclusive" in invalid(both)


def test_semantic_checks_kubeadm_makes():
    assert (
        'localAPIEndpoint.advertiseAddress: Invalid value: "node1": must be a valid IP address'
        in invalid(INIT.replace('advertiseAddress: "10.100.0.1"', "advertiseAddress: node1"))
    )
    assert "networking.podSubnet: Invalid value" in invalid(
        CLUSTER.replace('podSubnet: "10.244.0.0/24"', "podSubnet: 10.244.0.0/33")
    )
    assert "the URL must be using the HTTPS scheme" in invalid(
        CLUSTER.replace("https://10.100.0.2:2379", "http://10.100.0.2:2379")
    )
    no_pins = JOIN.replace(
        "    caCertHashes:\n      - "
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
        "",
    )
    assert "using token-based discovery without caCertHashes can be unsafe" in invalid(no_pins)
    assert "APIServerEndpoint is not set" in invalid(
        JOIN.replace("    apiServerEndpoint: k8s-api.example.com:6443\n", "")
    )
    assert "bootstrapToken or file must be set" in invalid(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery: {}\n"
    )
    assert "discovery: required field is missing" in invalid(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"
    )
    assert "give the flag name without leading dashes" in invalid(
        CLUSTER.replace("    - name: authorization-mode", "    - name: --authorization-mode")
    )
    assert "labels like 'stable' need" in invalid(
        CLUSTER.replace('kubernetesVersion: "v1.35.0"', "kubernetesVersion: stable")
    )
    assert "imageGCLowThresholdPercent" in invalid(
        KUBELET.replace("imageGCLowThresholdPercent: 80", "imageGCLowThresholdPercent: 90")
    )
    assert "maxParallelImagePulls" in invalid(
        KUBELET.replace("serializeImagePulls: false", "serializeImagePulls: true")
    )
    assert "lowercase RFC 1123" in invalid(JOIN.replace("  name: cp2", "  name: CP2"))


def test_token_and_hash_formats():
    assert "bootstrapTokens[0].token" in invalid(
        INIT.replace("9a08jv.c0izixklcxtmnze7", "9A08JV.c0izixklcxtmnze7")
    )
    assert "caCertHashes[0]" in invalid(JOIN.replace("sha256:e3b0", "md5:e3b0"))
    assert "certificateKey" in invalid(
        INIT.replace('certificateKey: "e6a2', 'certificateKey: "z6a2')
    )


def test_durations_parse_like_go():
    assert config.parse_duration("8760h0m0s") == 8760 * 3600
    assert config.parse_duration("1h30m") == 5400
    assert config.parse_duration("1.5s") == 1.5
    assert config.parse_duration("0") == 0
    for bad in ("", "1d", "h", "1h 30m", "1.2.3s"):
        with pytest.raises(ValueError):
            config.parse_duration(bad)
    assert config.format_duration(86400) == "24h0m0s"
    warning = config.durations_warning(
        {"certificateValidityPeriod": "87601h", "caCertificateValidityPeriod": "87600h"}
    )
    assert "is more than the caCertificateValidityPeriod" in warning


def test_timestamps_stay_strings():
    text = INIT.replace('    ttl: "24h"\n', "    expires: 2026-12-01T00:00:00Z\n", 1)
    docs = config.parse_config(text)
    assert docs.get("InitConfiguration")["bootstrapTokens"][0]["expires"] == "2026-12-01T00:00:00Z"
