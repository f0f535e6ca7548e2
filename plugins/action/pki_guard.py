# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of prodgrade.kubernetes.pki_guard: the whole check runs here.

Reading the store and taking its lock are controller work; doing it in the action saves the
module process a delegated module would start (about half a second per run). The lock's owner
is still the ansible-playbook run: this worker is a fork of it. The documentation lives with
the module.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.prodgrade.kubernetes.plugins.module_utils.pki_trust import guard
from ansible_collections.prodgrade.kubernetes.plugins.modules.pki_guard import ARGUMENT_SPEC


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        store = params["store"]
        if not isinstance(params["hosts"], dict):
            raise AnsibleActionFail("pki_guard: hosts must be a dictionary of host reports")
        failure, outcome = guard(store, params["hosts"], params["lock"], params["lock_wait"])
        result.update(outcome)
        if failure:
            result["failed"] = True
            result["msg"] = failure
        return result
