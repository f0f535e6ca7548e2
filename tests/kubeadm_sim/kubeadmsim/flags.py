"""Command-line parsing the way kubeadm's cobra/pflag does it, and redaction of secrets in argv.

Flags: ``--name=value`` or ``--name value``; booleans ``--name`` or ``--name=true|false``; string
lists comma-separated and repeatable; shorthands ``-v 5``, ``-v=5``, ``-v5``, ``-f``. An unknown
flag is an error (``unknown flag: --name``), as in kubeadm.
"""

from __future__ import annotations

import re

from .errors import UsageError

BOOTSTRAP_TOKEN = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
REDACTED = "<redacted>"
# Flags whose value is a secret (or, for --discovery-token*, part of the join secret set).
SECRET_FLAGS = ("--token", "--certificate-key", "--tls-bootstrap-token")
SECRET_PREFIXES = ("--discovery-token",)
BOOLEAN_SECRET_LOOKALIKES = ("--discovery-token-unsafe-skip-ca-verification",)

GLOBAL = {"v": "str", "help": "bool", "rootfs": "str", "log-file": "str"}
GLOBAL_SHORT = {"v": "v", "h": "help"}


def _is_secret_flag(name):
    if name in BOOLEAN_SECRET_LOOKALIKES:
        return False
    return name in SECRET_FLAGS or name.startswith(SECRET_PREFIXES)


def redact(argv):
    """``(redacted argv, count)``: values of secret flags and anything shaped like a bootstrap
    token are replaced by ``<redacted>``."""
    out = []
    count = 0
    take_next = False
    for arg in argv:
        if take_next:
            take_next = False
            out.append(REDACTED)
            count += 1
            continue
        if arg.startswith("--"):
            name, eq, _ = arg.partition("=")
            if _is_secret_flag(name):
                if eq:
                    out.append(f"{name}={REDACTED}")
                    count += 1
                else:
                    take_next = True
                    out.append(arg)
                continue
        new, hits = BOOTSTRAP_TOKEN.subn(REDACTED, arg)
        count += hits
        out.append(new)
    return out, count


class Parsed:
    def __init__(self):
        self.values = {}
        self.changed = []
        self.args = []

    def get(self, name, default=None):
        return self.values.get(name, default)

    def has(self, name):
        return name in self.values


def _bool(text, name):
    lowered = text.lower()
    if lowered in ("true", "1", "t"):
        return True
    if lowered in ("false", "0", "f"):
        return False
    raise UsageError(
        f'invalid argument "{text}" for "--{name}" flag: strconv.ParseBool: parsing "{text}": '
        "invalid syntax"
    )


def parse(argv, spec, shorts=None):
    """Parse ``argv`` against ``spec`` ({long name: "bool"|"str"|"list"}) plus the global flags."""
    spec = dict(GLOBAL, **spec)
    shorts = dict(GLOBAL_SHORT, **(shorts or {}))
    result = Parsed()
    items = list(argv)
    index = 0

    def store(name, kind, value):
        if kind == "bool":
            result.values[name] = value if isinstance(value, bool) else _bool(value, name)
        elif kind == "list":
            parts = [part for part in value.split(",") if part != ""]
            result.values.setdefault(name, []).extend(parts)
        else:
            result.values[name] = value
        if name not in result.changed:
            result.changed.append(name)

    while index < len(items):
        arg = items[index]
        index += 1
        if arg == "--":
            result.args.extend(items[index:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            kind = spec.get(name)
            if kind is None:
                raise UsageError(f"unknown flag: --{name}")
            if kind == "bool":
                store(name, kind, value if eq else True)
            elif eq:
                store(name, kind, value)
            else:
                if index >= len(items):
                    raise UsageError(f"flag needs an argument: --{name}")
                store(name, kind, items[index])
                index += 1
        elif arg.startswith("-") and len(arg) > 1:
            letter = arg[1]
            name = shorts.get(letter)
            if name is None:
                raise UsageError(f"unknown shorthand flag: '{letter}' in {arg}")
            kind = spec[name]
            rest = arg[2:]
            if kind == "bool":
                store(name, kind, rest[1:] if rest.startswith("=") else True)
            elif rest:
                store(name, kind, rest[1:] if rest.startswith("=") else rest)
            else:
                if index >= len(items):
                    raise UsageError(f"flag needs an argument: '{letter}' in -{letter}")
                store(name, kind, items[index])
                index += 1
        else:
            result.args.append(arg)
    return result
