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
  - The repository path is the image name without its registry host
    (C(registry.k8s.io/pause) is served as C(<registry>/pause)), so a containerd mirror
    (C(hosts.toml)) of registry.k8s.io, docker.io, ghcr.io or quay.io pointing at this
    registry serves the original references.
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
  description: Every image of the manifest as C(<registry>/<repository path>:<tag>).
  returned: success
  type: list
  elements: str
missing:
  description: The images the registry did not serve with the recorded digest (before loading).
  returned: success
  type: list
  elements: str
"""

import os  # noqa: E402
import ssl  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    BundleError,
    read_manifest,
    split_image,
)

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def served_digest(registry, path, tag, context, timeout):
    request = urllib.request.Request(
        f"https://{registry}/v2/{path}/manifests/{tag}", method="HEAD", headers={"Accept": ACCEPT}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as answer:
            return answer.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise BundleError(f"registry {registry} answered {exc.code} for {path}:{tag}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise BundleError(f"registry {registry} cannot be reached over TLS: {exc}") from None


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
    images, missing = [], []
    try:
        manifest = read_manifest(p["bundle"])
        if manifest is None:
            raise BundleError(f"{p['bundle']} has no manifest.json")
        context = ssl.create_default_context(cafile=p["ca_file"])
        for entry in manifest.get("artifacts", []):
            if entry.get("kind") != "image":
                continue
            _registry, path, tag = split_image(f"{entry['name']}:{entry['version']}")
            target = f"{p['registry']}/{path}:{tag}"
            images.append(target)
            served = served_digest(p["registry"], path, tag, context, p["timeout"])
            if served is not None and served == entry.get("digest"):
                continue
            missing.append(target)
            if p["check_only"] or module.check_mode:
                continue
            archive = os.path.join(p["bundle"], entry["path"])
            if not os.path.isfile(archive):
                raise BundleError(f"{entry['path']} is not in the bundle: cannot load {target}")
            # skopeo cuts oci-archive:PATH:TAG at the first colon, and the path holds one when
            # the image's registry has a port: name the archive from its own directory.
            cmd = [p["skopeo"], "copy", "--dest-cert-dir", p["cert_dir"], "--preserve-digests"]
            cmd += [f"oci-archive:{os.path.basename(archive)}:{tag}", f"docker://{target}"]
            rc, _out, err = module.run_command(cmd, cwd=os.path.dirname(archive))
            if rc != 0:
                raise BundleError(f"loading {entry['path']} into {target} failed: {err.strip()}")
            got = served_digest(p["registry"], path, tag, context, p["timeout"])
            if got != entry.get("digest"):
                raise BundleError(
                    f"{target}: the registry serves {got} after loading, the manifest says "
                    f"{entry.get('digest')}"
                )
    except (BundleError, OSError, ssl.SSLError) as exc:
        module.fail_json(msg=to_native(exc), missing=missing)
    changed = bool(missing) and not p["check_only"]
    module.exit_json(changed=changed, images=images, missing=missing)


if __name__ == "__main__":
    main()
