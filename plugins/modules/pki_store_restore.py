#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_store_restore
short_description: Restore the PKI store on the controller from an encrypted backup
version_added: 0.2.0
description:
  - Decrypts a backup made by M(prodgrade.kubernetes.pki_store_backup) and writes its files
    into the PKI store kept by M(prodgrade.kubernetes.pki).
  - Run it on the controller, once per play (C(delegate_to=localhost), C(run_once=true)).
  - Every member of the backup is checked before anything is written. Only regular files and
    directories with relative paths inside the store are accepted; a symbolic or hard link, a
    device, an absolute path or a C(..) fails the task and names the member.
  - A store that does not exist or holds no files receives every file of the backup, with the
    mode recorded in it, written atomically; directories are created with mode C(0700).
  - A store that already holds exactly the files of the backup, byte for byte, is left as it is
    (only a file mode that differs from the backup's is set), so the module is idempotent.
  - A store that holds anything else is refused, listing up to 10 files that differ, unless
    O(force=true). Then the current store is first moved aside to
    C(<store>.replaced-<UTC timestamp>), for example C(pki.replaced-20260301T120000Z), and the
    backup restored in its place. The module never deletes a store.
  - The store's C(.lock) and temporary C(.pki-*) files are not compared.
options:
  store:
    description:
      - The PKI store directory on the controller, as given to M(prodgrade.kubernetes.pki).
        Created with mode C(0700), parents too, when missing.
    type: path
    required: true
  backup:
    description:
      - The backup file, as written by M(prodgrade.kubernetes.pki_store_backup), or by
        C(openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -salt) from a gzip-compressed
        tar of a store.
    type: path
    required: true
  passphrase:
    description: The passphrase the backup was encrypted with.
    type: str
    required: true
  force:
    description:
      - Replace a store that holds other files than the backup. The current store is moved
        aside to C(<store>.replaced-<UTC timestamp>), never deleted.
    type: bool
    default: false
attributes:
  check_mode:
    description: Decrypts and checks the backup and reports what would be restored or moved.
    support: full
  diff_mode:
    description: Not supported; RV(restored) and RV(moved_aside) say what changes.
    support: none
  platform:
    description: Runs on the controller; needs the Python library C(cryptography) there.
    platforms: posix
    support: full
requirements:
  - cryptography (on the controller, in the Python that runs the module)
notes:
  - >-
    A backup is what C(openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -salt) writes
    (AES-256-CBC, key and IV derived by PBKDF2-HMAC-SHA256 with 600000 iterations) from a
    gzip-compressed tar of the store. Without Ansible, restore it with C(mkdir -m 0700 STORE),
    then
    C(openssl enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -in FILE | tar -xz -C STORE).
  - >-
    A wrong passphrase fails the task with
    C(cannot decrypt FILE with the given passphrase (wrong passphrase, or not a backup made by
    pki_store_backup)).
  - With C(delegate_to=localhost), Ansible runs the module with the Python it discovers on the
    controller, which may not be the one that has C(cryptography). Set
    C(ansible_python_interpreter) for the task (for example to C({{ ansible_playbook_python }}))
    when needed.
  - After restoring a store that was replaced, run M(prodgrade.kubernetes.pki) and compare the
    certificates with the ones on the hosts before distributing anything.
seealso:
  - module: prodgrade.kubernetes.pki_store_backup
  - module: prodgrade.kubernetes.pki
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Restore the PKI store on a new controller
  prodgrade.kubernetes.pki_store_restore:
    store: ~/.prodgrade/kubernetes/pki
    backup: /srv/backups/pki/kubernetes-pki-3f1c9a0b7d2e4f56.tar.gz.enc
    passphrase: "{{ vault_pki_backup_passphrase }}"
  delegate_to: localhost
  run_once: true

- name: Go back to an older backup, keeping the current store aside
  prodgrade.kubernetes.pki_store_restore:
    store: ~/.prodgrade/kubernetes/pki
    backup: /srv/backups/pki/kubernetes-pki-0a1b2c3d4e5f6071.tar.gz.enc
    passphrase: "{{ vault_pki_backup_passphrase }}"
    force: true
  delegate_to: localhost
  run_once: true
  vars:
    # the Python that runs ansible-playbook, which has cryptography
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  register: pki_restore

- name: Where the replaced store went
  ansible.builtin.debug:
    var: pki_restore.moved_aside
  run_once: true
"""

RETURN = r"""
store:
  description: The absolute path of the store.
  returned: success
  type: str
  sample: /home/me/.prodgrade/kubernetes/pki
restored:
  description:
    - The files, relative to the store, written (would be, in check mode); when the store
      already held the backup's files, only those whose mode was set.
  returned: success
  type: list
  elements: str
  sample: [ca.crt, ca.key, etcd/ca.crt, etcd/ca.key, store-id]
moved_aside:
  description:
    - Where the store that was replaced was moved (would be, in check mode); V(null) when no
      store was replaced.
  returned: success
  type: str
  sample: /home/me/.prodgrade/kubernetes/pki.replaced-20260301T120000Z
msg:
  description: What was done, in a sentence.
  returned: success
  type: str
  sample: restored 42 files into /home/me/.prodgrade/kubernetes/pki.
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_store_backup import (  # noqa: E402
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    StoreBackupError,
    restore,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            backup=dict(type="path", required=True),
            passphrase=dict(type="str", required=True, no_log=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(
            msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR
        )
    params = module.params
    try:
        result = restore(
            params["backup"],
            params["store"],
            params["passphrase"],
            force=params["force"],
            check_mode=module.check_mode,
        )
    except StoreBackupError as exc:
        module.fail_json(msg=to_native(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
