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
  - Runs on the controller as an action plugin (no module process is started), once per play
    (C(run_once=true)), before the M(prodgrade.kubernetes.pki) module issues anything.
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

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import (  # noqa: E402
    guard,
)

ARGUMENT_SPEC = dict(
    store=dict(type="path", required=True),
    hosts=dict(type="dict", required=True),
    lock=dict(type="bool", default=True),
    lock_wait=dict(type="int", default=0),
)


def main():
    # The pki_guard action plugin does the same on the controller without starting a module;
    # this entry point serves a direct module call.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    failure, result = guard(params["store"], params["hosts"], params["lock"], params["lock_wait"])
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
