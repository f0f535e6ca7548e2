"""What kubeadm writes on a node, reduced to what a test can assert on: static Pod manifests with
the flags kubeadm derives from the configuration, the kubelet's config.yaml and kubeadm-flags.env,
and kubeconfig files.

Flags follow cmd/kubeadm/app/phases/controlplane/manifests.go; ``extraArgs`` override a default
flag of the same name, and repeated names are kept (the v1beta4 list form allows duplicates).
Nothing here is run: no kubelet reads these files in the test nodes.
"""

from __future__ import annotations

import base64
import ipaddress

DEFAULT_IMAGE_REPOSITORY = "registry.k8s.io"
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
DEFAULT_DNS_DOMAIN = "cluster.local"
DEFAULT_CERT_DIR = "/etc/kubernetes/pki"
DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
MANIFESTS_DIR = "/etc/kubernetes/manifests"
KUBELET_DIR = "/var/lib/kubelet"


def cluster_defaults(cluster):
    """The ClusterConfiguration values kubeadm defaults, without changing ``cluster``."""
    networking = cluster.get("networking") or {}
    return {
        "certificatesDir": cluster.get("certificatesDir") or DEFAULT_CERT_DIR,
        "imageRepository": cluster.get("imageRepository") or DEFAULT_IMAGE_REPOSITORY,
        "serviceSubnet": networking.get("serviceSubnet") or DEFAULT_SERVICE_SUBNET,
        "podSubnet": networking.get("podSubnet") or "",
        "dnsDomain": networking.get("dnsDomain") or DEFAULT_DNS_DOMAIN,
        "clusterName": cluster.get("clusterName") or "kubernetes",
    }


def service_ip(subnet, index):
    """The ``index``-th address of the first Service subnet (1: the API, 10: cluster DNS)."""
    network = ipaddress.ip_network(subnet.split(",")[0].strip(), strict=False)
    return str(network.network_address + index)


def merge_args(defaults, extra):
    """kubeadm's argument building: defaults by name, then every extraArgs entry in order, a
    name given in extraArgs replacing the default of that name."""
    extra = extra or []
    overridden = {arg["name"] for arg in extra}
    args = [f"--{name}={value}" for name, value in defaults if name not in overridden]
    args += [f"--{arg['name']}={arg['value']}" for arg in extra]
    return args


def _volumes(component, base):
    mounts = [{"name": name, "mountPath": path, "readOnly": True} for name, path in base]
    volumes = [
        {"name": name, "hostPath": {"path": path, "type": "DirectoryOrCreate"}}
        for name, path in base
    ]
    for extra in component.get("extraVolumes") or []:
        mounts.append(
            {
                "name": extra["name"],
                "mountPath": extra["mountPath"],
                "readOnly": bool(extra.get("readOnly")),
            }
        )
        host_path = {"path": extra["hostPath"]}
        if extra.get("pathType"):
            host_path["type"] = extra["pathType"]
        volumes.append({"name": extra["name"], "hostPath": host_path})
    return mounts, volumes


def static_pod(name, image, command, component, base_volumes, port, scheme="HTTPS", host=None):
    mounts, volumes = _volumes(component, base_volumes)
    probe = {
        "httpGet": {"path": "/livez", "port": port, "scheme": scheme},
        "initialDelaySeconds": 10,
        "timeoutSeconds": 15,
        "failureThreshold": 8,
    }
    if host:
        probe["httpGet"]["host"] = host
    container = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "livenessProbe": probe,
        "resources": {"requests": {"cpu": "250m" if name == "kube-apiserver" else "100m"}},
        "volumeMounts": mounts,
    }
    envs = component.get("extraEnvs") or []
    if envs:
        container["env"] = envs
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {"component": name, "tier": "control-plane"},
            "annotations": {"kubeadm-sim/generated": "true"},
        },
        "spec": {
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": volumes,
        },
    }


