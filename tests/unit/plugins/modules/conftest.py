"""Module tests run a module's main() in the test process, as the host would run it."""

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as ansible_warnings


@pytest.fixture(autouse=True)
def _as_on_a_host(monkeypatch):
    """Importing controller code (a filter's tests, say) marks the process as the controller,
    and modules then hand warnings to the controller's display instead of their result."""
    monkeypatch.setattr(_internal, "is_controller", False)


@pytest.fixture(autouse=True)
def _fresh_warnings():
    """AnsibleModule keeps warnings in a process-wide dict; isolate every test."""
    ansible_warnings._global_warnings.clear()
    yield
    ansible_warnings._global_warnings.clear()
