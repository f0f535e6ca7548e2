"""The source of ``tests/kubeadm_sim/schemas/*.json``: every configuration kind kubeadm reads,
field by field from the upstream Go types, written as JSON Schema (draft 2020-12).

Run ``python3 -m kubeadmsim.schemagen`` from ``tests/kubeadm_sim`` to rewrite the JSON files; a
unit test fails when they differ from what this file produces, so the two never drift.

Conventions, all taken from how the Go types decode (``sigs.k8s.io/yaml`` into ``encoding/json``
with strict field checking, as ``kubeadm config validate`` does):

- every struct is closed (``additionalProperties: false``): an unknown field is an error;
- ``int32``/``int64``/``uint32`` are integers with the Go type's bounds, ``float`` a number,
  ``bool`` a boolean (a quoted ``"true"`` is a string and is refused, as Go refuses it);
- ``metav1.Duration`` is a string ``time.ParseDuration`` accepts (``8760h0m0s``, ``24h``, ``90s``);
- ``metav1.Time`` is an RFC 3339 timestamp; a ``resource.Quantity`` a quantity string or a number;
- enums are listed only where upstream declares the constants and validates against them;
- ``null`` is refused everywhere: Go would read it as "unset", which in a template is a bug.

Upstream sources (see ``SOURCES``); the version each schema was checked against is in its
``$comment``.
"""

from __future__ import annotations

import json
import os
import sys

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas")
HINT = "x-kubeadm-sim-hint"

KUBEADM_TYPES = (
    "kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go and "
    "cmd/kubeadm/app/apis/bootstraptoken/v1/types.go (as published in the kubeadm Configuration "
    "(v1beta4) reference, https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/, "
    "whose change list runs to v1.35: etcd.external.httpEndpoints (v1.35), ECDSA-P384 (v1.34), "
    "UpgradeConfiguration.plan.etcdUpgrade (v1.33)); core/v1 Taint, EnvVar and HostPathType from "
    "k8s.io/api."
)
SOURCES = {
    "kubeadm": KUBEADM_TYPES,
    "kubelet": (
        "kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go as published in "
        "Kubelet Configuration (v1beta1), "
        "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/ (v1.35 edition: "
        "links to the v1.35 API); LoggingConfiguration from k8s.io/component-base/logs/api/v1, "
        "TracingConfiguration from k8s.io/component-base/tracing/api/v1."
    ),
    "kubeproxy": (
        "kubernetes/kubernetes staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go (with the "
        "nftables section and nftables.tableName), cross-checked with kube-proxy Configuration "
        "(v1alpha1), https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/; "
        "ClientConnectionConfiguration from k8s.io/component-base/config/v1alpha1."
    ),
}

# --- building blocks ----------------------------------------------------------------------------

STRING = {"type": "string"}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}
INT = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
INT64 = INT
UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
PORT = {"type": "integer", "minimum": 0, "maximum": 65535}
PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
BIT = {"type": "integer", "minimum": 0, "maximum": 31}
OOM_SCORE = {"type": "integer", "minimum": -1000, "maximum": 1000}


def ref(name):
    return {"$ref": f"#/$defs/{name}"}


DURATION = ref("Duration")
TIME = ref("Time")
QUANTITY = ref("Quantity")


def strings(**extra):
    return {"type": "array", "items": dict(STRING, **extra)}


def array(items):
    return {"type": "array", "items": items}


def string_map(values=None):
    return {"type": "object", "additionalProperties": values or STRING}


def enum(*values, **extra):
    return dict({"type": "string", "enum": list(values)}, **extra)


def struct(properties, required=(), description=None, **extra):
    schema = {"type": "object"}
    if description:
        schema["description"] = description
    schema["additionalProperties"] = False
    schema["properties"] = properties
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


# Go's time.ParseDuration: "0", or signed runs of <decimal><unit>.
DURATION_PATTERN = r"^(0|[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$"
# RFC 3339 as metav1.Time accepts it.
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
# resource.Quantity: sign, decimal, then a binary or decimal suffix or an exponent.
QUANTITY_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
BOOTSTRAP_TOKEN_PATTERN = r"^[a-z0-9]{6}\.[a-z0-9]{16}$"

