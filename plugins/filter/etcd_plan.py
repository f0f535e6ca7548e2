# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.etcd_plan`` filter."""

from __future__ import annotations

import re
from collections.abc import Mapping

DOCUMENTATION = r"""
name: etcd_plan
short_description: How many etcd members, on which hosts, with names, ports, data dirs and reasons
version_added: 0.1.0
description:
  - Plans the etcd cluster from the inventory alone, before any host changes, following
    production guidance. An odd member count, 3 the minimum for production, 5 the best size,
    never more than 7.
  - 1 host gets one member, labelled lab-grade, or O(member_count) (3, 5, 7) members on that
    host, each on its own disk from C(etcd_data_dirs).
  - 2 hosts get three members (or O(member_count)), all on the more reliable host (on a tie, the
    first in the inventory). A 2+1 split gains nothing, because losing the host with two
    members loses quorum either way.
  - 3 or more hosts get one member per host, the largest odd count up to 5 by default,
    spread over failure domains first and the most reliable hosts first.
  - Several members on one host are named C(etcd-<node name>-<i>) and listen 100 ports apart
    (2379/2380, 2479/2480, ...); a host's only member is C(etcd-<node name>) on 2379/2380.
  - A request the rules refuse (an even count, more than 7, more members than hosts, too few
    data directories) or malformed input fails the task with a message that says what is
    wrong and how to fix it.
  - The input is either host dictionaries or inventory host names. Names are looked up in
    O(hostvars), which is the form playbooks use (see C(prodgrade.kubernetes.plan)).
  - For a host name, C(name) and C(ip) are the facts C(prodgrade_node_name) and
    C(prodgrade_node_ip) that the C(prodgrade.kubernetes.preflight) role sets, C(reliability)
    is C(etcd_reliability) (default 0), C(failure_domain) is C(failure_domain) (default the
    host itself) and C(data_dirs) is C(etcd_data_dirs) (default none).
  - A whole number written as a string (C(-e etcd_member_count=3), C(etcd_reliability="10"))
    is taken as that number.
options:
  _input:
    description:
      - The etcd hosts in inventory order.
      - Either inventory host names, for example C(groups['etcd']), together with
        O(hostvars).
      - Or dictionaries with the keys C(host) (inventory name), C(name) (node name), C(ip),
        and optionally C(reliability) (whole number, higher is more reliable, default 0),
        C(failure_domain) (default the host itself) and C(data_dirs) (absolute paths,
        default none).
    type: list
    elements: raw
    required: true
  hostvars:
    description:
      - The C(hostvars) magic variable. Required when O(_input) holds host names.
    type: dict
  member_count:
    description:
      - The number of etcd members, usually C(etcd_member_count). Odd, from 1 to 7.
      - Unset (null) sizes the cluster from the hosts, 1 for 1 host, 3 for 2 hosts, the
        largest odd count up to 5 for 3 or more hosts.
    type: int
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Print the etcd plan of the inventory (after prodgrade.kubernetes.preflight)
  ansible.builtin.debug:
    msg: >-
      {{ groups['etcd'] | default(groups['control_plane'], true)
         | prodgrade.kubernetes.etcd_plan(hostvars,
                                          member_count=etcd_member_count | default(none)) }}

- name: Plan from host dictionaries, for example in a role
  ansible.builtin.set_fact:
    etcd_example_plan: "{{ etcd_example_hosts | prodgrade.kubernetes.etcd_plan }}"
  vars:
    etcd_example_hosts:
      - {host: cp1, name: cp-1, ip: 192.0.2.1, reliability: 10}
      - {host: cp2, name: cp-2, ip: 192.0.2.2, data_dirs: [/srv/disk1/etcd]}
"""

RETURN = r"""
_value:
  description: The etcd plan.
  type: dict
  contains:
    members:
      description:
        - One entry per member, in inventory order of the hosts, then by member number.
        - Each has C(name), C(host), C(node_name), C(ip), C(client_port), C(peer_port),
          C(client_url), C(peer_url) (C(https://<ip>:<port>), an IPv6 address in brackets)
          and C(data_dir).
      type: list
      elements: dict
    member_count:
      description: The number of members, always odd, from 1 to 7.
      type: int
    quorum:
      description: The members that must agree for a write, a majority.
      type: int
    failure_tolerance:
      description: The members that may be lost while the cluster keeps quorum.
      type: int
    topology:
      description: How the members are placed.
      type: str
      choices: [single-member, one-host, two-hosts-one-side, spread]
    lab_grade:
      description: True for a single member, and for all members on the only host.
      type: bool
    hosts:
      description: The inventory hosts that run a member, sorted.
      type: list
      elements: str
    initial_cluster:
      description: The C(--initial-cluster) value, C(name=peer_url) pairs in member order.
      type: str
    reasons:
      description: One line for the count, one for the placement, one per special choice.
      type: list
      elements: str
    warnings:
      description: What the plan cannot protect against, one line each.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.filter.node_list import (  # noqa: E402
    node_identity,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.etcd_plan import (  # noqa: E402
    EtcdPlanError,
    plan_etcd,
)

_WHOLE_NUMBER_RE = re.compile(r"^\s*[-+]?\d+\s*$")


def _number(value):
    """A whole number written as a string becomes that number; anything else is unchanged."""
    if isinstance(value, str) and _WHOLE_NUMBER_RE.match(value):
        return int(value)
    return value


def _from_hostvars(host, hostvars):
    if hostvars is None:
        raise AnsibleFilterError(
            f"etcd_plan got the host name {host!r} without hostvars: pass them, as in "
            "groups['etcd'] | prodgrade.kubernetes.etcd_plan(hostvars)."
        )
    facts = hostvars.get(host) or {}
    return {
        **node_identity(host, hostvars),
        "reliability": facts.get("etcd_reliability"),
        "failure_domain": facts.get("failure_domain"),
        "data_dirs": facts.get("etcd_data_dirs"),
    }


def etcd_plan(hosts, hostvars=None, member_count=None):
    if isinstance(hosts, (str, Mapping)) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError(
            f"etcd_plan takes a list of etcd hosts (host names or dictionaries), got {hosts!r}."
        )
    entries = []
    for host in hosts:
        entry = _from_hostvars(host, hostvars) if isinstance(host, str) else host
        if isinstance(entry, Mapping) and "reliability" in entry:
            entry = {**entry, "reliability": _number(entry["reliability"])}
        entries.append(entry)
    try:
        return plan_etcd(entries, member_count=_number(member_count))
    except EtcdPlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"etcd_plan": etcd_plan}
