"""Every role documents its interface in meta/argument_specs.yml, and it matches defaults."""

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())


def load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else None


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults = load(ROLES_DIR / role / "defaults" / "main.yml") or {}
    specs = load(ROLES_DIR / role / "meta" / "argument_specs.yml")
    assert specs, f"roles/{role}/meta/argument_specs.yml is missing"
    options = specs["argument_specs"]["main"].get("options") or {}
    assert sorted(options) == sorted(defaults), (
        f"{role}: options and defaults differ: only in specs "
        f"{sorted(set(options) - set(defaults))}, only in defaults "
        f"{sorted(set(defaults) - set(options))}"
    )
    for name, spec in options.items():
        assert name.startswith(role + "_"), f"{role}: {name} lacks the {role}_ prefix"
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec.get("default") == defaults[name], (
            f"{role}: {name} defaults to {defaults[name]!r} but the spec says "
            f"{spec.get('default')!r}"
        )


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_are_marked(role):
    """Variables in vars/ are internal: double underscore and the role's name."""
    internal = load(ROLES_DIR / role / "vars" / "main.yml") or {}
    for name in internal:
        assert name.startswith(f"__{role}_"), f"{role}: vars/main.yml defines {name}"
