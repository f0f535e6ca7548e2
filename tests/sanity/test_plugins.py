"""Module and plugin documentation renders and matches the code."""

import importlib
import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))
FILTERS = sorted(
    p.stem for p in (REPO / "plugins" / "filter").glob("*.py") if not p.stem.startswith("_")
)


@pytest.mark.parametrize(
    ("kind", "name"), [("module", m) for m in MODULES] + [("filter", f) for f in FILTERS]
)
def test_ansible_doc_renders(ansible, kind, name):
    res = ansible("ansible-doc", "-t", kind, "--json", f"prodgrade.kubernetes.{name}")
    assert res.returncode == 0, res.stderr
    assert "WARNING" not in res.stderr.upper(), res.stderr
    doc = json.loads(res.stdout)[f"prodgrade.kubernetes.{name}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]


def argument_spec_of(module_name, monkeypatch):
    """The argument_spec the module hands to AnsibleModule, captured without running it."""
    module = importlib.import_module(
        f"ansible_collections.prodgrade.kubernetes.plugins.modules.{module_name}"
    )
    captured = {}

    class Captured(Exception):
        pass

    def fake_init(self, argument_spec, **kwargs):
        captured.update(argument_spec=argument_spec, **kwargs)
        raise Captured

    monkeypatch.setattr(module.AnsibleModule, "__init__", fake_init)
    with pytest.raises(Captured):
        module.main()
    return module, captured


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_match_argument_spec(name, monkeypatch):
    module, captured = argument_spec_of(name, monkeypatch)
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    spec = captured["argument_spec"]
    assert sorted(options) == sorted(spec)
    for opt, doc in options.items():
        code = spec[opt]
        assert doc.get("type", "str") == code.get("type", "str"), opt
        assert doc.get("default") == code.get("default"), opt
        assert doc.get("required", False) == code.get("required", False), opt
        assert doc.get("choices") == code.get("choices"), opt
    attributes = yaml.safe_load(module.DOCUMENTATION).get("attributes", {})
    check_mode = attributes.get("check_mode", {}).get("support") in ("full", "partial")
    assert captured.get("supports_check_mode", False) == check_mode
