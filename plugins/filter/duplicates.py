# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.duplicates`` filter."""

from __future__ import annotations

from collections import Counter

DOCUMENTATION = r"""
name: duplicates
short_description: The values that occur more than once in a list
version_added: 0.1.0
description:
  - Returns each value that occurs more than once in the input, once, sorted.
  - Used by the preflight checks to name duplicate node names and addresses.
  - Empty strings and nulls are ignored; a missing value is reported by other checks.
options:
  _input:
    description: A list of hashable values.
    type: list
    elements: raw
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Refuse two hosts with one address
  ansible.builtin.assert:
    that: addresses | prodgrade.kubernetes.duplicates | length == 0
  vars:
    addresses: ["10.0.0.1", "10.0.0.2", "10.0.0.1"]
"""

RETURN = r"""
_value:
  description: The repeated values, each once, sorted.
  type: list
  elements: raw
"""


def duplicates(values):
    counts = Counter(v for v in values if v not in (None, ""))
    return sorted((v for v, n in counts.items() if n > 1), key=str)


class FilterModule:
    def filters(self):
        return {"duplicates": duplicates}
