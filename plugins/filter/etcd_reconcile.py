# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.etcd_reconcile`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_reconcile
short_description: Compare the running etcd cluster's membership with the plan, and order the steps
version_added: 0.2.0
description:
  - Used by the etcd role after every host with members was inspected and the running cluster
    was asked for its members and their health. Decides how each member starts (as the
    C(etcd_start) filter), which members to repair (an empty or crash-looping data directory, a
    member removed by hand, a join that did not finish), and the membership diff against the
    plan (members to add, remove or rename), ordered so that every step keeps quorum.
  - Returns a refusal instead of steps to run when the cluster lost quorum, when a membership
    change is not confirmed, or when a voter that is not being repaired does not answer.
options:
  _input:
    description: The etcd plan, C(etcd_cluster_plan), made by the etcd_plan filter.
    type: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable; each inspected host has C(__etcd_inspect).
    type: dict
    required: true
  play_hosts:
    description: The hosts of the play, usually C(ansible_play_hosts); others are not inspected.
    type: list
    elements: str
    required: true
  membership:
    description: C(etcdctl member list -w json) of the running cluster; None when none answered.
    type: dict
  health:
    description: C(etcdctl endpoint health --cluster -w json) of the running cluster.
    type: list
    elements: dict
  confirm:
    description: Whether a membership change may be carried out (C(etcd_reconfigure_confirm)).
    type: bool
    default: false
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Compare the cluster with the plan
  ansible.builtin.set_fact:
    etcd_example_changes: >-
      {{ etcd_cluster_plan | prodgrade.kubernetes.etcd_reconcile(hostvars, ansible_play_hosts,
                                                                 membership, health) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The start decision, the steps and the refusal.
  type: dict
  contains:
    start:
      description:
        - How each member starts (the C(etcd_start) filter's result), with the members the
          steps start left out of C(states) and listed in C(join).
      type: dict
    steps:
      description:
        - In order, each with C(kind) (C(finish), C(replace), C(rejoin), C(rename), C(add) or
          C(remove)), C(member), C(host), C(id), C(peer_url), C(old_name), C(reason), and the
          C(voters) and C(quorum) after it.
      type: list
      elements: dict
    repairs:
      description: The steps that restore the plan; they need no confirmation.
      type: list
      elements: dict
    diff:
      description: The steps that change the membership; they need C(etcd_reconfigure_confirm).
      type: list
      elements: dict
    refusal:
      description: Why nothing may be done, with the way out; null when the steps may run.
      type: str
    summary:
      description: The membership now and every step, as lines to print.
      type: str
    endpoints:
      description: The client URLs of the voting members that answer.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_membership import (  # noqa: E402
    adjust_start,
    reconcile,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (  # noqa: E402
    EtcdStateError,
    parse_inspection,
    start_plan,
)


def etcd_reconcile(plan, hostvars, play_hosts, membership=None, health=None, confirm=False):
    try:
        inspections = {}
        hosts_by_node = {}
        for host in play_hosts:
            values = hostvars.get(host) or {}
            if values.get("prodgrade_node_name"):
                hosts_by_node[str(values["prodgrade_node_name"])] = host
            found = values.get("__etcd_inspect") or {}
            if host in plan["hosts"] and "stdout_lines" in found:
                inspections[host] = parse_inspection(found["stdout_lines"])
        start = start_plan(plan, inspections, membership)
        result = reconcile(plan, inspections, membership, health, bool(confirm), hosts_by_node)
    except EtcdStateError as exc:
        raise AnsibleFilterError(str(exc)) from None
    result["start"] = adjust_start(start, result)
    return result


class FilterModule:
    def filters(self):
        return {"etcd_reconcile": etcd_reconcile}
