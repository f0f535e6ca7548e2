#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bundle_verify
short_description: Check every file of an air-gapped bundle against the sha256 in its manifest.json
version_added: 0.1.0
description:
  - Reads C(manifest.json) of the bundle in O(path) and checks that every artifact and every
    metadata file (the public key, each suite's C(Packages), C(Release) and signatures) it
    lists is there with the listed sha256.
  - Fails when any is missing or differs, naming each such file. Files the manifest does not
    list are reported in RV(unlisted) (and warned about) but not refused; apt and the registry
    never use them.
  - Changes nothing.
options:
  path:
    description: The bundle directory (with C(manifest.json) at its top).
    type: path
    required: true
attributes:
  check_mode:
    description: Runs the same checks.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    platforms: posix
    support: full
    description: Needs only the Python standard library.
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Refuse a tampered bundle before serving it
  prodgrade.kubernetes.bundle_verify:
    path: /srv/prodgrade-bundle/staging
"""

RETURN = r"""
checked:
  description: How many files were checked.
  returned: success
  type: int
  sample: 214
unlisted:
  description: Files in the bundle that manifest.json does not list.
  returned: success
  type: list
  elements: str
kubernetes_version:
  description: The manifest's Kubernetes release.
  returned: success
  type: str
created:
  description: When the bundle was built (RFC 3339).
  returned: success
  type: str
problems:
  description: One line per missing or altered file (on failure).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.bundle import (  # noqa: E402
    BundleError,
    read_manifest,
    verify_bundle,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True)),
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        checked, problems, unlisted = verify_bundle(path)
        manifest = read_manifest(path)
    except (BundleError, OSError) as exc:
        module.fail_json(msg=to_native(exc))
    if problems:
        module.fail_json(
            msg=f"The bundle in {path} fails its checksums ({len(problems)} of {checked} files): "
            + "; ".join(problems),
            problems=problems,
            checked=checked,
        )
    if unlisted:
        module.warn(f"{len(unlisted)} file(s) not in manifest.json: {', '.join(unlisted[:10])}")
    module.exit_json(
        changed=False,
        checked=checked,
        unlisted=unlisted,
        kubernetes_version=manifest.get("kubernetes_version"),
        created=manifest.get("created"),
    )


if __name__ == "__main__":
    main()
