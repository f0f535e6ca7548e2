# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.etcd_start`` filter."""

from __future__ import annotations

from collections.abc import Mapping

DOCUMENTATION = r"""
name: etcd_start
short_description: Decide how each planned etcd member starts, from what the hosts hold
version_added: 0.1.0
description:
  - Used by the etcd role once every host with members has been inspected. A member whose data
    directory holds data starts from it. When no member has data from a finished start and no
    cluster answers, the members without data bootstrap a new cluster together; otherwise each
    member without data is added to the running cluster, one at a time, as a learner.
  - Fails, before any member starts, when the hosts run different etcd minor releases, or when
    a new cluster would have to form without the hosts of some of its members.
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
    description:
      - The output of C(etcdctl member list -w json) from the running cluster, as a dictionary.
      - None when no cluster answered or nobody asked.
    type: dict
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Decide how the members start
  ansible.builtin.set_fact:
    etcd_example_start: >-
      {{ etcd_cluster_plan | prodgrade.kubernetes.etcd_start(hostvars, ansible_play_hosts) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: How each member starts.
  type: dict
  contains:
    mode:
      description: C(bootstrap) when a new cluster forms, C(existing) when one exists.
      type: str
    states:
      description: Member name to the C(initial-cluster-state) its configuration gets now.
      type: dict
    with_data:
      description: The members whose data directory holds data.
      type: list
      elements: str
    bootstrap:
      description: The members that start as part of a new cluster.
      type: list
      elements: str
    join:
      description: The members to add to the running cluster, in plan order.
      type: list
      elements: str
    promote:
      description: The planned members the running cluster lists as learners.
      type: list
      elements: str
    not_inspected:
      description: The members whose hosts are not in the play.
      type: list
      elements: str
    releases:
      description: Inventory host to its installed etcd release.
      type: dict
    needs_membership:
      description: True when some member has no data, so the running cluster must be asked.
      type: bool
    query_host:
      description: The first inspected host with members, to ask the cluster from.
      type: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (  # noqa: E402
    EtcdStateError,
    parse_inspection,
    start_plan,
)


def etcd_start(plan, hostvars, play_hosts, membership=None):
    if not isinstance(plan, Mapping) or "members" not in plan:
        raise AnsibleFilterError(f"etcd_start takes the etcd plan, got {plan!r}")
    inspections = {}
    try:
        for host in play_hosts:
            found = (hostvars.get(host) or {}).get("__etcd_inspect") or {}
            if found.get("stdout_lines") is not None and not found.get("skipped"):
                inspections[host] = parse_inspection(found["stdout_lines"])
        return start_plan(plan, inspections, membership)
    except EtcdStateError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"etcd_start": etcd_start}
