# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.etcd_join`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_join
short_description: How one etcd member joins a running cluster, from its member list
version_added: 0.1.0
description:
  - Tells whether the running cluster already lists the member (by its peer URL), its ID in the
    hexadecimal form etcdctl takes, whether it is a learner, and the C(initial-cluster) value
    the joining member must start with, which etcd requires to be exactly the membership.
  - A member listed without a name has been added but never started; it is named from the plan
    by its peer URL. One the plan does not know fails with the command that removes it.
options:
  _input:
    description: The joining member, an entry of C(etcd_cluster_plan.members).
    type: dict
    required: true
  membership:
    description:
      - The output of C(etcdctl member list -w json) or C(member add -w json), as a dictionary.
    type: dict
    required: true
  plan:
    description: The etcd plan, C(etcd_cluster_plan).
    type: dict
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: How the member joins
  ansible.builtin.set_fact:
    etcd_example_join: >-
      {{ etcd_example_member | prodgrade.kubernetes.etcd_join(etcd_example_list.stdout | from_json,
                                                              etcd_cluster_plan) }}
"""

RETURN = r"""
_value:
  description: How the member joins.
  type: dict
  contains:
    present:
      description: The cluster lists the member's peer URL already.
      type: bool
    member_id:
      description: Its member ID in hexadecimal, or None when it is not listed.
      type: str
    is_learner:
      description: The cluster lists it as a learner.
      type: bool
    initial_cluster:
      description: The C(initial-cluster) value for its first start, C(name=peer_url) pairs.
      type: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_state import (  # noqa: E402
    EtcdStateError,
    join_settings,
)


def etcd_join(member, membership, plan):
    try:
        return join_settings(member, membership, plan)
    except EtcdStateError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"etcd_join": etcd_join}
