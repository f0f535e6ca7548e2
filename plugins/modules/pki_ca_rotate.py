#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_ca_rotate
short_description: Move the rotation of one CA, or of the service-account key, to its next stage
version_added: 0.2.0
description:
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)). Changes only the store;
    the C(ca_rotate) playbook installs the store on every host after each stage and restarts
    what uses the files, one etcd member at a time.
  - C(trust) makes a new CA and turns the CA file into the bundle "old, new" (the old key still
    signs). C(sign) makes it "new, old" with the new key, so the M(prodgrade.kubernetes.pki)
    module reissues every certificate of that CA. C(finishing) leaves the new CA alone.
    C(done) records that the last stage was installed everywhere and removes the old key.
  - C(ca=sa) rotates the service-account key pair the same way, with C(sa.pub) as the trust file
    (kube-apiserver accepts tokens signed by any key in it) and C(sa.key) as the signing key.
  - The stage is recorded in C(rotation/<ca>/state.json); a stage already reached is a no-op,
    and stages never go back, so a failed run resumes by running again. A new rotation starts
    only at C(trust) when none is in progress.
options:
  store:
    description: The PKI store directory (the C(store) of M(prodgrade.kubernetes.pki)).
    type: path
    required: true
  ca:
    description:
      - The CA to rotate, by the pki module's name, or C(sa) for the service-account key pair.
    type: str
    required: true
    choices: [ca, etcd-ca, front-proxy-ca, sa]
  stage:
    description: The stage to reach.
    type: str
    required: true
    choices: [trust, sign, finishing, done]
  key_algorithm:
    description: The new CA's key algorithm, as the pki module's option.
    type: str
    choices: [ecdsa, rsa]
    default: ecdsa
  rsa_key_size:
    description: The new CA's RSA key size.
    type: int
    choices: [2048, 3072, 4096]
    default: 2048
  ca_validity_days:
    description: The new CA's validity.
    type: int
    default: 3650
  ca_key_passphrase:
    description: Encrypt the new CA key with this passphrase, as the pki module keeps CA keys.
    type: str
attributes:
  check_mode:
    description: Reports the stage the store would reach and writes nothing.
    support: full
  diff_mode:
    description: Key material is never shown.
    support: none
  platform:
    description: The controller.
    platforms: posix
    support: full
seealso:
  - module: prodgrade.kubernetes.pki
  - name: Manual rotation of CA certificates
    description: The Kubernetes procedure these stages follow.
    link: https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Start a rotation of the etcd CA (every host must then trust both)
  prodgrade.kubernetes.pki_ca_rotate:
    store: ~/.prodgrade/kubernetes/pki
    ca: etcd-ca
    stage: trust
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
signing_since:
  description: When the new key started to sign (the C(sign) stage), ISO 8601 UTC.
  returned: when the rotation reached C(sign) or later
  type: str
  sample: "2026-12-07T21:00:00Z"
signing_for:
  description: Seconds since the new key started to sign.
  returned: when the rotation reached C(sign) or later
  type: int
  sample: 3712
ca:
  description: The CA.
  returned: success
  type: str
  sample: etcd-ca
from:
  description: The stage recorded before this call; null when no rotation was ever recorded.
  returned: success
  type: str
  sample: trust
stage:
  description: The stage recorded after this call.
  returned: success
  type: str
  sample: sign
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki import (  # noqa: E402
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_rotate import (  # noqa: E402
    RotateError,
    advance,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            ca=dict(type="str", required=True, choices=["ca", "etcd-ca", "front-proxy-ca", "sa"]),
            stage=dict(type="str", required=True, choices=["trust", "sign", "finishing", "done"]),
            key_algorithm=dict(type="str", choices=["ecdsa", "rsa"], default="ecdsa"),
            rsa_key_size=dict(type="int", choices=[2048, 3072, 4096], default=2048),
            ca_validity_days=dict(type="int", default=3650),
            ca_key_passphrase=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(
            msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR
        )
    params = module.params
    try:
        result = advance(
            params["store"],
            params["ca"],
            params["stage"],
            key_algorithm=params["key_algorithm"],
            rsa_key_size=params["rsa_key_size"],
            ca_validity_days=params["ca_validity_days"],
            ca_key_passphrase=params["ca_key_passphrase"] or None,
            check_mode=module.check_mode,
        )
    except RotateError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"Writing the store failed: {exc}. Run again to resume.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
