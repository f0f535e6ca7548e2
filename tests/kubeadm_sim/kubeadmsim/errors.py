"""Errors the simulator stops with, carrying kubeadm's exit codes.

kubeadm (cmd/kubeadm/app/util/error.go) exits 1 in general, 2 for failed preflight checks and 3
for configuration that does not validate; the simulator does the same.
"""

from __future__ import annotations

import time

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


def run_and_log(ctx, argv, dispatch, report, log_call, tool):
    """Run ``dispatch(ctx, argv)`` as one of the stand-ins' entry points do, and log the call.

    A ``SimError`` is written by ``report(exc, ctx.err)``, which returns the exit code (each tool
    words its errors its own way). The call is logged whatever happened, with its times and code.
    """
    start = time.time()
    code = 0
    try:
        code = dispatch(ctx, argv)
    except SimError as exc:
        code = report(exc, ctx.err)
    finally:
        try:
            log_call(ctx, argv, start, time.time(), code)
        except OSError as exc:
            print(f"{tool}: could not write the call log: {exc}", file=ctx.err)
    return code