def control_plane_pods(cluster, version, advertise_address, bind_port):
    """``{file name: Pod}`` for kube-apiserver, kube-controller-manager, kube-scheduler and, with
    local etcd, etcd."""
    d = cluster_defaults(cluster)
    pki = d["certificatesDir"]
    repo = d["imageRepository"]
    etcd = cluster.get("etcd") or {}
    external = etcd.get("external")
    api = cluster.get("apiServer") or {}
    api_args = [
        ("advertise-address", advertise_address),
        ("allow-privileged", "true"),
        ("authorization-mode", "Node,RBAC"),
        ("client-ca-file", f"{pki}/ca.crt"),
        ("enable-admission-plugins", "NodeRestriction"),
        ("enable-bootstrap-token-auth", "true"),
    ]
    if external:
        if external.get("caFile"):
            api_args.append(("etcd-cafile", external["caFile"]))
        if external.get("certFile"):
            api_args.append(("etcd-certfile", external["certFile"]))
        if external.get("keyFile"):
            api_args.append(("etcd-keyfile", external["keyFile"]))
        api_args.append(("etcd-servers", ",".join(external["endpoints"])))
    else:
        api_args += [
            ("etcd-cafile", f"{pki}/etcd/ca.crt"),
            ("etcd-certfile", f"{pki}/apiserver-etcd-client.crt"),
            ("etcd-keyfile", f"{pki}/apiserver-etcd-client.key"),
            ("etcd-servers", "https://127.0.0.1:2379"),
        ]
    api_args += [
        ("kubelet-client-certificate", f"{pki}/apiserver-kubelet-client.crt"),
        ("kubelet-client-key", f"{pki}/apiserver-kubelet-client.key"),
        ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
        ("proxy-client-cert-file", f"{pki}/front-proxy-client.crt"),
        ("proxy-client-key-file", f"{pki}/front-proxy-client.key"),
        ("requestheader-allowed-names", "front-proxy-client"),
        ("requestheader-client-ca-file", f"{pki}/front-proxy-ca.crt"),
        ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        ("requestheader-group-headers", "X-Remote-Group"),
        ("requestheader-username-headers", "X-Remote-User"),
        ("secure-port", str(bind_port)),
        ("service-account-issuer", f"https://kubernetes.default.svc.{d['dnsDomain']}"),
        ("service-account-key-file", f"{pki}/sa.pub"),
        ("service-account-signing-key-file", f"{pki}/sa.key"),
        ("service-cluster-ip-range", d["serviceSubnet"]),
        ("tls-cert-file", f"{pki}/apiserver.crt"),
        ("tls-private-key-file", f"{pki}/apiserver.key"),
    ]
    certs = [("k8s-certs", pki), ("ca-certs", "/etc/ssl/certs")]
    pods = {
        "kube-apiserver.yaml": static_pod(
            "kube-apiserver",
            f"{repo}/kube-apiserver:{version}",
            ["kube-apiserver", *merge_args(api_args, api.get("extraArgs"))],
            api,
            certs,
            bind_port,
            host=advertise_address,
        )
    }
    cm = cluster.get("controllerManager") or {}
    cm_args = [
        ("authentication-kubeconfig", "/etc/kubernetes/controller-manager.conf"),
        ("authorization-kubeconfig", "/etc/kubernetes/controller-manager.conf"),
        ("bind-address", "127.0.0.1"),
        ("client-ca-file", f"{pki}/ca.crt"),
        ("cluster-name", d["clusterName"]),
        ("cluster-signing-cert-file", f"{pki}/ca.crt"),
        ("cluster-signing-key-file", f"{pki}/ca.key"),
        ("controllers", "*,bootstrapsigner,tokencleaner"),
        ("kubeconfig", "/etc/kubernetes/controller-manager.conf"),
        ("leader-elect", "true"),
        ("requestheader-client-ca-file", f"{pki}/front-proxy-ca.crt"),
        ("root-ca-file", f"{pki}/ca.crt"),
        ("service-account-private-key-file", f"{pki}/sa.key"),
        ("service-cluster-ip-range", d["serviceSubnet"]),
        ("use-service-account-credentials", "true"),
    ]
    if d["podSubnet"]:
        cm_args[:0] = [("allocate-node-cidrs", "true"), ("cluster-cidr", d["podSubnet"])]
    pods["kube-controller-manager.yaml"] = static_pod(
        "kube-controller-manager",
        f"{repo}/kube-controller-manager:{version}",
        ["kube-controller-manager", *merge_args(cm_args, cm.get("extraArgs"))],
        cm,
        [*certs, ("kubeconfig", "/etc/kubernetes/controller-manager.conf")],
        10257,
        host="127.0.0.1",
    )
    scheduler = cluster.get("scheduler") or {}
    scheduler_args = [
        ("authentication-kubeconfig", "/etc/kubernetes/scheduler.conf"),
        ("authorization-kubeconfig", "/etc/kubernetes/scheduler.conf"),
        ("bind-address", "127.0.0.1"),
        ("kubeconfig", "/etc/kubernetes/scheduler.conf"),
        ("leader-elect", "true"),
    ]
    pods["kube-scheduler.yaml"] = static_pod(
        "kube-scheduler",
        f"{repo}/kube-scheduler:{version}",
        ["kube-scheduler", *merge_args(scheduler_args, scheduler.get("extraArgs"))],
        scheduler,
        [("kubeconfig", "/etc/kubernetes/scheduler.conf")],
        10259,
        host="127.0.0.1",
    )
    if not external:
        local = etcd.get("local") or {}
        data_dir = local.get("dataDir") or "/var/lib/etcd"
        etcd_args = [
            ("advertise-client-urls", f"https://{advertise_address}:2379"),
            ("cert-file", f"{pki}/etcd/server.crt"),
            ("client-cert-auth", "true"),
            ("data-dir", data_dir),
            ("key-file", f"{pki}/etcd/server.key"),
            ("listen-client-urls", f"https://127.0.0.1:2379,https://{advertise_address}:2379"),
            ("peer-cert-file", f"{pki}/etcd/peer.crt"),
            ("peer-key-file", f"{pki}/etcd/peer.key"),
            ("trusted-ca-file", f"{pki}/etcd/ca.crt"),
        ]
        pods["etcd.yaml"] = static_pod(
            "etcd",
            f"{local.get('imageRepository') or repo}/etcd:{local.get('imageTag') or 'sim'}",
            ["etcd", *merge_args(etcd_args, local.get("extraArgs"))],
            local,
            [("etcd-data", data_dir), ("etcd-certs", f"{pki}/etcd")],
            2381,
            scheme="HTTP",
            host="127.0.0.1",
        )
    return pods


