# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.node_list`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: node_list
short_description: The name and address of each inventory host, as the preflight phase settled them
version_added: 0.1.0
description:
  - Turns a list of inventory host names into C({host, name, ip}) dictionaries, the shape the
    collection's modules take.
  - C(name) and C(ip) are the facts C(prodgrade_node_name) and C(prodgrade_node_ip) that the
    C(prodgrade.kubernetes.preflight) role sets on every host after checking them.
options:
  _input:
    description: Inventory host names, for example C(groups['control_plane']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Pass the control plane to a module
  ansible.builtin.debug:
    msg: "{{ groups['control_plane'] | prodgrade.kubernetes.node_list(hostvars) }}"
"""

RETURN = r"""
_value:
  description: One C({host, name, ip}) per input host, in input order, each host once.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402


def node_identity(host, hostvars):
    """``{host, name, ip}`` of one host from the facts preflight settled."""
    facts = hostvars.get(host) or {}
    name = facts.get("prodgrade_node_name")
    ip = facts.get("prodgrade_node_ip")
    if not name or not ip:
        raise AnsibleFilterError(
            f"{host} has no prodgrade_node_name/prodgrade_node_ip: run the "
            "prodgrade.kubernetes.preflight playbook first, in the same command "
            "(ansible-playbook -i INVENTORY prodgrade.kubernetes.preflight <playbook>)."
        )
    return {"host": host, "name": str(name), "ip": str(ip)}


def node_list(hosts, hostvars):
    nodes = []
    seen = set()
    for host in hosts:
        if host not in seen:
            seen.add(host)
            nodes.append(node_identity(host, hostvars))
    return nodes


class FilterModule:
    def filters(self):
        return {"node_list": node_list}