COMMON_DEFS = {
    "Duration": {
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "metav1.Duration: a Go duration string such as 8760h0m0s, 24h or 90s.",
    },
    "Time": {
        "type": "string",
        "pattern": TIME_PATTERN,
        "description": "metav1.Time: an RFC 3339 timestamp.",
    },
    "Quantity": {
        "type": ["string", "number"],
        "pattern": QUANTITY_PATTERN,
        "description": "resource.Quantity: 100Mi, 1.5, 500m, 2Gi ...",
    },
    "Taint": struct(
        {
            "key": STRING,
            "value": STRING,
            "effect": enum("NoSchedule", "PreferNoSchedule", "NoExecute"),
            "timeAdded": TIME,
        },
        required=("key", "effect"),
        description="core/v1 Taint.",
    ),
}

# --- kubeadm.k8s.io/v1beta4 ---------------------------------------------------------------------

IMAGE_PULL_POLICY = enum("Always", "IfNotPresent", "Never")

KUBEADM_DEFS = {
    "Arg": struct(
        {"name": dict(STRING, minLength=1), "value": STRING},
        required=("name", "value"),
        description="One flag of an extraArgs list: the flag name without dashes, and its value.",
    ),
    "ArgList": {
        "type": "array",
        "items": ref("Arg"),
        HINT: (
            "kubeadm.k8s.io/v1beta4 takes extra arguments as a list of {name, value} "
            "(the name/value map is the removed v1beta3 form)"
        ),
    },
    "HostPathMount": struct(
        {
            "name": STRING,
            "hostPath": STRING,
            "mountPath": STRING,
            "readOnly": BOOL,
            "pathType": enum(
                "",
                "DirectoryOrCreate",
                "Directory",
                "FileOrCreate",
                "File",
                "Socket",
                "CharDevice",
                "BlockDevice",
            ),
        },
        required=("name", "hostPath", "mountPath"),
    ),
    "EnvVar": struct(
        {"name": dict(STRING, minLength=1), "value": STRING, "valueFrom": ref("EnvVarSource")},
        required=("name",),
        description="core/v1 EnvVar (inlined into kubeadm's EnvVar).",
    ),
    "EnvVarSource": struct(
        {
            "fieldRef": struct(
                {"apiVersion": STRING, "fieldPath": STRING}, required=("fieldPath",)
            ),
            "resourceFieldRef": struct(
                {"containerName": STRING, "resource": STRING, "divisor": QUANTITY},
                required=("resource",),
            ),
            "configMapKeyRef": struct(
                {"name": STRING, "key": STRING, "optional": BOOL}, required=("key",)
            ),
            "secretKeyRef": struct(
                {"name": STRING, "key": STRING, "optional": BOOL}, required=("key",)
            ),
            "fileKeyRef": struct(
                {"volumeName": STRING, "path": STRING, "key": STRING, "optional": BOOL},
                required=("volumeName", "path", "key"),
            ),
        }
    ),
    "ControlPlaneComponent": struct(
        {
            "extraArgs": ref("ArgList"),
            "extraVolumes": array(ref("HostPathMount")),
            "extraEnvs": array(ref("EnvVar")),
        }
    ),
    "APIServer": struct(
        {
            "extraArgs": ref("ArgList"),
            "extraVolumes": array(ref("HostPathMount")),
            "extraEnvs": array(ref("EnvVar")),
            "certSANs": strings(),
        },
        description="ControlPlaneComponent (inlined) plus certSANs.",
    ),
    "DNS": struct({"imageRepository": STRING, "imageTag": STRING, "disabled": BOOL}),
    "Proxy": struct({"disabled": BOOL}),
    "APIEndpoint": struct({"advertiseAddress": STRING, "bindPort": PORT}),
    "NodeRegistrationOptions": struct(
        {
            "name": STRING,
            "criSocket": STRING,
            "taints": array(ref("Taint")),
            "kubeletExtraArgs": ref("ArgList"),
            "ignorePreflightErrors": strings(),
            "imagePullPolicy": IMAGE_PULL_POLICY,
            "imagePullSerial": BOOL,
        }
    ),
    "Networking": struct({"serviceSubnet": STRING, "podSubnet": STRING, "dnsDomain": STRING}),
    "Etcd": struct(
        {"local": ref("LocalEtcd"), "external": ref("ExternalEtcd")},
        **{
            "not": {"required": ["local", "external"]},
            HINT: "etcd.local and etcd.external are mutually exclusive",
        },
    ),
    "LocalEtcd": struct(
        {
            "imageRepository": STRING,
            "imageTag": STRING,
            "dataDir": STRING,
            "extraArgs": ref("ArgList"),
            "extraEnvs": array(ref("EnvVar")),
            "serverCertSANs": strings(),
            "peerCertSANs": strings(),
        }
    ),
    "ExternalEtcd": struct(
        {
            "endpoints": dict(strings(), minItems=1),
            "httpEndpoints": strings(),
            "caFile": STRING,
            "certFile": STRING,
            "keyFile": STRING,
        },
        required=("endpoints",),
    ),
    "Patches": struct({"directory": STRING}),
    "Timeouts": struct(
        {
            "controlPlaneComponentHealthCheck": DURATION,
            "kubeletHealthCheck": DURATION,
            "kubernetesAPICall": DURATION,
            "etcdAPICall": DURATION,
            "tlsBootstrap": DURATION,
            "discovery": DURATION,
            "upgradeManifests": DURATION,
        }
    ),
    "BootstrapToken": struct(
        {
            "token": dict(STRING, pattern=BOOTSTRAP_TOKEN_PATTERN),
            "description": STRING,
            "ttl": DURATION,
            "expires": TIME,
            "usages": array(enum("signing", "authentication")),
            "groups": strings(pattern=r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$"),
        },
        required=("token",),
        description="bootstraptoken/v1 BootstrapToken.",
    ),
    "JoinControlPlane": struct(
        {
            "localAPIEndpoint": ref("APIEndpoint"),
            "certificateKey": dict(STRING, pattern=r"^[0-9a-fA-F]{64}$"),
        }
    ),
    "Discovery": struct(
        {
            "bootstrapToken": ref("BootstrapTokenDiscovery"),
            "file": ref("FileDiscovery"),
            "tlsBootstrapToken": dict(STRING, pattern=BOOTSTRAP_TOKEN_PATTERN),
        },
        **{
            "not": {"required": ["bootstrapToken", "file"]},
            HINT: "discovery.bootstrapToken and discovery.file are mutually exclusive",
        },
    ),
    "BootstrapTokenDiscovery": struct(
        {
            "token": dict(STRING, pattern=BOOTSTRAP_TOKEN_PATTERN),
            "apiServerEndpoint": STRING,
            "caCertHashes": strings(pattern=r"^sha256:[0-9a-fA-F]{64}$"),
            "unsafeSkipCAVerification": BOOL,
        },
        required=("token",),
    ),
    "FileDiscovery": struct(
        {"kubeConfigPath": dict(STRING, minLength=1)}, required=("kubeConfigPath",)
    ),
    "UpgradeApplyConfiguration": struct(
        {
            "kubernetesVersion": STRING,
            "allowExperimentalUpgrades": BOOL,
            "allowRCUpgrades": BOOL,
            "certificateRenewal": BOOL,
            "dryRun": BOOL,
            "etcdUpgrade": BOOL,
            "forceUpgrade": BOOL,
            "ignorePreflightErrors": strings(),
            "patches": ref("Patches"),
            "printConfig": BOOL,
            "skipPhases": strings(),
            "imagePullPolicy": IMAGE_PULL_POLICY,
            "imagePullSerial": BOOL,
        }
    ),
    "UpgradeDiffConfiguration": struct({"kubernetesVersion": STRING, "contextLines": INT}),
    "UpgradeNodeConfiguration": struct(
        {
            "certificateRenewal": BOOL,
            "dryRun": BOOL,
            "etcdUpgrade": BOOL,
            "ignorePreflightErrors": strings(),
            "skipPhases": strings(),
            "patches": ref("Patches"),
            "imagePullPolicy": IMAGE_PULL_POLICY,
            "imagePullSerial": BOOL,
        }
    ),
    "UpgradePlanConfiguration": struct(
        {
            "kubernetesVersion": STRING,
            "allowExperimentalUpgrades": BOOL,
            "allowRCUpgrades": BOOL,
            "dryRun": BOOL,
            "etcdUpgrade": BOOL,
            "ignorePreflightErrors": strings(),
            "printConfig": BOOL,
        }
    ),
}

KUBEADM_KINDS = {
    "InitConfiguration": {
        "bootstrapTokens": array(ref("BootstrapToken")),
        "dryRun": BOOL,
        "nodeRegistration": ref("NodeRegistrationOptions"),
        "localAPIEndpoint": ref("APIEndpoint"),
        "certificateKey": dict(STRING, pattern=r"^[0-9a-fA-F]{64}$"),
        "skipPhases": strings(),
        "patches": ref("Patches"),
        "timeouts": ref("Timeouts"),
    },
    "ClusterConfiguration": {
        "etcd": ref("Etcd"),
        "networking": ref("Networking"),
        "kubernetesVersion": STRING,
        "controlPlaneEndpoint": STRING,
        "apiServer": ref("APIServer"),
        "controllerManager": ref("ControlPlaneComponent"),
        "scheduler": ref("ControlPlaneComponent"),
        "dns": ref("DNS"),
        "proxy": ref("Proxy"),
        "certificatesDir": STRING,
        "imageRepository": STRING,
        "featureGates": string_map(BOOL),
        "clusterName": STRING,
        "encryptionAlgorithm": enum("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"),
        "certificateValidityPeriod": DURATION,
        "caCertificateValidityPeriod": DURATION,
    },
    "JoinConfiguration": {
        "dryRun": BOOL,
        "nodeRegistration": ref("NodeRegistrationOptions"),
        "caCertPath": STRING,
        "discovery": ref("Discovery"),
        "controlPlane": ref("JoinControlPlane"),
        "skipPhases": strings(),
        "patches": ref("Patches"),
        "timeouts": ref("Timeouts"),
    },
    "ResetConfiguration": {
        "cleanupTmpDir": BOOL,
        "certificatesDir": STRING,
        "criSocket": STRING,
        "dryRun": BOOL,
        "force": BOOL,
        "ignorePreflightErrors": strings(),
        "skipPhases": strings(),
        "unmountFlags": array(enum("MNT_FORCE", "MNT_DETACH", "MNT_EXPIRE", "UMOUNT_NOFOLLOW")),
        "timeouts": ref("Timeouts"),
    },
    "UpgradeConfiguration": {
        "apply": ref("UpgradeApplyConfiguration"),
        "diff": ref("UpgradeDiffConfiguration"),
        "node": ref("UpgradeNodeConfiguration"),
        "plan": ref("UpgradePlanConfiguration"),
        "timeouts": ref("Timeouts"),
    },
}
KUBEADM_REQUIRED = {"JoinConfiguration": ("discovery",)}

# --- kubelet.config.k8s.io/v1beta1 --------------------------------------------------------------

LOGGING_DEFS = {
    "LoggingConfiguration": struct(
        {
            "format": enum("text", "json"),
            "flushFrequency": {
                "type": ["string", "integer"],
                "pattern": DURATION_PATTERN,
                "description": "A duration string, or an integer number of nanoseconds.",
            },
            "verbosity": UINT32,
            "vmodule": array(
                struct(
                    {"filePattern": STRING, "verbosity": UINT32},
                    required=("filePattern", "verbosity"),
                )
            ),
            "options": struct(
                {"text": ref("OutputRoutingOptions"), "json": ref("OutputRoutingOptions")}
            ),
        },
        description="k8s.io/component-base/logs/api/v1 LoggingConfiguration.",
    ),
    "OutputRoutingOptions": struct(
        {"splitStream": BOOL, "infoBufferSize": QUANTITY},
        description="TextOptions / JSONOptions (OutputRoutingOptions inlined).",
    ),
}

KUBELET_DEFS = {
    "KubeletAuthentication": struct(
        {
            "x509": struct({"clientCAFile": STRING}),
            "webhook": struct({"enabled": BOOL, "cacheTTL": DURATION}),
            "anonymous": struct({"enabled": BOOL}),
        }
    ),
    "KubeletAuthorization": struct(
        {
            "mode": enum("AlwaysAllow", "Webhook"),
            "webhook": struct({"cacheAuthorizedTTL": DURATION, "cacheUnauthorizedTTL": DURATION}),
        }
    ),
    "MemorySwapConfiguration": struct({"swapBehavior": enum("", "NoSwap", "LimitedSwap")}),
    "CrashLoopBackOffConfig": struct({"maxContainerRestartPeriod": DURATION}),
    "MemoryReservation": struct(
        {"numaNode": INT32, "limits": string_map(QUANTITY)}, required=("numaNode", "limits")
    ),
    "ShutdownGracePeriodByPodPriority": struct(
        {"priority": INT32, "shutdownGracePeriodSeconds": INT64},
        required=("priority", "shutdownGracePeriodSeconds"),
    ),
    "UserNamespaces": struct({"idsPerPod": INT64}),
    "TracingConfiguration": struct(
        {"endpoint": STRING, "samplingRatePerMillion": INT32},
        description="k8s.io/component-base/tracing/api/v1 TracingConfiguration.",
    ),
    **LOGGING_DEFS,
}

KUBELET_FIELDS = {
    "enableServer": BOOL,
    "staticPodPath": STRING,
    "podLogsDir": STRING,
    "syncFrequency": DURATION,
    "fileCheckFrequency": DURATION,
    "httpCheckFrequency": DURATION,
    "staticPodURL": STRING,
    "staticPodURLHeader": string_map(strings()),
    "address": STRING,
    "port": PORT,
    "readOnlyPort": PORT,
    "tlsCertFile": STRING,
    "tlsPrivateKeyFile": STRING,
    "tlsCipherSuites": strings(),
    "tlsMinVersion": enum("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"),
    "rotateCertificates": BOOL,
    "serverTLSBootstrap": BOOL,
    "authentication": ref("KubeletAuthentication"),
    "authorization": ref("KubeletAuthorization"),
    "registryPullQPS": INT32,
    "registryBurst": INT32,
    "imagePullCredentialsVerificationPolicy": enum(
        "NeverVerify", "NeverVerifyPreloadedImages", "NeverVerifyAllowlistedImages", "AlwaysVerify"
    ),
    "preloadedImagesVerificationAllowlist": strings(),
    "eventRecordQPS": INT32,
    "eventBurst": INT32,
    "enableDebuggingHandlers": BOOL,
    "enableContentionProfiling": BOOL,
    "healthzPort": PORT,
    "healthzBindAddress": STRING,
    "oomScoreAdj": OOM_SCORE,
    "clusterDomain": STRING,
    "clusterDNS": strings(),
    "streamingConnectionIdleTimeout": DURATION,
    "nodeStatusUpdateFrequency": DURATION,
    "nodeStatusReportFrequency": DURATION,
    "nodeLeaseDurationSeconds": INT32,
    "imageMinimumGCAge": DURATION,
    "imageMaximumGCAge": DURATION,
    "imageGCHighThresholdPercent": PERCENT,
    "imageGCLowThresholdPercent": PERCENT,
    "volumeStatsAggPeriod": DURATION,
    "kubeletCgroups": STRING,
    "systemCgroups": STRING,
    "cgroupRoot": STRING,
    "cgroupsPerQOS": BOOL,
    "cgroupDriver": enum("cgroupfs", "systemd"),
    "cpuManagerPolicy": STRING,
    "singleProcessOOMKill": BOOL,
    "cpuManagerPolicyOptions": string_map(),
    "cpuManagerReconcilePeriod": DURATION,
    "memoryManagerPolicy": enum("None", "Static"),
    "topologyManagerPolicy": enum("restricted", "best-effort", "none", "single-numa-node"),
    "topologyManagerScope": enum("container", "pod"),
    "topologyManagerPolicyOptions": string_map(),
    "qosReserved": string_map(),
    "runtimeRequestTimeout": DURATION,
    "hairpinMode": enum("promiscuous-bridge", "hairpin-veth", "none"),
    "maxPods": INT32,
    "podCIDR": STRING,
    "podPidsLimit": INT64,
    "resolvConf": STRING,
    "runOnce": BOOL,
    "cpuCFSQuota": BOOL,
    "cpuCFSQuotaPeriod": DURATION,
    "nodeStatusMaxImages": INT32,
    "maxOpenFiles": INT64,
    "contentType": STRING,
    "kubeAPIQPS": INT32,
    "kubeAPIBurst": INT32,
    "serializeImagePulls": BOOL,
    "maxParallelImagePulls": INT32,
    "evictionHard": string_map(),
    "evictionSoft": string_map(),
    "evictionSoftGracePeriod": string_map(),
    "evictionPressureTransitionPeriod": DURATION,
    "evictionMaxPodGracePeriod": INT32,
    "evictionMinimumReclaim": string_map(),
    "mergeDefaultEvictionSettings": BOOL,
    "podsPerCore": INT32,
    "enableControllerAttachDetach": BOOL,
    "protectKernelDefaults": BOOL,
    "makeIPTablesUtilChains": BOOL,
    "iptablesMasqueradeBit": BIT,
    "iptablesDropBit": BIT,
    "featureGates": string_map(BOOL),
    "failSwapOn": BOOL,
    "memorySwap": ref("MemorySwapConfiguration"),
    "containerLogMaxSize": STRING,
    "containerLogMaxFiles": INT32,
    "containerLogMaxWorkers": INT32,
    "containerLogMonitorInterval": DURATION,
    "configMapAndSecretChangeDetectionStrategy": enum("Get", "Cache", "Watch"),
    "systemReserved": string_map(),
    "kubeReserved": string_map(),
    "reservedSystemCPUs": STRING,
    "showHiddenMetricsForVersion": STRING,
    "systemReservedCgroup": STRING,
    "kubeReservedCgroup": STRING,
    "enforceNodeAllocatable": strings(),
    "allowedUnsafeSysctls": strings(),
    "volumePluginDir": STRING,
    "providerID": STRING,
    "kernelMemcgNotification": BOOL,
    "logging": ref("LoggingConfiguration"),
    "enableSystemLogHandler": BOOL,
    "enableSystemLogQuery": BOOL,
    "shutdownGracePeriod": DURATION,
    "shutdownGracePeriodCriticalPods": DURATION,
    "shutdownGracePeriodByPodPriority": array(ref("ShutdownGracePeriodByPodPriority")),
    "crashLoopBackOff": ref("CrashLoopBackOffConfig"),
    "reservedMemory": array(ref("MemoryReservation")),
    "enableProfilingHandler": BOOL,
    "enableDebugFlagsHandler": BOOL,
    "seccompDefault": BOOL,
    "memoryThrottlingFactor": NUMBER,
    "registerWithTaints": array(ref("Taint")),
    "registerNode": BOOL,
    "tracing": ref("TracingConfiguration"),
    "localStorageCapacityIsolation": BOOL,
    "containerRuntimeEndpoint": STRING,
    "imageServiceEndpoint": STRING,
    "failCgroupV1": BOOL,
    "userNamespaces": ref("UserNamespaces"),
}

# --- kubeproxy.config.k8s.io/v1alpha1 -----------------------------------------------------------

KUBEPROXY_DEFS = {
    "ClientConnectionConfiguration": struct(
        {
            "kubeconfig": STRING,
            "acceptContentTypes": STRING,
            "contentType": STRING,
            "qps": NUMBER,
            "burst": INT32,
        },
        description="k8s.io/component-base/config/v1alpha1 ClientConnectionConfiguration.",
    ),
    "KubeProxyIPTablesConfiguration": struct(
        {
            "masqueradeBit": BIT,
            "masqueradeAll": BOOL,
            "localhostNodePorts": BOOL,
            "syncPeriod": DURATION,
            "minSyncPeriod": DURATION,
        }
    ),
    "KubeProxyIPVSConfiguration": struct(
        {
            "syncPeriod": DURATION,
            "minSyncPeriod": DURATION,
            "scheduler": STRING,
            "excludeCIDRs": strings(),
            "strictARP": BOOL,
            "tcpTimeout": DURATION,
            "tcpFinTimeout": DURATION,
            "udpTimeout": DURATION,
        }
    ),
    "KubeProxyNFTablesConfiguration": struct(
        {
            "masqueradeBit": BIT,
            "masqueradeAll": BOOL,
            "syncPeriod": DURATION,
            "minSyncPeriod": DURATION,
            "tableName": STRING,
        }
    ),
    "KubeProxyConntrackConfiguration": struct(
        {
            "maxPerCore": INT32,
            "min": INT32,
            "tcpEstablishedTimeout": DURATION,
            "tcpCloseWaitTimeout": DURATION,
            "tcpBeLiberal": BOOL,
            "udpTimeout": DURATION,
            "udpStreamTimeout": DURATION,
        }
    ),
    "KubeProxyWinkernelConfiguration": struct(
        {
            "networkName": STRING,
            "sourceVip": STRING,
            "enableDSR": BOOL,
            "rootHnsEndpointName": STRING,
            "forwardHealthCheckVip": BOOL,
        }
    ),
    "DetectLocalConfiguration": struct({"bridgeInterface": STRING, "interfaceNamePrefix": STRING}),
    **LOGGING_DEFS,
}

KUBEPROXY_FIELDS = {
    "featureGates": string_map(BOOL),
    "clientConnection": ref("ClientConnectionConfiguration"),
    "logging": ref("LoggingConfiguration"),
    "hostnameOverride": STRING,
    "bindAddress": STRING,
    "healthzBindAddress": STRING,
    "metricsBindAddress": STRING,
    "bindAddressHardFail": BOOL,
    "enableProfiling": BOOL,
    "showHiddenMetricsForVersion": STRING,
    "serviceProxyName": STRING,
    "mode": enum("", "iptables", "ipvs", "nftables", "kernelspace"),
    "iptables": ref("KubeProxyIPTablesConfiguration"),
    "ipvs": ref("KubeProxyIPVSConfiguration"),
    "nftables": ref("KubeProxyNFTablesConfiguration"),
    "winkernel": ref("KubeProxyWinkernelConfiguration"),
    "detectLocalMode": enum(
        "", "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix"
    ),
    "detectLocal": ref("DetectLocalConfiguration"),
    "clusterCIDR": STRING,
    "nodePortAddresses": strings(),
    "oomScoreAdj": OOM_SCORE,
    "conntrack": ref("KubeProxyConntrackConfiguration"),
    "configSyncPeriod": DURATION,
    "portRange": STRING,
}

# --- assembly -------------------------------------------------------------------------------------

# (file name, apiVersion, kind, fields, defs, source key, checked-against version, required)
KINDS = [
    (
        f"kubeadm.k8s.io_v1beta4_{kind}.json",
        "kubeadm.k8s.io/v1beta4",
        kind,
        fields,
        KUBEADM_DEFS,
        "kubeadm",
        "v1.35",
        KUBEADM_REQUIRED.get(kind, ()),
    )
    for kind, fields in KUBEADM_KINDS.items()
] + [
    (
        "kubelet.config.k8s.io_v1beta1_KubeletConfiguration.json",
        "kubelet.config.k8s.io/v1beta1",
        "KubeletConfiguration",
        KUBELET_FIELDS,
        KUBELET_DEFS,
        "kubelet",
        "v1.35",
        (),
    ),
    (
        "kubeproxy.config.k8s.io_v1alpha1_KubeProxyConfiguration.json",
        "kubeproxy.config.k8s.io/v1alpha1",
        "KubeProxyConfiguration",
        KUBEPROXY_FIELDS,
        KUBEPROXY_DEFS,
        "kubeproxy",
        "v1.35",
        (),
    ),
]


def _refs(node, found):
    if isinstance(node, dict):
        target = node.get("$ref")
        if target:
            found.add(target.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def build(file_name, api_version, kind, fields, defs, source, version, required):
    """One kind's schema, carrying only the definitions it reaches."""
    properties = {
        "apiVersion": {"const": api_version},
        "kind": {"const": kind},
        **fields,
    }
    schema = {
        "$schema": DRAFT,
        "$id": f"https://prodgrade.invalid/kubeadm-sim/schemas/{file_name}",
        "$comment": (
            f"{api_version} {kind}, checked against Kubernetes {version}. Written from: "
            f"{SOURCES[source]} Generated by tests/kubeadm_sim/kubeadmsim/schemagen.py."
        ),
        "title": f"{api_version} {kind}",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", *required],
        "properties": properties,
    }
    available = dict(COMMON_DEFS, **defs)
    wanted = set()
    _refs(properties, wanted)
    while True:
        more = set(wanted)
        for name in wanted:
            _refs(available[name], more)
        if more == wanted:
            break
        wanted = more
    schema["$defs"] = {name: available[name] for name in sorted(wanted)}
    return schema


def render():
    """``{file name: JSON text}`` for every kind."""
    return {
        spec[0]: json.dumps(build(*spec), indent=2, ensure_ascii=False) + "\n" for spec in KINDS
    }


def main(argv=None):
    target = (argv or sys.argv[1:] or [SCHEMA_DIR])[0]
    os.makedirs(target, exist_ok=True)
    for name, text in render().items():
        with open(os.path.join(target, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
