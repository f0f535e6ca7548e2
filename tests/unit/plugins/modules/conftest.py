"""Module tests run a module's main() in the test process, as the host would run it."""

import pytest
from ansible.module_utils import _internal


@pytest.fixture(autouse=True)
def _as_on_a_host(monkeypatch):
    """Importing controller code (a filter's tests, say) marks the process as the controller,
    and modules then hand warnings to the controller's display instead of their result."""
    monkeypatch.setattr(_internal, "is_controller", False)
