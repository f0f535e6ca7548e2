#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki
short_description: Create and renew the cluster PKI and kubeconfigs in a store on the controller
version_added: 0.1.0
description:
  - Keeps every certificate, key and kubeconfig a kubeadm cluster needs in one store directory
    on the controller, and returns for each inventory host the list of files it must receive.
    Copying them to the hosts is a separate step.
  - Run it on the controller, once per play (C(delegate_to=localhost), C(run_once=true)).
  - The store mirrors kubeadm's C(/etc/kubernetes/pki) and C(/etc/kubernetes). Files shared by
    several hosts sit at the top (C(ca.crt), C(etcd/ca.crt), C(sa.key),
    C(apiserver-kubelet-client.crt), C(admin.conf), ...). Files of one host sit under
    C(hosts/<inventory host>/) (C(apiserver.crt), C(etcd/server.crt), C(etcd/peer.crt),
    C(kubelet.conf), C(controller-manager.conf), C(scheduler.conf)).
  - Three CAs, each created only when absent and never replaced. C(ca.crt) (CN
    C(kubernetes-ca)), C(etcd/ca.crt) (CN C(etcd-ca)) and C(front-proxy-ca.crt) (CN
    C(kubernetes-front-proxy-ca)), with CA:TRUE, path length 0, valid O(ca_validity_days).
  - The service-account key pair C(sa.key) and C(sa.pub), created only when absent.
  - Leaf certificates. C(apiserver) (one per control-plane host), C(apiserver-kubelet-client),
    C(apiserver-etcd-client), C(front-proxy-client), C(etcd/healthcheck-client), and
    C(etcd/server) and C(etcd/peer) (one per etcd host), with the subjects, extended key
    usages and SANs of the Kubernetes PKI requirements. They are valid O(cert_validity_days),
    never longer than their CA.
  - Kubeconfigs with the client certificate, key and CA embedded. C(admin.conf),
    C(super-admin.conf), C(controller-manager.conf) and C(scheduler.conf) per control-plane
    host (pointing at that host's own API server), and C(kubelet.conf) per node.
  - Extra server certificates (O(servers)), for example the air-gapped bundle server's
    registry, signed by the cluster CA and kept and renewed like the others, in
    C(servers/<name>.crt) and C(servers/<name>.key).
  - Every input is checked, and every existing CA in the store, before any file is written. A
    problem fails the task with a message saying what is wrong and how to fix it, and the
    store is left as it was.
  - A leaf is kept when its files parse, its key matches, it is signed by the current CA, its
    subject, SANs, extended key usage and key algorithm are the wanted ones and it does not
    expire within O(renew_before_days). Otherwise it is issued again with a new key, and
    RV(certificates) says why. A second run with the same input writes nothing.
  - Files are written atomically, keys and kubeconfigs with mode C(0600), certificates and
    C(sa.pub) with C(0644), directories with C(0700).
options:
  store:
    description:
      - The directory on the controller that holds the PKI. Created with mode C(0700) when
        missing; an existing one gets mode C(0700).
      - It holds every private key of the cluster. Keep it out of version control, or
        encrypt the CA keys with O(ca_key_passphrase) and back it up.
    type: path
    required: true
  cluster_name:
    description:
      - The cluster name written into the kubeconfigs. Contexts are named
        C(<user>@<cluster_name>).
      - Letters, digits, C(.), C(_) and C(-), starting and ending with a letter or digit.
    type: str
    default: kubernetes
  dns_domain:
    description:
      - The cluster DNS domain. The API server certificates carry
        C(kubernetes.default.svc.<dns_domain>).
    type: str
    default: cluster.local
  service_cidr:
    description:
      - The service network. The first address of each CIDR (V(10.96.0.1) for V(10.96.0.0/12))
        is the address of the C(kubernetes) service and goes into the API server certificates.
      - For dual stack give one IPv4 and one IPv6 CIDR separated by a comma, for example
        V(10.96.0.0/12,fd00:10:96::/112).
    type: str
    default: 10.96.0.0/12
  api_endpoint:
    description:
      - The address clients use to reach the API servers (a load balancer, a VIP or a single
        control-plane host). It is the server of C(admin.conf), C(super-admin.conf) and every
        C(kubelet.conf) (but see O(control_plane_kubelet_local)), and a SAN of the API server
        certificates.
      - One of C(host), C(host:port), C([IPv6]:port) or a bare IPv6 address. The host is a DNS
        name or an IP address. The port defaults to V(6443).
      - Required unless O(servers_only=true).
    type: str
  apiserver_bind_port:
    description:
      - The port each API server listens on. C(controller-manager.conf) and C(scheduler.conf)
        of a control-plane host point at C(https://<its ip>:<apiserver_bind_port>).
    type: int
    default: 6443
  control_plane_kubelet_local:
    description:
      - Point the C(kubelet.conf) of each control-plane host at its own API server,
        C(https://<its ip>:<apiserver_bind_port>), as kubeadm's C(ControlPlaneKubeletLocalMode)
        does; V(false) points it at O(api_endpoint) like the workers'.
    type: bool
    default: true
  extra_sans:
    description:
      - More DNS names or IP addresses for every API server certificate.
      - A DNS name may start with a single C(*.) wildcard label.
    type: list
    elements: str
    default: []
  control_plane:
    description:
      - The control-plane hosts, at least one. The first one is the only host that receives
        C(super-admin.conf).
      - Required unless O(servers_only=true), when it is ignored.
    type: list
    elements: dict
    suboptions:
      host:
        description: The inventory name; the key of RV(host_files) and the store directory.
        type: str
        required: true
      name:
        description: The node name (lower case, RFC 1123).
        type: str
        required: true
      ip:
        description: The address the API server advertises on this host.
        type: str
        required: true
      extra_names:
        description: More DNS names or IP addresses for this host's API server certificate.
        type: list
        elements: str
        default: []
  etcd:
    description:
      - The etcd members. Each gets its own C(etcd/server.crt) and C(etcd/peer.crt), with
        SANs for its node name, its ip, C(localhost), V(127.0.0.1) and V(::1).
      - A host may be in O(etcd) without being in O(nodes) (an etcd-only host needs no
        kubelet).
      - The etcd CA and the API server's etcd client certificate are made even when this is
        empty.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The inventory name.
        type: str
        required: true
      name:
        description: The node name; also the common name of its etcd certificates.
        type: str
        required: true
      ip:
        description: The address etcd listens on for clients and peers.
        type: str
        required: true
      extra_names:
        description:
          - Ignored here; accepted so that one host entry can be passed to every list.
        type: list
        elements: str
        default: []
  nodes:
    description:
      - Every host that runs a kubelet, control-plane hosts included. Each gets its own
        C(kubelet.conf) for C(system:node:<name>).
      - A host listed in several of O(control_plane), O(etcd) and O(nodes) must have the same
        name and ip in each; names and ips must be unique across hosts.
      - Required unless O(servers_only=true), when it is ignored.
    type: list
    elements: dict
    suboptions:
      host:
        description: The inventory name.
        type: str
        required: true
      name:
        description: The node name the kubelet registers (lower case, RFC 1123).
        type: str
        required: true
      ip:
        description: The node's address.
        type: str
        required: true
      extra_names:
        description:
          - Ignored here; accepted so that one host entry can be passed to every list.
        type: list
        elements: str
        default: []
  servers:
    description:
      - Extra TLS servers that cluster nodes must trust through the cluster CA, such as the
        bundle server's registry. Each gets C(servers/<name>.crt) and C(servers/<name>.key)
        in the store, signed by the cluster CA (C(ca.crt)), with extended key usage
        C(serverAuth), subject C(CN=<name>) and the SANs given.
      - They are judged like every other leaf (missing, SANs changed, signed by another CA,
        expiring within O(renew_before_days)) and reported in RV(certificates) as
        C(server@<name>). They are not part of RV(host_files); RV(server_files) says where
        they are.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The certificate's name, usually the inventory host; letters, digits, C(.), C(_)
            and C(-).
        type: str
        required: true
      sans:
        description: The DNS names and IP addresses clients use to reach the server (at least one).
        type: list
        elements: str
        default: []
  servers_only:
    description:
      - Create (when missing) the cluster CA and handle only the O(servers) certificates. The
        etcd and front-proxy CAs, the service-account keys, the cluster's leaves and
        kubeconfigs are neither checked nor written, and O(control_plane), O(nodes) and
        O(api_endpoint) are not needed.
      - For hosts that must trust the cluster CA before the cluster exists (the bundle server
        of an air-gapped site). A later full run keeps the CA and these certificates.
    type: bool
    default: false
  host_files_only:
    description:
      - Return only RV(host_files) and RV(distribute_ca_keys), computed from the inputs; the
        store is neither read nor written. The C(pki_store_recover) playbook uses it to fetch
        each store file back from the hosts that hold it.
    type: bool
    default: false
  key_algorithm:
    description:
      - The algorithm of every key the module creates. V(ecdsa) is ECDSA on curve P-256.
      - Changing it issues every leaf certificate again with a new key. Existing CAs and the
        service-account key pair keep their keys.
    type: str
    choices: [ecdsa, rsa]
    default: ecdsa
  rsa_key_size:
    description: Size of RSA keys in bits, used with O(key_algorithm=rsa).
    type: int
    choices: [2048, 3072, 4096]
    default: 2048
  ca_validity_days:
    description:
      - Validity of a newly created CA, from V(1) to V(36500). Existing CAs are never renewed.
    type: int
    default: 3650
  cert_validity_days:
    description:
      - Validity of the leaf certificates, from V(1) to V(36500), cut off at the expiry of
        their CA.
    type: int
    default: 365
  renew_before_days:
    description:
      - A leaf certificate that expires within this many days is issued again, unless it
        already ends with its CA (issuing it again would not make it last longer).
      - A value of O(cert_validity_days) or more renews every leaf on every run, which is how
        to force a renewal (for example V(36500)).
      - A CA that expires within this many days, or within O(cert_validity_days) when that is
        shorter, gives a warning; the module never renews a CA.
      - From V(0) to V(36500).
    type: int
    default: 30
  external_ca:
    description:
      - The three CA certificates and keys (C(ca.crt), C(ca.key), C(etcd/ca.crt),
        C(etcd/ca.key), C(front-proxy-ca.crt), C(front-proxy-ca.key)) are put into the store
        by you. The module never creates or rewrites them and fails when one is missing.
      - The CA keys are then not distributed (RV(distribute_ca_keys=false)), so
        kube-controller-manager on the hosts cannot sign certificates.
    type: bool
    default: false
  ca_key_passphrase:
    description:
      - Keep the CA private keys in the store encrypted with this passphrase (PKCS#8, the best
        encryption the cryptography library offers).
      - New CA keys are written encrypted; existing unencrypted CA keys are rewritten encrypted
        (the CA certificates do not change). Without O(external_ca) only.
      - When the store's CA keys are encrypted this is required, and must be the passphrase
        they were encrypted with. To change it, re-encrypt the keys yourself.
      - The CA keys are then not distributed (RV(distribute_ca_keys=false)), since
        kube-controller-manager cannot read an encrypted key.
      - Leaf keys and C(sa.key) stay unencrypted; the components read them as files.
    type: str
  pki_dir:
    description: Where the certificates and keys go on the hosts; used only for RV(host_files).
    type: path
    default: /etc/kubernetes/pki
  kubeconfig_dir:
    description: Where the kubeconfigs go on the hosts; used only for RV(host_files).
    type: path
    default: /etc/kubernetes
  etcd_owner:
    description:
      - User and group that own the etcd files on etcd hosts; used only for RV(host_files).
    type: str
    default: etcd
attributes:
  check_mode:
    description:
      - Runs every check and returns the same report, with the validity planned for new
        certificates, but creates no key or certificate and writes nothing.
    support: full
  diff_mode:
    description: Not supported; RV(changed_files) lists the files that change.
    support: none
  platform:
    description: Runs on the controller; needs the Python library C(cryptography) there.
    platforms: posix
    support: full
requirements:
  - cryptography (on the controller, in the Python that runs the module)
notes:
  - With C(delegate_to=localhost), Ansible runs the module with the Python it discovers on the
    controller, which may not be the one that has C(cryptography). Set
    C(ansible_python_interpreter) for the task (for example to C({{ ansible_playbook_python }}))
    when needed.
  - Files of hosts that are no longer in the inventory stay in the store.
  - No key material is ever returned.
  - The service-account key pair is never rotated by the module; rotating it invalidates every
    service-account token.
seealso:
  - name: PKI certificates and requirements
    description: The certificates, subjects and SANs a Kubernetes cluster needs.
    link: https://kubernetes.io/docs/setup/best-practices/certificates/
  - name: Manual rotation of CA certificates
    description: How to replace a cluster CA that expires.
    link: https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
  - name: Certificate management with kubeadm
    description: The kubeconfigs and the external CA mode of kubeadm.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Create or renew the cluster PKI on the controller
  prodgrade.kubernetes.pki:
    store: "{{ playbook_dir }}/pki"
    api_endpoint: k8s-api.example.com:6443
    control_plane:
      - {host: cp1, name: cp1, ip: 192.0.2.11}
      - {host: cp2, name: cp2, ip: 192.0.2.12}
      - {host: cp3, name: cp3, ip: 192.0.2.13}
    etcd:
      - {host: cp1, name: cp1, ip: 192.0.2.11}
      - {host: cp2, name: cp2, ip: 192.0.2.12}
      - {host: cp3, name: cp3, ip: 192.0.2.13}
    nodes:
      - {host: cp1, name: cp1, ip: 192.0.2.11}
      - {host: cp2, name: cp2, ip: 192.0.2.12}
      - {host: cp3, name: cp3, ip: 192.0.2.13}
      - {host: worker1, name: worker1, ip: 192.0.2.21}
  delegate_to: localhost
  run_once: true
  register: pki

# group_vars/all.yml holds, for every host:
#   pki_entry: {host: "{{ inventory_hostname }}", name: "{{ node_name }}", ip: "{{ node_ip }}"}
- name: Dual stack, lists from the inventory, CA keys encrypted in the store
  prodgrade.kubernetes.pki:
    store: "{{ playbook_dir }}/pki"
    api_endpoint: "[2001:db8::10]:6443"
    service_cidr: 10.96.0.0/12,fd00:10:96::/112
    extra_sans: [k8s.example.com, "*.k8s.example.com"]
    ca_key_passphrase: "{{ vault_pki_ca_passphrase }}"
    control_plane: "{{ groups['control_plane'] | map('extract', hostvars, 'pki_entry') }}"
    etcd: "{{ groups['etcd'] | map('extract', hostvars, 'pki_entry') }}"
    nodes: >-
      {{ groups['control_plane'] | union(groups['workers'])
         | map('extract', hostvars, 'pki_entry') }}
  delegate_to: localhost
  run_once: true
  vars:
    # the Python that runs ansible-playbook, which has cryptography
    ansible_python_interpreter: "{{ ansible_playbook_python }}"

- name: Sign with your own CAs (copied into the store beforehand)
  prodgrade.kubernetes.pki:
    store: /srv/pki/prod
    external_ca: true
    api_endpoint: 10.0.0.100
    control_plane: [{host: cp1, name: cp1, ip: 10.0.0.11}]
    nodes: [{host: cp1, name: cp1, ip: 10.0.0.11}]
  delegate_to: localhost
  run_once: true

- name: Copy each host its files
  ansible.builtin.copy:
    src: "{{ item.src }}"
    dest: "{{ item.dest }}"
    mode: "{{ item.mode }}"
    owner: "{{ item.owner }}"
    group: "{{ item.group }}"
  loop: "{{ pki.host_files[inventory_hostname] | default([]) }}"
  no_log: true
  become: true
"""

RETURN = r"""
certificates:
  description:
    - One entry per CA, the service-account key pair (V(sa)), leaf certificate and
      kubeconfig, in a stable order. No key material.
    - In check mode, entries that would be issued show the planned subject, SANs and expiry.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description:
        - V(ca), V(etcd-ca), V(front-proxy-ca), V(sa), the name of a shared leaf
          (V(apiserver-kubelet-client), V(admin.conf), ...) or C(<name>@<inventory host>)
          for a per-host one (V(apiserver@cp1), V(etcd-server@cp2), V(etcd-peer@cp2),
          V(kubelet.conf@worker1)).
      type: str
      sample: apiserver@cp1
    file:
      description: The certificate or kubeconfig, relative to O(store).
      type: str
      sample: hosts/cp1/apiserver.crt
    action:
      description:
        - V(kept) (left as it was), V(issued) (created where there was none) or V(renewed)
          (issued again with a new key, replacing an existing one).
      type: str
      choices: [kept, issued, renewed]
      sample: renewed
    reason:
      description:
        - >-
          Why the entry was issued, renewed or rewritten, for example V(missing),
          V(SANs differ: +IP:192.0.2.14 -IP:192.0.2.13),
          V(expires on 2027-01-01T00:00:00Z) followed by the window in days,
          V(not signed by the current CA), V(subject differs: ...), V(key does not match) or
          V(key algorithm differs: ...); several are joined by C(; ).
        - For a kept entry, what was rewritten anyway (a kubeconfig whose server changed, a
          CA key re-encrypted, a file mode fixed).
        - V(null) when nothing was written for the entry.
      type: str
      sample: "SANs differ: +IP:192.0.2.14"
    subject:
      description: The certificate subject (RFC 4514); V(null) for V(sa).
      type: str
      sample: CN=kube-apiserver
    sans:
      description: The subject alternative names as C(DNS:name) or C(IP:address).
      type: list
      elements: str
      sample: ["DNS:kubernetes", "DNS:cp1", "IP:10.96.0.1", "IP:192.0.2.11"]
    not_after:
      description: End of validity, ISO 8601 UTC; V(null) for V(sa).
      type: str
      sample: "2027-06-01T12:00:00Z"
summary:
  description: How many RV(certificates) entries were issued, renewed and kept.
  returned: success
  type: dict
  sample: {issued: 0, renewed: 2, kept: 26}
changed_files:
  description: The files, relative to O(store), written (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [hosts/cp1/apiserver.crt, hosts/cp1/apiserver.key]
distribute_ca_keys:
  description:
    - Whether control-plane hosts receive C(ca.key). V(false) with O(external_ca) and with
      O(ca_key_passphrase). The etcd and front-proxy CA keys are never distributed.
  returned: success
  type: bool
  sample: true
host_files:
  description:
    - For each inventory host of O(control_plane), O(etcd) and O(nodes), the files it needs and
      nothing more, each destination once.
    - Every node gets C(ca.crt) and its own C(kubelet.conf). Control-plane hosts get the CA
      certificates, C(ca.key) (only when RV(distribute_ca_keys)), C(sa.key), C(sa.pub), their
      own C(apiserver.crt) and key, the API server's client certificates, C(admin.conf), their
      own C(controller-manager.conf) and C(scheduler.conf), and the first one
      C(super-admin.conf). etcd hosts get C(etcd/ca.crt), their own C(etcd/server) and
      C(etcd/peer) pairs and C(etcd/healthcheck-client), owned by O(etcd_owner).
  returned: success
  type: dict
  sample:
    worker1:
      - {src: /home/me/pki/ca.crt, dest: /etc/kubernetes/pki/ca.crt, mode: "0644",
         owner: root, group: root}
      - {src: /home/me/pki/hosts/worker1/kubelet.conf, dest: /etc/kubernetes/kubelet.conf,
         mode: "0600", owner: root, group: root}
server_files:
  description:
    - For each O(servers) entry, the absolute paths of its certificate and key in the store
      and of the CA certificate that signed it.
  returned: success
  type: dict
  sample:
    registry1: {cert: /home/me/pki/servers/registry1.crt, key: /home/me/pki/servers/registry1.key,
                ca: /home/me/pki/ca.crt}
store:
  description: The absolute path of the store.
  returned: success
  type: str
  sample: /home/me/pki
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki import (  # noqa: E402
    CRYPTOGRAPHY_IMPORT_ERROR,
    DEFAULTS,
    HAS_CRYPTOGRAPHY,
    KEY_ALGORITHMS,
    RSA_KEY_SIZES,
    PKIError,
    converge,
)


def _hosts_option():
    return dict(
        host=dict(type="str", required=True),
        name=dict(type="str", required=True),
        ip=dict(type="str", required=True),
        extra_names=dict(type="list", elements="str", default=[]),
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            cluster_name=dict(type="str", default=DEFAULTS["cluster_name"]),
            dns_domain=dict(type="str", default=DEFAULTS["dns_domain"]),
            service_cidr=dict(type="str", default=DEFAULTS["service_cidr"]),
            api_endpoint=dict(type="str"),
            apiserver_bind_port=dict(type="int", default=DEFAULTS["apiserver_bind_port"]),
            extra_sans=dict(type="list", elements="str", default=[]),
            control_plane=dict(type="list", elements="dict", options=_hosts_option()),
            etcd=dict(type="list", elements="dict", default=[], options=_hosts_option()),
            nodes=dict(type="list", elements="dict", options=_hosts_option()),
            servers=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    sans=dict(type="list", elements="str", default=[]),
                ),
            ),
            servers_only=dict(type="bool", default=False),
            host_files_only=dict(type="bool", default=False),
            key_algorithm=dict(
                type="str", choices=list(KEY_ALGORITHMS), default=DEFAULTS["key_algorithm"]
            ),
            rsa_key_size=dict(
                type="int", choices=list(RSA_KEY_SIZES), default=DEFAULTS["rsa_key_size"]
            ),
            ca_validity_days=dict(type="int", default=DEFAULTS["ca_validity_days"]),
            cert_validity_days=dict(type="int", default=DEFAULTS["cert_validity_days"]),
            renew_before_days=dict(type="int", default=DEFAULTS["renew_before_days"]),
            external_ca=dict(type="bool", default=False),
            ca_key_passphrase=dict(type="str", no_log=True),
            pki_dir=dict(type="path", default=DEFAULTS["pki_dir"]),
            kubeconfig_dir=dict(type="path", default=DEFAULTS["kubeconfig_dir"]),
            etcd_owner=dict(type="str", default=DEFAULTS["etcd_owner"]),
            control_plane_kubelet_local=dict(
                type="bool", default=DEFAULTS["control_plane_kubelet_local"]
            ),
        ),
        required_if=[
            ("servers_only", False, ("api_endpoint", "control_plane", "nodes")),
        ],
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(
            msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR
        )
    try:
        result = converge(module.params, check_mode=module.check_mode)
    except PKIError as exc:
        module.fail_json(msg=to_native(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
