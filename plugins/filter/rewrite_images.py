# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.rewrite_images`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rewrite_images
short_description: Point every container image of a Kubernetes manifest at another registry
version_added: 0.1.0
description:
  - Takes a multi-document Kubernetes manifest as text and returns the same text with the
    C(image) of every container, init container and ephemeral container of every document
    (Pods, workload templates, CronJob templates, Lists, anything with such a list) pulled from
    O(registry).
  - The registry part of each image (its first path component when that holds a C(.) or a
    C(:) or is C(localhost)) is replaced; an image without one comes from Docker Hub and keeps
    its path, C(library/<name>) for an official image. Tag and digest are kept, for example
    C(ghcr.io/flannel-io/flannel:v0.28.9) with C(registry.example.com/mirror) becomes
    C(registry.example.com/mirror/flannel-io/flannel:v0.28.9).
  - Nothing else changes, byte for byte (comments, order, quoting), since only the spans of the
    image values are replaced.
  - Invalid YAML, an image that is no image reference or a registry with a scheme fails with
    the reason.
options:
  _input:
    description: The manifest, YAML text with one or more documents.
    type: str
    required: true
  registry:
    description: The registry, C(host[:port][/path]), without a scheme.
    type: str
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Pull the CNI's images from the private registry
  ansible.builtin.set_fact:
    cni_manifest: "{{ lookup('ansible.builtin.file', 'kube-flannel.yml')
                      | prodgrade.kubernetes.rewrite_images('registry.example.com/mirror') }}"
"""

RETURN = r"""
_value:
  description: The manifest with its container images moved to the registry.
  type: str
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.manifest_images import (  # noqa: E402
    ManifestError,
    rewrite_manifest,
)


def rewrite_images(manifest, registry):
    try:
        return rewrite_manifest(str(manifest), registry)
    except ManifestError as exc:
        raise AnsibleFilterError(f"rewrite_images: {exc}") from None


class FilterModule:
    def filters(self):
        return {"rewrite_images": rewrite_images}
