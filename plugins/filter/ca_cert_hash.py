# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``prodgrade.kubernetes.ca_cert_hash`` filter."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ca_cert_hash
short_description: The public-key pin of a CA certificate, as kubeadm's discovery takes it
version_added: 0.1.0
description:
  - Returns C(sha256:) followed by the hex SHA-256 of the certificate's DER
    subjectPublicKeyInfo (RFC 7469), the value of kubeadm's
    C(--discovery-token-ca-cert-hash) and of C(discovery.bootstrapToken.caCertHashes).
  - Reads the first certificate of a PEM text with the standard library only.
options:
  _input:
    description: PEM text holding the CA certificate, for example a slurped C(ca.crt).
    type: str
    required: true
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Pin the cluster CA for a join
  ansible.builtin.debug:
    msg: "{{ ca_pem | prodgrade.kubernetes.ca_cert_hash }}"
"""

RETURN = r"""
_value:
  description: C(sha256:<64 hex digits>).
  type: str
"""

import hashlib  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.x509_der import (  # noqa: E402
    CertificateError,
    pem_certificates,
    subject_public_key_info,
)


def ca_cert_hash(pem):
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
    try:
        blocks = pem_certificates(data)
        if not blocks:
            raise CertificateError("no PEM certificate found")
        spki = subject_public_key_info(blocks[0])
    except CertificateError as exc:
        raise AnsibleFilterError(f"ca_cert_hash: {exc}") from None
    return "sha256:" + hashlib.sha256(spki).hexdigest()


class FilterModule:
    def filters(self):
        return {"ca_cert_hash": ca_cert_hash}
