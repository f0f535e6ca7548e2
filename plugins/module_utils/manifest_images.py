# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic behind the ``manifest_images`` filter: moving a manifest's images to a registry.

``rewrite_manifest`` takes a multi-document Kubernetes manifest (YAML text) and a registry
(``host[:port][/path]``) and returns the same text with the ``image`` of every container,
init container and ephemeral container of every document pointed at that registry. Only the
image values change: the text is parsed with PyYAML's composer, which knows where each scalar
starts and ends, and just those spans are replaced, so comments, key order, quoting and every
other byte stay as they were.

``rewrite_image`` moves one image reference: the registry part (the first path component when
it holds a ``.`` or ``:`` or is ``localhost``, as container runtimes decide it) is replaced;
an image without one is a Docker Hub image and keeps its full path (``library/<name>`` for an
official image). Tag and digest are kept. ``ghcr.io/flannel-io/flannel:v0.28.9`` with
``registry.example.com/mirror`` becomes ``registry.example.com/mirror/flannel-io/flannel:v0.28.9``.
"""

from __future__ import annotations

import json
import re

import yaml

CONTAINER_KEYS = ("containers", "initContainers", "ephemeralContainers")
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


class ManifestError(ValueError):
    """A manifest or registry the rewrite refuses; the message says why."""


def check_registry(registry):
    """``registry`` without a trailing slash, or ManifestError when it is no registry."""
    if not isinstance(registry, str) or not registry.strip("/ "):
        raise ManifestError(f"the registry must be host[:port][/path], got {registry!r}")
    value = registry.strip().rstrip("/")
    if "://" in value or not _REGISTRY_RE.match(value):
        raise ManifestError(
            f"the registry must be host[:port][/path] without a scheme, got {registry!r}"
        )
    return value


def split_image(image):
    """``(registry or None, path, suffix)``: suffix is ``:tag``, ``@digest`` or both."""
    if not isinstance(image, str) or not image or any(char.isspace() for char in image):
        raise ManifestError(f"{image!r} is not an image reference")
    name, at, digest = image.partition("@")
    suffix = f"@{digest}" if at else ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        suffix = name[colon:] + suffix
        name = name[:colon]
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest, suffix
    if not name:
        raise ManifestError(f"{image!r} is not an image reference")
    return None, name if slash else f"library/{name}", suffix


def rewrite_image(image, registry):
    """``image`` pulled from ``registry`` instead of its own."""
    _, path, suffix = split_image(image)
    return f"{check_registry(registry)}/{path}{suffix}"


def _mapping_get(node, key):
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _image_nodes(node, found):
    """Collect the scalar ``image`` nodes of every container list below ``node``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.value in CONTAINER_KEYS
                and isinstance(value_node, yaml.SequenceNode)
            ):
                for item in value_node.value:
                    if isinstance(item, yaml.MappingNode):
                        image = _mapping_get(item, "image")
                        if isinstance(image, yaml.ScalarNode):
                            found.append(image)
            _image_nodes(value_node, found)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _image_nodes(item, found)


def _compose(text):
    try:
        return [doc for doc in yaml.compose_all(text, Loader=yaml.SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"the manifest is not valid YAML: {exc}") from None


def _render(value, style):
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or yaml.safe_load(value) != value:
        return json.dumps(value)
    return value


def manifest_images(text):
    """Every container image of every document, in order of appearance."""
    found = []
    for doc in _compose(text):
        _image_nodes(doc, found)
    return [node.value for node in found]


def rewrite_manifest(text, registry):
    """``text`` with every container image moved to ``registry``; nothing else changes."""
    if not isinstance(text, str):
        raise ManifestError(f"the manifest must be text, got {type(text).__name__}")
    registry = check_registry(registry)
    nodes = []
    for doc in _compose(text):
        _image_nodes(doc, nodes)
    out = text
    # Replace from the end, so earlier spans keep their offsets.
    for node in sorted(nodes, key=lambda item: item.start_mark.index, reverse=True):
        if node.style in ("|", ">"):
            raise ManifestError(
                f"line {node.start_mark.line + 1}: an image written as a block scalar "
                "is not supported"
            )
        new = _render(rewrite_image(node.value, registry), node.style)
        out = out[: node.start_mark.index] + new + out[node.end_mark.index :]
    return out
