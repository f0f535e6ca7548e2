#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bundle_fetch
short_description: Download static binaries and container images into an air-gapped bundle, verified
version_added: 0.1.0
description:
  - Fills the C(files/) and C(images/) parts of a bundle directory (docs/airgap.md) and returns
    the manifest entries of what it holds. The C(prodgrade.kubernetes.bundle_build) role runs
    it on the connected build machine; M(prodgrade.kubernetes.bundle_index) then writes
    C(manifest.json).
  - A binary (O(artifacts[].kind=binary)) is downloaded from O(artifacts[].url) to
    C(files/<name>/<version>/<arch>/<filename>) and checked against the sha256 that its
    upstream checksum file O(artifacts[].checksum_url) lists for it (or the pinned
    O(artifacts[].sha256)). A mismatch fails the task naming the artifact, and the file is not
    kept.
  - An image (O(artifacts[].kind=image)) is copied with C(skopeo) from its registry to
    C(images/<registry>/<path>/<tag>/<arch>.oci.tar), for O(artifacts[].arch), one archive per
    architecture (the images of one tag for amd64 and arm64 are both kept). With
    O(artifacts[].digest) the copy is made by digest, so skopeo itself refuses content that
    does not match it.
  - A local image (O(artifacts[].kind=local_image)) is an OCI archive or OCI image layout
    directory already on disk (O(artifacts[].src)), copied into the bundle.
  - An artifact whose file is present, unchanged since the manifest already in O(dest) recorded
    it, from the same source, is kept without any download. A present file not in that manifest
    is checked against the upstream checksum (one small download) and kept when it matches.
    So a second run downloads nothing and reports no change.
options:
  dest:
    description: The bundle directory; created when missing.
    type: path
    required: true
  artifacts:
    description: The binaries and images the bundle must hold.
    type: list
    elements: dict
    required: true
    suboptions:
      kind:
        description: What the artifact is.
        type: str
        choices: [binary, image, local_image]
        required: true
      name:
        description:
          - The artifact's name. For an image, its repository with the registry
            (V(registry.k8s.io/pause)).
        type: str
        required: true
      version:
        description: The version; for an image, its tag.
        type: str
        required: true
      arch:
        description:
          - The architecture, by Go's names (V(amd64), V(arm64)); default, each of
            O(architectures).
        type: str
      url:
        description: Where a binary is downloaded from.
        type: str
      checksum_url:
        description:
          - The upstream checksum file of a binary; a bare hash or C(sha256sum) lines (the
            line for the file's name is used).
        type: str
      sha256:
        description:
          - A pinned sha256 of a binary, checked instead of (or besides)
            O(artifacts[].checksum_url).
        type: str
      filename:
        description: The binary's file name in the bundle; default, the last part of the URL.
        type: str
      digest:
        description:
          - For an image, the pinned C(sha256:...) digest to copy by (manifest list or manifest).
        type: str
      src:
        description:
          - For a local image, the OCI archive or OCI layout directory on the build machine.
        type: path
  architectures:
    description:
      - An artifact without O(artifacts[].arch) is fetched once per architecture listed here.
      - C({arch}) and C({version}) in O(artifacts[].url), O(artifacts[].checksum_url) and
        O(artifacts[].filename) are replaced by the artifact's architecture and version.
    type: list
    elements: str
    default: [amd64]
  pins:
    description:
      - Pinned checksums by artifact. C(<name>/<arch>) gives a binary's sha256 (as
        O(artifacts[].sha256)), C(<name>:<tag>) an image's digest (as O(artifacts[].digest)).
    type: dict
    default: {}
  timeout:
    description: Seconds for each HTTP connection or read.
    type: int
    default: 60
  skopeo:
    description: The skopeo command, for images.
    type: str
    default: skopeo
attributes:
  check_mode:
    description: Reports what would be downloaded, downloads nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    platforms: posix
    support: full
    description: Runs on the build machine.
