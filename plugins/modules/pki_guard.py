#!/usr/bin/python
# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_guard
short_description: Refuse to use a PKI store that does not hold what the hosts already trust
version_added: 0.2.0
description:
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)) before the
    M(prodgrade.kubernetes.pki) module issues anything.
  - Compares the CA certificates and service-account key each host already holds (reports of
    M(prodgrade.kubernetes.pki_trust)) with the store's. A host that trusts a CA or key the
    store does not have (the store is missing, empty, or another cluster's) fails the task with
    one message naming the hosts, the fingerprints on them and in the store, and the ways out.
    Hosts that hold nothing yet, or exactly the store's trust, pass.
  - Takes the store's lock for the ansible-playbook run it belongs to, so two runs cannot
    write one store at once. The lock ends with the run; a lock left by a run that has ended
    is taken over.
options:
  store:
    description: The PKI store directory on the controller (the C(store) of
      M(prodgrade.kubernetes.pki)).
    type: path
    required: true
  hosts:
    description: For each host, what M(prodgrade.kubernetes.pki_trust) reported.
    type: dict
    required: true
  lock:
    description: Take the store's lock for this run (creating the store directory, 0700, when
      missing).
    type: bool
    default: true
  lock_wait:
    description: Seconds to wait for another run's lock before failing.
    type: int
    default: 0
attributes:
  check_mode:
    description: Compares as usual; the lock is taken in check mode too, since a check run
      reads the store while another run may be writing it.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
  platform:
    description: A POSIX controller; the lock's liveness check reads C(/proc) (Linux).
    platforms: posix
    support: full
seealso:
  - module: prodgrade.kubernetes.pki_trust
  - module: prodgrade.kubernetes.pki
author:
  - prodgrade.kubernetes contributors
"""

EXAMPLES = r"""
- name: Read what each host trusts
  prodgrade.kubernetes.pki_trust:
  register: trust

- name: Refuse a store that is not this cluster's
  prodgrade.kubernetes.pki_guard:
    store: ~/.prodgrade/kubernetes/pki
    hosts: "{{ dict(ansible_play_hosts
                    | zip(ansible_play_hosts | map('extract', hostvars, 'trust'))) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
store_trust:
  description: What the store holds, in the form of M(prodgrade.kubernetes.pki_trust)'s result.
  returned: always
  type: dict
hosts_with_trust:
  description: The hosts that already hold a CA or service-account key (all of them matching
    the store when the task succeeds).
  returned: success
  type: list
  elements: str
lock:
  description: The lock file, and the holder whose ended run it took over (or null).
  returned: when O(lock=true)
  type: dict
  sample: {path: /home/me/.prodgrade/kubernetes/pki/.lock, taken_over: null}
"""

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import (  # noqa: E402
    STORE_MARKER,
    compare,
    holds_trust,
    read_trust,
    refusal,
)
from ansible_collections.prodgrade.kubernetes.plugins.module_utils.store_lock import (  # noqa: E402
    StoreLocked,
    acquire,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            hosts=dict(type="dict", required=True),
            lock=dict(type="bool", default=True),
            lock_wait=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    store = module.params["store"]
    result = {"changed": False}
    if module.params["lock"]:
        try:
            result["lock"] = acquire(store, wait_seconds=module.params["lock_wait"])
        except StoreLocked as exc:
            module.fail_json(msg=str(exc))
        except OSError as exc:
            module.fail_json(msg=f"Cannot lock the PKI store {store}: {exc}.")
    store_trust = read_trust(store, marker=STORE_MARKER) if os.path.isdir(store) else {}
    result["store_trust"] = store_trust
    if store_trust.get("errors"):
        module.fail_json(
            msg="The PKI store cannot be read: " + "; ".join(store_trust["errors"]),
            **result,
        )
    hosts = module.params["hosts"]
    findings = compare(store_trust, hosts)
    if findings:
        module.fail_json(
            msg=refusal(findings, store, store_trust, hosts), findings=findings, **result
        )
    result["hosts_with_trust"] = sorted(
        host for host, report in hosts.items() if holds_trust(report or {})
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
