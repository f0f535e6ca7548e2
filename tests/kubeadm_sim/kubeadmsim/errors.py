"""Errors the simulator stops with, carrying kubeadm's exit codes.

kubeadm (cmd/kubeadm/app/util/error.go) exits 1 in general, 2 for failed preflight checks and 3
for configuration that does not validate; the simulator does the same.
"""

from __future__ import annotations

DEFAULT_EXIT = 1
PREFLIGHT_EXIT = 2
VALIDATION_EXIT = 3

STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher"


class SimError(Exception):
    """Stop with ``message`` on stderr and ``code`` as the exit status."""

    code = DEFAULT_EXIT

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ValidationError(SimError):
    code = VALIDATION_EXIT


class PreflightError(SimError):
    code = PREFLIGHT_EXIT


class UsageError(SimError):
    """A command line kubeadm's flag parser would refuse."""
