# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.cidr_overlaps`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cidr_overlaps
short_description: Pairs of overlapping networks between two comma-separated CIDR lists
version_added: 0.1.0
description:
  - Parses both inputs as comma-separated CIDRs (one, or two of different families for dual
    stack, as Kubernetes takes them) and returns each overlapping pair as C("a / b").
  - An invalid CIDR (including one with host bits set) fails with its value in the message.
options:
  _input:
    description: The first list, for example the pod subnet.
    type: str
    required: true
  other:
    description: The second list, for example the Service subnet.
    type: str
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Refuse overlapping pod and Service subnets
  ansible.builtin.assert:
    that: pods | prodgrade.kubernetes.cidr_overlaps(services) | length == 0
  vars:
    pods: 10.244.0.0/16
    services: 10.96.0.0/12
"""

RETURN = r"""
_value:
  description: One C("a / b") per overlapping pair; empty when none overlap.
  type: list
  elements: str
"""

import ipaddress  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402


def _networks(text):
    networks = []
    for raw in str(text).split(","):
        item = raw.strip()
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise AnsibleFilterError(f"cidr_overlaps: {item!r} is not a CIDR: {exc}") from None
    return networks


def cidr_overlaps(first, other):
    return [
        f"{a} / {b}"
        for a in _networks(first)
        for b in _networks(other)
        if a.version == b.version and a.overlaps(b)
    ]


class FilterModule:
    def filters(self):
        return {"cidr_overlaps": cidr_overlaps}
