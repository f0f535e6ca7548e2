#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_store_recover
short_description: Rebuild a lost PKI store from the files the cluster's hosts hold
version_added: 0.2.0
description:
  - Runs on the controller. Takes the files the C(pki_store_recover) playbook fetched from
    every host, and the map of which store file goes where on which host (C(host_files) of
    M(prodgrade.kubernetes.pki) with C(host_files_only)), and writes each store file back from
    the hosts that hold it, with the mode distribution gives it.
  - Copies of one store file on several hosts (C(ca.crt), C(admin.conf), ...) must be
    identical; otherwise nothing is written and the task fails naming the file and the hosts.
  - Writes C(recovery.json) in the store naming the keys no host held (RV(lost_keys)). The etcd
    and front-proxy CA keys never leave the controller, so they are lost with it unless a
    backup exists; the M(prodgrade.kubernetes.pki) module then keeps every certificate those
    CAs signed but refuses to issue new ones.
  - Refuses a store that already holds a CA or service-account key, so it never overwrites one.
options:
  store:
    description: The PKI store directory to fill (missing or without any CA or key).
    type: path
    required: true
  fetched:
    description: The directory the hosts' files were fetched into, as
      C(<fetched>/<inventory host>/<absolute path on the host>).
    type: path
    required: true
  host_files:
    description: For each host, the C({src, dest, mode}) entries the pki module returned.
    type: dict
    required: true
attributes:
  check_mode:
    description: Reports what would be recovered and writes nothing.
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
  - module: prodgrade.kubernetes.pki_store_restore
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Rebuild the store from the fetched host files
  prodgrade.kubernetes.pki_store_recover:
    store: ~/.prodgrade/kubernetes/pki
    fetched: ~/.prodgrade/kubernetes/pki.recover
    host_files: "{{ plan.host_files }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
recovered:
  description: The store files written back.
  returned: success
  type: list
  elements: str
  sample: [ca.crt, ca.key, sa.key, sa.pub, hosts/cp1/apiserver.crt]
lost_keys:
  description: The CAs (and C(sa)) whose certificate came back but whose key no host held.
  returned: success
  type: list
  elements: str
  sample: [etcd-ca, front-proxy-ca]
not_found:
  description: Store files that no host held (the pki module issues them again if their CA
    key is there).
  returned: success
  type: list
  elements: str
from_hosts:
  description: The hosts that gave back at least one file.
  returned: success
  type: list
  elements: str
store:
  description: The absolute path of the store.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_recover import (  # noqa: E402
    RecoverError,
    recover,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            fetched=dict(type="path", required=True),
            host_files=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = recover(
            params["store"], params["fetched"], params["host_files"], check_mode=module.check_mode
        )
    except RecoverError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"Writing the store failed: {exc}.")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
