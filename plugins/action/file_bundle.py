# Copyright: (c) 2026, prodgrade.kubernetes contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of prodgrade.kubernetes.file_bundle.

Reads every ``src`` on the controller, base64-encodes it and runs the module on the host once
with all files and directories. The documentation lives with the module.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

MODULE = "prodgrade.kubernetes.file_bundle"
ITEM_KEYS = frozenset(("src", "content", "dest", "mode", "owner", "group", "show_diff"))
HIDDEN = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "directories", "links", "create_dirs", "dir_mode"))
    _supports_check_mode = True
    _supports_async = False

    def _read_src(self, src):
        """Return the bytes of ``src`` on the controller, decrypting Ansible Vault files."""
        try:
            path = self._find_needle("files", src)
        except AnsibleError:
            raise AnsibleActionFail(
                f"file_bundle: {src} does not exist on the controller"
            ) from None
        if os.path.isdir(path):
            raise AnsibleActionFail(
                f"file_bundle: {src} is a directory on the controller, not a file"
            )
        real = None
        try:
            real = self._loader.get_real_file(path, decrypt=True)
            with open(real, "rb") as handle:
                return handle.read()
        except (OSError, AnsibleError) as exc:
            raise AnsibleActionFail(
                f"file_bundle: {src} cannot be read on the controller: {to_native(exc)}"
            ) from None
        finally:
            if real is not None:
                self._loader.cleanup_tmp_file(real)

    def _module_files(self, files, directories=None, links=None):
        """The ``files`` argument for the module: every item carrying base64 content.

        ``files`` may be empty (or left out) when ``directories`` or ``links`` is not; the items
        of ``directories`` and ``links`` are checked by the module.
        """
        if files is None:
            files = []
        if directories is None:
            directories = []
        if not isinstance(files, list):
            raise AnsibleActionFail("file_bundle: files must be a list of dictionaries")
        if not isinstance(directories, list):
            raise AnsibleActionFail("file_bundle: directories must be a list of dictionaries")
        if not files and not directories and not links:
            raise AnsibleActionFail(
                "file_bundle: nothing to do: give at least one item in files, directories or links"
            )
        problems = []
        items = []
        for number, item in enumerate(files, start=1):
            if not isinstance(item, Mapping):
                problems.append(f"item {number} of files is not a dictionary")
                continue
            name = item.get("dest") or f"item {number} of files"
            unknown = sorted(set(item) - ITEM_KEYS)
            if unknown:
                problems.append(
                    f"{name}: unsupported key(s) {', '.join(map(str, unknown))}; "
                    f"supported are {', '.join(sorted(ITEM_KEYS))}"
                )
            if not item.get("dest"):
                problems.append(f"{name} has no dest")
            has_src = item.get("src") is not None
            has_content = item.get("content") is not None
            if has_src == has_content:
                problems.append(f"{name} needs exactly one of src or content")
            items.append(item)
        if problems:
            raise AnsibleActionFail("file_bundle: " + "; ".join(problems))

        result = []
        for item in items:
            module_item = {k: v for k, v in item.items() if k != "src"}
            if item.get("src") is not None:
                data = self._read_src(to_text(item["src"], errors="surrogate_or_strict"))
                module_item["content"] = base64.b64encode(data).decode("ascii")
            result.append(module_item)
        return result

    def _invocation(self):
        """What the task was called with, with every content hidden."""
        args = dict(self._task.args)
        files = args.get("files")
        if isinstance(files, list):
            args["files"] = [
                {k: (HIDDEN if k == "content" else v) for k, v in item.items()}
                if isinstance(item, Mapping)
                else item
                for item in files
            ]
        return {"module_args": args}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # no longer used

        try:
            module_args = dict(self._task.args)
            module_args["files"] = self._module_files(
                self._task.args.get("files"),
                self._task.args.get("directories"),
                self._task.args.get("links"),
            )
            result.update(
                self._execute_module(
                    module_name=MODULE, module_args=module_args, task_vars=task_vars
                )
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

        # The module masks the contents itself (no_log); the invocation is rebuilt here anyway
        # so that no content can reach the task result, the callbacks or a registered variable.
        result["invocation"] = self._invocation()
        return result
