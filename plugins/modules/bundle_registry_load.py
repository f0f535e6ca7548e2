#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bundle_registry_load
short_description: Load a bundle's missing images into the bundle server's registry
version_added: 0.1.0
description:
  - For every image of the bundle's C(manifest.json), asks the registry at O(registry) over
    TLS (trusting only O(ca_file)) for C(/v2/<repository path>/manifests/<tag>). When the
    answer's C(Docker-Content-Digest) is not the digest the manifest records, the OCI archive
    is copied with C(skopeo copy oci-archive:... docker://<registry>/<repository path>:<tag>).
  - An image the manifest holds for several architectures (one entry, and one archive, per
    architecture) is served as an image index under its tag, so every node pulls its own
    architecture's image. Each architecture's image is copied with skopeo to the helper tag
    C(<tag>-linux-<arch>) of the same repository (unless the registry already has its
    manifest), then the module writes the index (C(PUT /v2/<repository path>/manifests/<tag>))
    listing each manifest's media type, digest, size and platform (C(linux)/C(<arch>)). It is
    an OCI image index, or a Docker manifest list when every image is a Docker schema 2
    manifest. The tag counts as loaded when it serves an index listing exactly these digests
    for these architectures and the registry has each of them.
  - An image of one architecture is pushed under its tag directly.
  - The repository path is the image name without its registry host
    (C(registry.k8s.io/pause) is served as C(<registry>/pause)), so a containerd mirror
    (C(hosts.toml)) of registry.k8s.io, docker.io, ghcr.io or quay.io pointing at this
    registry serves the original references. Two images that would share a repository path and
    tag (helper tags included) are refused before anything is loaded.
  - With O(check_only=true) it only reports RV(missing) and never changes anything.
options:
  bundle:
    description: The bundle directory on the server.
    type: path
    required: true
  registry:
    description: The registry as C(host:port), by a name its certificate carries.
    type: str
    required: true
  ca_file:
    description: The CA certificate that issued the registry's certificate.
    type: path
    required: true
  cert_dir:
    description:
      - A directory holding only CA certificates (C(*.crt)), for skopeo's C(--dest-cert-dir).
    type: path
    required: true
  check_only:
    description: Only report what is missing.
    type: bool
    default: false
  skopeo:
    description: The skopeo command.
    type: str
    default: skopeo
  timeout:
    description: Seconds for each registry request.
    type: int
    default: 30
attributes:
  check_mode:
    description: Reports what would be loaded.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    platforms: posix
    support: full
    description: Runs on the bundle server; needs skopeo there to load.
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Load the bundle's images
  prodgrade.kubernetes.bundle_registry_load:
    bundle: /srv/prodgrade-bundle/current
    registry: bundle1:5000
    ca_file: /etc/prodgrade/bundle-server/ca/ca.crt
    cert_dir: /etc/prodgrade/bundle-server/ca
"""

RETURN = r"""
images:
  description: Every image of the manifest as C(<registry>/<repository path>:<tag>), once per tag.
  returned: success
  type: list
  elements: str
indexes:
  description: The images of RV(images) the manifest holds for several architectures, served as an
    image index.
  returned: success
  type: list
  elements: str
missing:
  description: The images the registry did not serve with the recorded digest (before loading).
  returned: success
  type: list
  elements: str
"""

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import ssl  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    BundleError,
    check_part,
    oci_archive_manifest,
    read_manifest,
    split_image,
)

ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
# A tag is at most 128 characters (OCI distribution-spec, "tag" in its definitions).
TAG_MAX = 128


def helper_tag(tag, arch):
    """The tag one architecture's image of a multi-architecture image is pushed under."""
    return f"{tag}-linux-{arch}"


class Registry:
    """The distribution API over TLS, trusting only the CA: manifests by tag or digest."""

    def __init__(self, address, context, timeout):
        self.address = address
        self.context = context
        self.timeout = timeout

    def manifest(self, path, ref, method="HEAD"):
        """(digest, headers, body) the registry serves for ``path``:``ref``, or None on 404."""
        label = f"{path}{'@' if ref.startswith('sha256:') else ':'}{ref}"
        request = urllib.request.Request(
            f"https://{self.address}/v2/{path}/manifests/{ref}",
            method=method,
            headers={"Accept": ACCEPT},
        )
        try:
            with urllib.request.urlopen(
                request, context=self.context, timeout=self.timeout
            ) as answer:
                body = answer.read() if method == "GET" else b""
                return answer.headers.get("Docker-Content-Digest"), answer.headers, body
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise BundleError(f"registry {self.address} answered {exc.code} for {label}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BundleError(
                f"registry {self.address} cannot be reached over TLS: {exc}"
            ) from None

    def digest(self, path, ref):
        served = self.manifest(path, ref)
        return served[0] if served else None

    def put_manifest(self, path, tag, media_type, body):
        """Push a manifest (here: an image index) under ``tag``; the digest the registry gives."""
        # Checked (2026, with the search tool) against the OCI distribution-spec (spec.md,
        # "Pushing an Image Manifest": PUT /v2/<name>/manifests/<reference> with the manifest's
        # media type as Content-Type, 201 Created and its digest) and against distribution, the
        # registry Debian packages (storage/manifestlisthandler.go refuses an index whose
        # manifests the repository lacks with MANIFEST_BLOB_UNKNOWN): the images go first. From
        # knowledge, not re-checked: distribution also refuses a body whose mediaType differs
        # from the Content-Type, so the body names its own media type.
        request = urllib.request.Request(
            f"https://{self.address}/v2/{path}/manifests/{tag}",
            data=body,
            method="PUT",
            headers={"Content-Type": media_type},
        )
        try:
            with urllib.request.urlopen(
                request, context=self.context, timeout=self.timeout
            ) as answer:
                return answer.headers.get("Docker-Content-Digest")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").strip()[:500]
            raise BundleError(
                f"registry {self.address} refused the image index for {path}:{tag} "
                f"({exc.code}): {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise BundleError(
                f"registry {self.address} cannot be reached over TLS: {exc}"
            ) from None


def digest_of(data):
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def group_images(manifest):
    """The image entries by (name, tag), in the manifest's order: [(name, tag, {arch: entry})].

    The same entry twice is taken once; two images for one tag and architecture are refused.
    """
    groups = {}
    for entry in manifest.get("artifacts", []):
        if not isinstance(entry, dict) or entry.get("kind") != "image":
            continue
        key = (entry.get("name"), entry.get("version"))
        by_arch = groups.setdefault(key, {})
        arch = entry.get("arch")
        other = by_arch.get(arch)
        if other is not None and (other.get("path"), other.get("digest")) != (
            entry.get("path"),
            entry.get("digest"),
        ):
            raise BundleError(
                f"image {key[0]}:{key[1]} is listed twice for {arch}: {other.get('path')} "
                f"and {entry.get('path')}"
            )
        by_arch[arch] = entry
    return [(name, tag, by_arch) for (name, tag), by_arch in groups.items()]


class Loader:
    def __init__(self, module, registry):
        self.module = module
        self.p = module.params
        self.registry = registry
        self.images, self.indexes, self.missing = [], [], []

    @property
    def changing(self):
        return not (self.p["check_only"] or self.module.check_mode)

    def plan(self, groups):
        """(path, tag, {arch: entry}) per image; refuses any two sharing a tag of the registry."""
        planned, owners = [], {}
        for name, version, by_arch in groups:
            _registry, path, tag = split_image(f"{name}:{version}")
            tags = [tag]
            if len(by_arch) > 1:
                for arch in by_arch:
                    if arch is None:
                        raise BundleError(
                            f"image {name}:{tag}: an entry without arch among several "
                            f"architectures ({', '.join(str(a) for a in by_arch)})"
                        )
                    check_part(arch, f"image {name}:{tag} arch")
                    tags.append(helper_tag(tag, arch))
            for served in tags:
                if len(served) > TAG_MAX:
                    raise BundleError(
                        f"image {name}:{tag}: the tag {served} is longer than {TAG_MAX} characters"
                    )
                owner = owners.setdefault((path, served), f"{name}:{version}")
                if owner != f"{name}:{version}":
                    raise BundleError(
                        f"images {owner} and {name}:{version} would both be served as "
                        f"{self.p['registry']}/{path}:{served}"
                    )
            planned.append((path, tag, by_arch))
        return planned

    def run(self, groups):
        for path, tag, by_arch in self.plan(groups):
            target = f"{self.p['registry']}/{path}:{tag}"
            self.images.append(target)
            if len(by_arch) == 1:
                self.single(path, tag, next(iter(by_arch.values())), target)
            else:
                self.indexes.append(target)
                self.multi(path, tag, by_arch, target)

    def archive(self, entry, target):
        archive = os.path.join(self.p["bundle"], entry["path"])
        if not os.path.isfile(archive):
            raise BundleError(f"{entry['path']} is not in the bundle: cannot load {target}")
        return archive

    def push(self, entry, path, tag, pushed_tag):
        """skopeo copy of one OCI archive (its image ``tag``) to ``path``:``pushed_tag``, then
        the digest the registry serves there checked."""
        target = f"{self.p['registry']}/{path}:{pushed_tag}"
        archive = self.archive(entry, target)
        # skopeo cuts oci-archive:PATH:TAG at the first colon, and the path holds one when the
        # image's registry has a port: name the archive from its own directory.
        cmd = [self.p["skopeo"], "copy", "--dest-cert-dir", self.p["cert_dir"]]
        cmd += ["--preserve-digests", f"oci-archive:{os.path.basename(archive)}:{tag}"]
        cmd += [f"docker://{target}"]
        rc, _out, err = self.module.run_command(cmd, cwd=os.path.dirname(archive))
        if rc != 0:
            raise BundleError(f"loading {entry['path']} into {target} failed: {err.strip()}")
        got = self.registry.digest(path, pushed_tag)
        if got != entry.get("digest"):
            raise BundleError(
                f"{target}: the registry serves {got} after loading, the manifest says "
                f"{entry.get('digest')}"
            )

    def single(self, path, tag, entry, target):
        served = self.registry.digest(path, tag)
        if served is not None and served == entry.get("digest"):
            return
        self.missing.append(target)
        if self.changing:
            self.push(entry, path, tag, tag)

    def index_served(self, path, tag, by_arch):
        """True when the tag serves an index of exactly these digests for these architectures,
        each manifest there with the size the index gives."""
        served = self.registry.manifest(path, tag, method="GET")
        if served is None:
            return False
        _digest, headers, body = served
        try:
            index = json.loads(body)
        except ValueError:
            return False
        if not isinstance(index, dict):
            return False
        media_type = index.get("mediaType") or headers.get("Content-Type", "").split(";")[0]
        if media_type not in INDEX_TYPES or not isinstance(index.get("manifests"), list):
            return False
        listed = {}
        for desc in index["manifests"]:
            platform = desc.get("platform") if isinstance(desc, dict) else None
            if not isinstance(platform, dict) or platform.get("os") != "linux":
                return False
            if platform.get("architecture") in listed:
                return False
            listed[platform.get("architecture")] = desc
        wanted = {arch: entry.get("digest") for arch, entry in by_arch.items()}
        if {arch: desc.get("digest") for arch, desc in listed.items()} != wanted:
            return False
        for desc in listed.values():
            child = self.registry.manifest(path, desc["digest"])
            if child is None or child[0] not in (None, desc["digest"]):
                return False
            length = child[1].get("Content-Length")
            if length is not None and length != str(desc.get("size")):
                return False
        return True

    def multi(self, path, tag, by_arch, target):
        if self.index_served(path, tag, by_arch):
            return
        self.missing.append(target)
        if not self.changing:
            return
        arches = sorted(by_arch)
        # Everything the index needs is read from the archives before the registry changes.
        descriptors = {}
        for arch in arches:
            entry = by_arch[arch]
            archive = self.archive(entry, target)
            if not entry.get("digest"):
                raise BundleError(f"{target}: the manifest records no digest for {arch}")
            desc = oci_archive_manifest(archive, entry["digest"])
            if desc["mediaType"] in INDEX_TYPES:
                raise BundleError(
                    f"{entry['path']} holds an image index, not the {arch} image: cannot list it "
                    f"in the index of {target}"
                )
            descriptors[arch] = desc
        for arch in arches:
            entry = by_arch[arch]
            if self.registry.digest(path, entry["digest"]) == entry["digest"]:
                continue  # the registry has this manifest already (an earlier, partial load)
            self.push(entry, path, tag, helper_tag(tag, arch))
        docker = all(d["mediaType"] == DOCKER_MANIFEST for d in descriptors.values())
        media_type = DOCKER_LIST if docker else OCI_INDEX
        body = index_body(media_type, arches, descriptors)
        answered = self.registry.put_manifest(path, tag, media_type, body)
        expected = digest_of(body)
        got = self.registry.digest(path, tag)
        if got != expected or answered not in (None, expected):
            raise BundleError(
                f"{target}: the registry serves {got} after writing the image index, which is "
                f"{expected}"
            )


def index_body(media_type, arches, descriptors):
    """An OCI image index or Docker manifest list (the same shape): schemaVersion 2, its
    mediaType, one descriptor per manifest with mediaType, digest, size and platform
    {architecture, os} (variant when the image config gives one). Checked against the OCI
    image-spec's image-index.md (found with the search tool): platform is optional there but
    SHOULD be present for a platform-specific image, with architecture and os REQUIRED in it."""
    manifests = []
    for arch in arches:
        desc = descriptors[arch]
        platform = {"architecture": arch, "os": "linux"}
        if desc.get("variant"):
            platform["variant"] = desc["variant"]
        manifests.append(
            {
                "mediaType": desc["mediaType"],
                "digest": desc["digest"],
                "size": desc["size"],
                "platform": platform,
            }
        )
    index = {"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}
    return json.dumps(index, separators=(",", ":")).encode()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundle=dict(type="path", required=True),
            registry=dict(type="str", required=True),
            ca_file=dict(type="path", required=True),
            cert_dir=dict(type="path", required=True),
            check_only=dict(type="bool", default=False),
            skopeo=dict(type="str", default="skopeo"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    loader = None
    try:
        manifest = read_manifest(p["bundle"])
        if manifest is None:
            raise BundleError(f"{p['bundle']} has no manifest.json")
        context = ssl.create_default_context(cafile=p["ca_file"])
        loader = Loader(module, Registry(p["registry"], context, p["timeout"]))
        loader.run(group_images(manifest))
    except (BundleError, OSError, ssl.SSLError) as exc:
        module.fail_json(msg=to_native(exc), missing=loader.missing if loader else [])
    changed = bool(loader.missing) and not p["check_only"]
    module.exit_json(
        changed=changed, images=loader.images, indexes=loader.indexes, missing=loader.missing
    )


if __name__ == "__main__":
    main()
