# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.offline_missing`` filter."""

from __future__ import annotations

import os

DOCUMENTATION = r"""
name: offline_missing
short_description: What an offline (air-gapped) installation needs that its bundle lacks
version_added: 0.1.0
description:
  - Reads C(manifest.json) of the bundle directory on the controller (never from the network)
    and checks that it is a bundle of a format this collection reads.
  - Plans what the phases will install on each host from the inventory alone. Every host of the
    runtime phase (C(control_plane), C(workers), C(etcd)) needs the runtime package of its
    C(runtime_engine) (C(runtime_containerd_package), C(runtime_crio_package)) for its Debian
    suite (C(ansible_distribution_release)) and architecture. Every Kubernetes node needs
    C(runtime_sandbox_image). The hosts of etcd members need C(etcd_package) and
    C(etcd_client_package). By C(loadbalancer_mode), the nodes need
    C(loadbalancer_haproxy_package) (every node with C(local), the control plane with C(vip)) and
    the control plane C(loadbalancer_keepalived_package) (C(vip)).
  - With O(kubeadm), also kubeadm, kubelet and kubectl of C(kubernetes_version) as binaries
    (install method C(bundle) only), kube-proxy on every node, kube-apiserver,
    kube-controller-manager and kube-scheduler on the control plane (from
    C(kubeadm_image_repository)), CoreDNS (C(<repository>/coredns/coredns), any tag), the
    C(kube-flannel) manifest file at the path the kubeadm role reads, and every image that
    manifest names.
  - Variables not set for a host take the defaults of the roles that read them.
  - A Debian package is found by name, suite and architecture (or C(all)); a binary by name,
    version and architecture; an image by registry and repository, tag or digest, and
    architecture. An image named by the bundle's registry itself (O(registry)) is found by its
    repository path.
  - Problems with the inputs (unset or malformed O(url) or O(registry), a missing bundle
    directory, C(manifest.json) missing, unreadable, not JSON or of an unknown format, no
    signing key in C(keys/), hosts that are not apt hosts or run Docker Engine, images on a
    registry outside C(registry_trust_offline_upstreams) and O(registry)) are returned
    in RV(_value.problems), not raised, so that one task can report them all.
options:
  _input:
    description: The bundle directory on the controller, usually C(offline_bundle_dir).
    type: path
    required: true
  groups:
    description: The C(groups) magic variable.
    type: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable, with facts gathered.
    type: dict
    required: true
  url:
    description: The bundle server's URL, usually C(offline_bundle_url).
    type: str
  registry:
    description: The bundle's registry, C(host[:port]), usually C(offline_registry).
    type: str
  etcd_hosts:
    description:
      - The hosts that run etcd members, from the etcd planner.
      - Default the C(etcd) group, or C(control_plane) without one.
    type: list
    elements: str
  kubeadm:
    description: Include what the kubeadm phase installs.
    type: bool
    default: false
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Refuse a bundle that lacks something this inventory needs
  ansible.builtin.assert:
    that:
      - offline_check.problems | length == 0
      - offline_check.missing | length == 0
    fail_msg: "{{ (offline_check.problems + [offline_check.message]) | join('\n') }}"
  vars:
    offline_check: >-
      {{ offline_bundle_dir | prodgrade.kubernetes.offline_missing(
           groups, hostvars, url=offline_bundle_url, registry=offline_registry) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    problems:
      description: What is wrong with the inputs or the bundle itself, one sentence each.
      type: list
      elements: str
    needs:
      description:
        - Every artifact the inventory needs, with C(kind) (C(deb), C(binary), C(image)),
          C(name), C(version), C(suite), C(arch), C(hosts) and C(why) (the variable asking for it).
      type: list
      elements: dict
    missing:
      description: The needs the bundle lacks, in the same form.
      type: list
      elements: dict
    message:
      description:
        - Every missing artifact with the hosts that need it, and how to fix the bundle.
        - Empty when nothing is missing.
      type: str
    manifest:
      description:
        - C(format), C(kubernetes_version), C(created), C(suites) and C(architectures) of the
          bundle.
      type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.offline_plan import (  # noqa: E402
    DEFAULTS,
    OfflinePlanError,
    find_missing,
    host_problems,
    image_problems,
    input_problems,
    missing_message,
    plan_needs,
    read_manifest,
)

_KEYRING = os.path.join("keys", "archive-keyring.gpg")


def offline_missing(
    bundle_dir, groups, hostvars, url=None, registry=None, etcd_hosts=None, kubeadm=False
):
    if not hasattr(groups, "get") or not hasattr(hostvars, "get"):
        raise AnsibleFilterError("offline_missing takes the groups and hostvars magic variables.")
    result = {"problems": [], "needs": [], "missing": [], "message": "", "manifest": {}}
    result["problems"] = input_problems(bundle_dir, url, registry)
    hosts = []
    for name in ("control_plane", "workers", "etcd"):
        hosts += [h for h in groups.get(name) or [] if h not in hosts]
    result["problems"] += host_problems(hostvars, hosts)
    manifest = None
    if bundle_dir:
        try:
            manifest = read_manifest(bundle_dir)
        except OfflinePlanError as exc:
            result["problems"].append(str(exc))
    if manifest is not None:
        result["manifest"] = {
            key: manifest.get(key)
            for key in ("format", "kubernetes_version", "created", "suites", "architectures")
        }
        keyring = os.path.join(str(bundle_dir), _KEYRING)
        if not os.path.isfile(keyring):
            result["problems"].append(
                f"{keyring} is missing: the bundle's public signing key, which every host is "
                "given to check the package repository. Rebuild the bundle."
            )
    try:
        needs = plan_needs(groups, hostvars, etcd_hosts=etcd_hosts, kubeadm=bool(kubeadm))
    except OfflinePlanError as exc:
        result["problems"].append(str(exc))
        return result
    result["needs"] = needs
    upstreams = None
    for host in hosts:
        values = hostvars.get(host) or {}
        upstreams = values.get("registry_trust_offline_upstreams")
        if upstreams is not None:
            break
    if upstreams is None:
        upstreams = DEFAULTS["registry_trust_offline_upstreams"]
    result["problems"] += image_problems(needs, upstreams, registry)
    if manifest is not None:
        result["missing"] = find_missing(manifest, needs, offline_registry=registry)
        result["message"] = missing_message(manifest, result["missing"], bundle_dir)
    return result


class FilterModule:
    def filters(self):
        return {"offline_missing": offline_missing}
