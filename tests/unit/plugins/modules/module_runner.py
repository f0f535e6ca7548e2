"""Run a module's main() in the test process and read back the result it prints.

Shared by the module tests (imported as ``module_runner``: pytest puts this directory on
sys.path). The autouse fixtures in conftest.py reset AnsibleModule's process-wide state.
"""

import contextlib
import io
import json
from unittest import mock

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19

    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield


def run_module_raw(main, args, check_mode=False, diff=False):
    """Run ``main`` with ``args``; return (result, the raw text it printed).

    Asserts the exit status agrees with the result's ``failed`` flag.
    """
    module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(module_args), contextlib.redirect_stdout(out):  # noqa: SIM117
        with pytest.raises(SystemExit) as exit_info:
            main()
    raw = out.getvalue()
    result = json.loads(raw)
    assert (exit_info.value.code not in (0, None)) == bool(result.get("failed"))
    return result, raw


def run_module(main, args, check_mode=False, diff=False):
    """Run ``main`` with ``args``; return the result it printed (failed results included)."""
    return run_module_raw(main, args, check_mode=check_mode, diff=diff)[0]


def warning_texts(result):
    """The result's warnings as plain strings (ansible-core 2.19 may return dicts)."""
    texts = []
    for item in result.get("warnings", []):
        if isinstance(item, dict):
            texts.append(item.get("event", {}).get("msg") or json.dumps(item))
        else:
            texts.append(item)
    return texts