notes:
  - Upstream checksum files are fetched over HTTPS from the same project as the artifact; they
    protect against a corrupted or swapped download, not against a compromised upstream.
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Fetch kubeadm and the pause image
  prodgrade.kubernetes.bundle_fetch:
    dest: /srv/bundle
    artifacts:
      - kind: binary
        name: kubeadm
        version: 1.37.1
        arch: amd64
        url: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm
        checksum_url: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm.sha256
      - kind: image
        name: registry.k8s.io/pause
        version: "3.10.2"

- name: Add an image built on this machine (an OCI layout directory)
  prodgrade.kubernetes.bundle_fetch:
    dest: /srv/bundle
    artifacts:
      - kind: local_image
        name: registry.example.com/tools/debug
        version: "1.0"
        arch: amd64
        src: /var/tmp/debug-oci
"""

RETURN = r"""
artifacts:
  description: The manifest entries of every artifact asked for, in the order given.
  returned: success
  type: list
  elements: dict
  sample:
    - {kind: binary, name: kubeadm, version: 1.37.1, arch: amd64,
       path: files/kubeadm/1.37.1/amd64/kubeadm, sha256: "0f3c...",
       source: "https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm"}
fetched:
  description: The paths (inside O(dest)) downloaded or copied by this run (or that would be).
  returned: success
  type: list
  elements: str
