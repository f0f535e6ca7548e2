# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.health_report`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: health_report
short_description: One node's health report from what the health role read on it
version_added: 0.1.0
description:
  - Used by the health role (C(prodgrade.kubernetes.doctor)). Turns the node's reads into
    sections C(cri), C(runc), C(kubelet), C(etcd) (hosts with members only) and C(certificates),
    each with its facts and findings, and the node's worst severity.
  - Every finding has a severity (C(ok), C(warning), C(critical)), a summary, what it means and
    what to do.
  - runc is judged with the same logic as the M(prodgrade.kubernetes.pipe_user_pages) module
    (only 1.0.0-rc93 has the C(runc init) pipe hang), together with C(fs.pipe-user-pages-soft)
    and C(fs.pipe-user-pages-hard).
  - The etcd member list is compared with the plan (names, peer and client URLs, learners).
options:
  _input:
    description: The inventory host name.
    type: str
    required: true
  node_name:
    description: The node's name (C(prodgrade_node_name)).
    type: str
  read:
    description:
      - The registered result of the role's node read, whose C(stdout) has lines C(key value)
        (C(soft), C(hard), C(time), C(kubelet_load), C(kubelet_active), C(runc_path)), then
        C(@@runc) and the output of C(runc --version).
    type: dict
    required: true
  cri:
    description: The registered result of M(prodgrade.kubernetes.cri_socket).
    type: dict
  certificates:
    description: The registered result of M(prodgrade.kubernetes.cert_expiry).
    type: dict
  kubelet:
    description: The kubelet's findings, from the C(prodgrade.kubernetes.kubelet_findings) filter.
    type: list
    elements: dict
  etcd:
    description:
      - The registered result of the etcdctl read; skipped or unset on hosts without members.
      - Its C(stdout) holds sections C(@@status RC), C(@@health RC) and C(@@members RC), each
        followed by the JSON of C(etcdctl endpoint status), C(endpoint health) and
        C(member list) (C(-w json)).
    type: dict
  plan:
    description: The etcd plan, C(etcd_cluster_plan).
    type: dict
  cert_warn_days:
    description: The warning window of the certificate check, for the report's text.
    type: int
    default: 30
  etcd_quota_bytes:
    description: etcd's backend quota; a database past 80% of it is a warning, 95% critical.
    type: int
    default: 2147483648
  generated_at:
    description: When the report was made, ISO 8601.
    type: str
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Build this node's report
  ansible.builtin.set_fact:
    example_report: >-
      {{ inventory_hostname | prodgrade.kubernetes.health_report(
           read=node_read, cri=cri_result, certificates=cert_result, kubelet=kubelet_result,
           etcd=etcd_read, plan=etcd_cluster_plan) }}
"""

RETURN = r"""
_value:
  description: The node's report.
  type: dict
  contains:
    host:
      description: The inventory host.
      type: str
    node_name:
      description: The node's name.
      type: str
    status:
      description: The worst severity of all findings.
      type: str
    counts:
      description: Findings per severity.
      type: dict
    sections:
      description: Per section its facts and C(findings).
      type: dict
    findings:
      description: Every finding, each with its C(section).
      type: list
      elements: dict
"""

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.health_report import (  # noqa: E402
    ETCD_QUOTA,
    build_report,
)


def health_report(
    host,
    read,
    node_name=None,
    cri=None,
    certificates=None,
    kubelet=None,
    etcd=None,
    plan=None,
    cert_warn_days=30,
    etcd_quota_bytes=ETCD_QUOTA,
    generated_at=None,
):
    return build_report(
        str(host),
        node_name=node_name,
        read_stdout=(read or {}).get("stdout", ""),
        cri=cri,
        certificates=certificates,
        kubelet=kubelet,
        etcd=etcd,
        plan=plan,
        cert_warn_days=int(cert_warn_days),
        etcd_quota_bytes=int(etcd_quota_bytes),
        generated_at=generated_at,
    )


class FilterModule:
    def filters(self):
        return {"health_report": health_report}
