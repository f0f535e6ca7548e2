# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.manifest_images`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: manifest_images
short_description: The container images of a Kubernetes manifest
version_added: 0.1.0
description:
  - Every C(image) of every container, init container and ephemeral container of every
    document of a multi-document manifest, in order of appearance (repeats kept).
  - Invalid YAML fails with the reason.
options:
  _input:
    description: The manifest, YAML text with one or more documents.
    type: str
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Show the images a manifest pulls
  ansible.builtin.debug:
    msg: "{{ manifest_text | prodgrade.kubernetes.manifest_images }}"
  vars:
    manifest_text: "{{ lookup('ansible.builtin.file', 'kube-flannel.yml') }}"
"""

RETURN = r"""
_value:
  description: The image references.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.manifest_images import (  # noqa: E402
    ManifestError,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.manifest_images import (  # noqa: E402
    manifest_images as _images,
)


def manifest_images(manifest):
    try:
        return _images(str(manifest))
    except ManifestError as exc:
        raise AnsibleFilterError(f"manifest_images: {exc}") from None


class FilterModule:
    def filters(self):
        return {"manifest_images": manifest_images}