"""

import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    BundleError,
    binary_path,
    copy_file,
    image_archive_path,
    oci_archive_digest,
    parse_checksum,
    previous_entries,
    sha256_file,
    split_image,
    still_valid,
    tar_layout,
)


class Fetcher:
    def __init__(self, module):
        self.module = module
        self.dest = module.params["dest"]
        self.timeout = module.params["timeout"]
        self.previous = previous_entries(self.dest)
        self.fetched = []

    def get(self, url, what):
        try:
            return open_url(url, timeout=self.timeout, follow_redirects="all")
        except Exception as exc:
            raise BundleError(f"{what}: cannot download {url}: {to_native(exc)}") from None

    def upstream_sha256(self, art, filename, what):
        wanted = (art.get("sha256") or "").lower() or None
        if art.get("checksum_url"):
            text = self.get(art["checksum_url"], what).read().decode("utf-8", "replace")
            listed = parse_checksum(text, filename)
            if listed is None:
                raise BundleError(
                    f"{what}: the checksum file {art['checksum_url']} has no sha256 for {filename}"
                )
            if wanted and wanted != listed:
                raise BundleError(
                    f"{what}: the pinned sha256 {wanted} differs from the upstream checksum "
                    f"{listed} ({art['checksum_url']})"
                )
            wanted = listed
        if not wanted:
            raise BundleError(f"{what}: give checksum_url or sha256: nothing is fetched unverified")
        return wanted

    def binary(self, art):
        url = art.get("url")
        what = f"binary {art['name']} {art['version']} {art['arch']}"
        if not url:
            raise BundleError(f"{what}: url is required")
        filename = art.get("filename") or url.rstrip("/").rsplit("/", 1)[-1]
        rel = binary_path(art["name"], art["version"], art["arch"], filename)
        full = os.path.join(self.dest, rel)
        entry = {
            "kind": "binary",
            "name": art["name"],
            "version": art["version"],
            "arch": art["arch"],
            "path": rel,
            "source": url,
        }
        prev = self.previous.get(rel)
        if still_valid(self.dest, prev, url, (art.get("sha256") or "").lower() or None):
            return dict(entry, sha256=prev["sha256"])
        wanted = self.upstream_sha256(art, filename, what)
        if os.path.isfile(full) and sha256_file(full) == wanted:
            return dict(entry, sha256=wanted)
        self.fetched.append(rel)
        if self.module.check_mode:
            return dict(entry, sha256=wanted)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=os.path.dirname(full))
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(self.get(url, what), out, 1 << 20)
            actual = sha256_file(tmp)
            if actual != wanted:
                raise BundleError(
                    f"{what}: checksum mismatch for {url}: sha256 {actual}, upstream says "
                    f"{wanted}; the download was discarded"
                )
            os.chmod(tmp, 0o755 if "." not in filename else 0o644)
            os.replace(tmp, full)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dict(entry, sha256=wanted)

    def image(self, art, local):
        ref = f"{art['name']}:{art['version']}"
        registry, path, tag = split_image(ref)
        rel = image_archive_path(registry, path, tag, art["arch"])
        full = os.path.join(self.dest, rel)
        what = f"image {ref} {art['arch']}"
        if local:
            src = art.get("src")
            if not src or not os.path.exists(src):
                raise BundleError(f"{what}: src {src!r} does not exist")
            source = f"local:{src}"
        else:
            source = f"docker://{art['name']}" + (
                f"@{art['digest']}" if art.get("digest") else f":{tag}"
            )
        entry = {
            "kind": "image",
            "name": art["name"],
            "version": art["version"],
            "arch": art["arch"],
            "path": rel,
            "source": source,
        }
        prev = self.previous.get(rel)
        if still_valid(self.dest, prev, source):
            return dict(entry, sha256=prev["sha256"], digest=prev.get("digest"))
        if local and os.path.isfile(full) and os.path.isfile(src):  # noqa: SIM102
            if sha256_file(full) == sha256_file(src):
                return dict(entry, sha256=sha256_file(full), digest=oci_archive_digest(full))
        self.fetched.append(rel)
        if self.module.check_mode:
            return dict(entry, sha256=None, digest=art.get("digest"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if local:
            if os.path.isdir(src):
                tar_layout(src, full)
            else:
                copy_file(src, full)
        else:
            fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tar", dir=os.path.dirname(full))
            os.close(fd)
            os.unlink(tmp)  # skopeo creates the archive itself
            cmd = [
                self.module.params["skopeo"],
                "copy",
                "--override-os",
                "linux",
                "--override-arch",
                art["arch"],
                source,
                f"oci-archive:{tmp}:{tag}",
            ]
            rc, _out, err = self.module.run_command(cmd)
            if rc != 0:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise BundleError(f"{what}: skopeo copy from {source} failed: {err.strip()}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, full)
        return dict(entry, sha256=sha256_file(full), digest=oci_archive_digest(full))


def expand(artifacts, architectures, pins):
    """One artifact per architecture, with {arch} and {version} filled in and pins applied."""
    result = []
    for art in artifacts:
        for arch in [art["arch"]] if art.get("arch") else architectures:
            item = dict(art, arch=arch)
            if art["kind"] == "binary" and pins.get(f"{art['name']}/{arch}"):
                item["sha256"] = pins[f"{art['name']}/{arch}"]
            elif art["kind"] == "image" and pins.get(f"{art['name']}:{art['version']}"):
                item["digest"] = pins[f"{art['name']}:{art['version']}"]
            for key in ("url", "checksum_url", "filename"):
                if item.get(key):
                    item[key] = (
                        item[key].replace("{arch}", arch).replace("{version}", item["version"])
                    )
            result.append(item)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            artifacts=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    kind=dict(
                        type="str", required=True, choices=["binary", "image", "local_image"]
                    ),
                    name=dict(type="str", required=True),
                    version=dict(type="str", required=True),
                    arch=dict(type="str"),
                    url=dict(type="str"),
                    checksum_url=dict(type="str"),
                    sha256=dict(type="str"),
                    filename=dict(type="str"),
                    digest=dict(type="str"),
                    src=dict(type="path"),
                ),
            ),
            architectures=dict(type="list", elements="str", default=["amd64"]),
            pins=dict(type="dict", default={}),
            timeout=dict(type="int", default=60),
            skopeo=dict(type="str", default="skopeo"),
        ),
        supports_check_mode=True,
    )
    fetcher = Fetcher(module)
    entries = []
    try:
        for art in expand(
            module.params["artifacts"], module.params["architectures"], module.params["pins"]
        ):
            if art["kind"] == "binary":
                entries.append(fetcher.binary(art))
            else:
                entries.append(fetcher.image(art, local=art["kind"] == "local_image"))
    except (BundleError, OSError) as exc:
        module.fail_json(msg=to_native(exc), fetched=fetcher.fetched)
    module.exit_json(changed=bool(fetcher.fetched), artifacts=entries, fetched=fetcher.fetched)


if __name__ == "__main__":
    main()