def kubelet_config(user, cluster):
    """/var/lib/kubelet/config.yaml: the KubeletConfiguration document with the values kubeadm
    fills in when they are not set (componentconfigs/kubelet.go Default)."""
    d = cluster_defaults(cluster)
    config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}
    config.update({k: v for k, v in (user or {}).items() if k not in ("apiVersion", "kind")})
    auth = config.setdefault("authentication", {})
    auth.setdefault("anonymous", {}).setdefault("enabled", False)
    auth.setdefault("webhook", {}).setdefault("enabled", True)
    auth.setdefault("x509", {}).setdefault("clientCAFile", f"{d['certificatesDir']}/ca.crt")
    authz = config.setdefault("authorization", {})
    authz.setdefault("mode", "Webhook")
    config.setdefault("cgroupDriver", "systemd")
    config.setdefault("clusterDNS", [service_ip(d["serviceSubnet"], 10)])
    config.setdefault("clusterDomain", d["dnsDomain"])
    config.setdefault("healthzBindAddress", "127.0.0.1")
    config.setdefault("healthzPort", 10248)
    config.setdefault("rotateCertificates", True)
    config.setdefault("staticPodPath", MANIFESTS_DIR)
    return config


def kubelet_flags(registration, hostname):
    """/var/lib/kubelet/kubeadm-flags.env for a node's NodeRegistrationOptions."""
    socket = registration.get("criSocket") or DEFAULT_CRI_SOCKET
    if "://" not in socket:
        socket = f"unix://{socket}"
    args = [("container-runtime-endpoint", socket)]
    name = registration.get("name")
    if name and name != hostname:
        args.append(("hostname-override", name))
    flags = merge_args(args, registration.get("kubeletExtraArgs"))
    return 'KUBELET_KUBEADM_ARGS="{}"\n'.format(" ".join(flags))


def kubeconfig(cluster_name, server, ca_pem, user, note):
    """A kubeconfig the simulator writes where kubeadm would make one. It carries the cluster CA
    and server, and no usable credentials (the simulator issues no certificates)."""
    ca_data = base64.b64encode(ca_pem.encode("ascii")).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"certificate-authority-data": ca_data, "server": server},
            }
        ],
        "contexts": [
            {"name": f"{user}@{cluster_name}", "context": {"cluster": cluster_name, "user": user}}
        ],
        "current-context": f"{user}@{cluster_name}",
        "preferences": {},
        "users": [{"name": user, "user": {"token": f"kubeadm-sim-{note}-no-credentials"}}],
    }
