#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_store_backup
short_description: Back up the PKI store on the controller into an encrypted file
version_added: 0.2.0
description:
  - Packs every file of the PKI store kept by M(prodgrade.kubernetes.pki) into a
    gzip-compressed tar and encrypts it with a passphrase, in a format the stock C(openssl)
    command decrypts (see the notes), so the store can be restored without Ansible.
  - Run it on the controller, once per play (C(delegate_to=localhost), C(run_once=true)).
  - The file is C(<cluster_name>-pki-<digest>.tar.gz.enc) in O(dest), where C(<digest>) is the
    first 16 hex digits of the sha256 over the path, mode and bytes of every file of the store.
    When that file exists already, the store has not changed since that backup and nothing is
    written, so the module can run after every change of the PKI.
  - The tar holds paths relative to the store, regular files and directories only, with their
    modes, owned by root and dated 1970-01-01, so identical stores give identical tars. The
    store's C(.lock) and temporary C(.pki-*) files are left out.
  - The file is written atomically with mode C(0600); O(dest) and its missing parents are
    created with mode C(0700).
  - After writing a new backup, this cluster's older backups in O(dest) beyond the O(keep)
    newest (by modification time) are removed. Backups of other clusters and other files are
    never touched.
options:
  store:
    description:
      - The PKI store directory on the controller, as given to M(prodgrade.kubernetes.pki).
      - Entries that are neither regular files nor directories (symbolic links, for example)
        make the module fail rather than be left out of the backup.
    type: path
    required: true
  dest:
    description:
      - The directory on the controller that receives the backup files. Must be outside
        O(store).
    type: path
    required: true
  passphrase:
    description:
      - The passphrase the backup is encrypted with, at least 12 characters. Keep it somewhere
        else than the backups, for example in Ansible Vault.
      - The same passphrase is needed by M(prodgrade.kubernetes.pki_store_restore) or C(openssl)
        to restore.
    type: str
    required: true
  cluster_name:
    description:
      - The first part of the file name; also selects which backups O(keep) applies to.
      - Letters, digits, C(.), C(_) and C(-), starting and ending with a letter or digit.
    type: str
    default: kubernetes
  keep:
    description:
      - How many backups of this cluster to keep in O(dest), the new one included; at least 1.
    type: int
    default: 10
attributes:
  check_mode:
    description: Reports whether a backup would be made and which old ones would be removed.
    support: full
  diff_mode:
    description: Not supported; RV(path) and RV(pruned) say what changes.
    support: none
  platform:
    description: Runs on the controller; needs the Python library C(cryptography) there.
    platforms: posix
    support: full
requirements:
  - cryptography (on the controller, in the Python that runs the module)
notes:
  - >-
    The file is what C(openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -salt) writes:
    C(Salted__), an 8-byte random salt, then the tar.gz encrypted with AES-256-CBC and PKCS#7
    padding, with key and IV derived from the passphrase and the salt by PBKDF2-HMAC-SHA256
    with 600000 iterations.
  - >-
    To restore by hand: C(mkdir -m 0700 STORE), then
    C(openssl enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -in FILE | tar -xz -C STORE)
    (C(openssl) asks for the passphrase).
  - >-
    The encryption is not authenticated: a wrong passphrase is detected (the module says so),
    but keep the backups where nobody can modify them unnoticed.
  - With C(delegate_to=localhost), Ansible runs the module with the Python it discovers on the
    controller, which may not be the one that has C(cryptography). Set
    C(ansible_python_interpreter) for the task (for example to C({{ ansible_playbook_python }}))
    when needed.
  - A store with no files gives no backup; RV(msg) says so and RV(changed) is V(false).
seealso:
  - module: prodgrade.kubernetes.pki_store_restore
  - module: prodgrade.kubernetes.pki
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Back up the PKI store after every change, keeping the 10 newest backups
  prodgrade.kubernetes.pki_store_backup:
    store: ~/.prodgrade/kubernetes/pki
    dest: /srv/backups/pki
    passphrase: "{{ vault_pki_backup_passphrase }}"
  delegate_to: localhost
  run_once: true
  register: pki_backup

- name: Several clusters in one backup directory, 30 backups each
  prodgrade.kubernetes.pki_store_backup:
    store: "{{ playbook_dir }}/pki/prod"
    dest: /srv/backups/pki
    passphrase: "{{ vault_pki_backup_passphrase }}"
    cluster_name: prod
    keep: 30
  delegate_to: localhost
  run_once: true
  vars:
    # the Python that runs ansible-playbook, which has cryptography
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""

RETURN = r"""
path:
  description:
    - The backup file of the store's current content, created or found; V(null) when the
      store has no files.
  returned: success
  type: str
  sample: /srv/backups/pki/kubernetes-pki-3f1c9a0b7d2e4f56.tar.gz.enc
digest:
  description: The sha256 (hex) over the path, mode and bytes of every file of the store.
  returned: success
  type: str
  sample: 3f1c9a0b7d2e4f5601b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718
created:
  description: Whether a new backup file was written (would be, in check mode).
  returned: success
  type: bool
  sample: true
pruned:
  description: Older backups of this cluster that were removed (would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/srv/backups/pki/kubernetes-pki-0a1b2c3d4e5f6071.tar.gz.enc]
files:
  description: How many files of the store the backup holds.
  returned: success
  type: int
  sample: 42
msg:
  description: What was done, in a sentence.
  returned: success
  type: str
  sample: created /srv/backups/pki/kubernetes-pki-3f1c9a0b7d2e4f56.tar.gz.enc.
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_store_backup import (  # noqa: E402
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    StoreBackupError,
    backup,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            passphrase=dict(type="str", required=True, no_log=True),
            cluster_name=dict(type="str", default="kubernetes"),
            keep=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(
            msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR
        )
    params = module.params
    try:
        result = backup(
            params["store"],
            params["dest"],
            params["passphrase"],
            params["cluster_name"],
            params["keep"],
            check_mode=module.check_mode,
        )
    except StoreBackupError as exc:
        module.fail_json(msg=to_native(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
