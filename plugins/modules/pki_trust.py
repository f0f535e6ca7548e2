#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_trust
short_description: Report which cluster CAs and service-account key a host trusts
version_added: 0.2.0
description:
  - Reads the trust files of a PKI directory in kubeadm's layout (C(ca.crt), C(etcd/ca.crt),
    C(front-proxy-ca.crt) and C(sa.pub)) and returns the SHA-256 fingerprint of every
    certificate or public key in each, plus the marker C(prodgrade-trust.json) that names the
    store that last wrote them.
  - The pki role's guard compares these reports with the controller's store before anything
    is issued or installed (M(prodgrade.kubernetes.pki_guard)).
  - Reads only; needs no Python package beyond the standard library on the host. Private keys
    are never read.
options:
  pki_dir:
    description: The PKI directory to read.
    type: path
    default: /etc/kubernetes/pki
attributes:
  check_mode:
    description: Reads only, so check mode runs it as usual.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
  platform:
    description: Any POSIX host.
    platforms: posix
    support: full
notes:
  - Fingerprints are written as C(openssl x509 -noout -fingerprint -sha256) prints them
    (C(SHA256:AB:CD:...)). For C(sa.pub) it is the SHA-256 of the DER public key, as
    C(openssl pkey -pubin -in sa.pub -outform DER | sha256sum) computes it.
  - A file that exists but cannot be read or holds no PEM block is listed in RV(errors), never
    reported as absent.
seealso:
  - module: prodgrade.kubernetes.pki_guard
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Read what this host trusts
  prodgrade.kubernetes.pki_trust:
  register: trust

- name: Show the cluster CA's fingerprint
  ansible.builtin.debug:
    msg: "{{ trust.ca | default([], true) | first | default('no cluster CA') }}"
"""

RETURN = r"""
ca:
  description: Fingerprints of the certificates in C(ca.crt), in file order; null when absent.
  returned: always
  type: list
  elements: str
  sample: ["SHA256:3F:0A:..."]
etcd-ca:
  description: The same for C(etcd/ca.crt).
  returned: always
  type: list
  elements: str
front-proxy-ca:
  description: The same for C(front-proxy-ca.crt).
  returned: always
  type: list
  elements: str
sa:
  description: Fingerprints of the public keys in C(sa.pub); null when absent.
  returned: always
  type: list
  elements: str
marker:
  description: The content of C(prodgrade-trust.json) (store id, cluster name, fingerprints);
    null when absent.
  returned: always
  type: dict
  sample: {store_id: 9f3c..., cluster_name: kubernetes, ca: "SHA256:3F:0A:..."}
errors:
  description: Files that exist but could not be read or parsed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import (  # noqa: E402
    read_trust,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(pki_dir=dict(type="path", default="/etc/kubernetes/pki")),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **read_trust(module.params["pki_dir"]))


if __name__ == "__main__":
    main()
