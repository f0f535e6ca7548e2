"""A small JSON Schema (draft 2020-12) validator: the subset the simulator's schemas use.

Supported: ``type`` (one or a list), ``properties``, ``additionalProperties`` (bool or schema),
``required``, ``enum``, ``const``, ``items``, ``minItems``, ``minLength``, ``pattern``,
``minimum``, ``maximum``, ``not``, ``anyOf``, ``oneOf``, ``allOf`` and local ``$ref``
(``#/$defs/...``). Annotations (``$comment``, ``description``, ``title``, ...) are ignored, except
``x-kubeadm-sim-hint``, whose text is added to any error found at that schema.

The nodes run this with the system ``python3`` only, so it needs nothing beyond the standard
library. Errors name the field path the way Kubernetes does (``nodeRegistration.taints[0].effect``).
"""

from __future__ import annotations

import json
import os
import re

HINT = "x-kubeadm-sim-hint"
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas")

_PATTERNS = {}


class SchemaError(ValueError):
    """The schema itself uses something this validator does not implement."""


def type_name(value):
    """The JSON type of a decoded YAML/JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value, wanted):
    actual = type_name(value)
    if wanted == "number":
        return actual in ("integer", "number")
    if wanted == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == wanted


def join_path(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _show(value):
    return json.dumps(value, ensure_ascii=False, default=str)


class Validator:
    """Validate documents against one schema; ``errors(doc)`` returns ``[(path, message)]``."""

    KNOWN = frozenset(
        {
            "$schema",
            "$id",
            "$comment",
            "$defs",
            "$ref",
            "title",
            "description",
            "default",
            "examples",
            HINT,
            "type",
            "properties",
            "additionalProperties",
            "required",
            "enum",
            "const",
            "items",
            "minItems",
            "minLength",
            "pattern",
            "minimum",
            "maximum",
            "not",
            "anyOf",
            "oneOf",
            "allOf",
        }
    )

    def __init__(self, schema):
        self.root = schema
        self._check_keywords(schema)

    def _check_keywords(self, node):
        if isinstance(node, dict):
            unknown = set(node) - self.KNOWN
            # Inside "properties" and "$defs" the keys are names, not keywords.
            for key, value in node.items():
                if key in ("properties", "$defs"):
                    for sub in value.values():
                        self._check_keywords(sub)
                elif key not in ("enum", "const", "required", "examples", "default"):
                    self._check_keywords(value)
            if unknown:
                raise SchemaError(f"unsupported schema keywords: {sorted(unknown)}")
        elif isinstance(node, list):
            for value in node:
                self._check_keywords(value)

    def _resolve(self, reference):
        if not reference.startswith("#/"):
            raise SchemaError(f"only local references are supported, not {reference!r}")
        node = self.root
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, value, path=""):
        found = []
        self._validate(value, self.root, path, found)
        return found

    def _validate(self, value, schema, path, found):
        start = len(found)
        self._check(value, schema, path, found)
        hint = schema.get(HINT)
        if hint:
            for index in range(start, len(found)):
                where, message = found[index]
                if where == path and hint not in message:
                    found[index] = (where, f"{message} ({hint})")

    def _check(self, value, schema, path, found):
        if "$ref" in schema:
            self._validate(value, self._resolve(schema["$ref"]), path, found)
        if "const" in schema and value != schema["const"]:
            found.append((path, f"must be {_show(schema['const'])}, got {_show(value)}"))
            return
        wanted = schema.get("type")
        if wanted is not None:
            kinds = wanted if isinstance(wanted, list) else [wanted]
            if not any(_is_type(value, kind) for kind in kinds):
                got = type_name(value)
                extra = ""
                if value is None:
                    extra = " (an empty YAML value is null: give the value, or leave the key out)"
                found.append((path, f"expected {' or '.join(kinds)}, got {got}{extra}"))
                return
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(_show(item) for item in schema["enum"])
            found.append((path, f"unsupported value {_show(value)}: supported values: {allowed}"))
        if isinstance(value, str):
            self._check_string(value, schema, path, found)
        if type_name(value) in ("integer", "number"):
            if "minimum" in schema and value < schema["minimum"]:
                found.append((path, f"{value} is less than the minimum {schema['minimum']}"))
            if "maximum" in schema and value > schema["maximum"]:
                found.append((path, f"{value} is greater than the maximum {schema['maximum']}"))
        if isinstance(value, dict):
            self._check_object(value, schema, path, found)
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                found.append((path, f"needs at least {schema['minItems']} item(s)"))
            if "items" in schema:
                for index, item in enumerate(value):
                    self._validate(item, schema["items"], join_path(path, index), found)
        self._check_combinators(value, schema, path, found)

    def _check_string(self, value, schema, path, found):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append((path, "must not be empty"))
        pattern = schema.get("pattern")
        if pattern is not None:
            compiled = _PATTERNS.get(pattern)
            if compiled is None:
                compiled = _PATTERNS[pattern] = re.compile(pattern)
            if not compiled.search(value):
                found.append((path, f"invalid value {_show(value)}: does not match {pattern}"))

    def _check_object(self, value, schema, path, found):
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                found.append((join_path(path, name), "required field is missing"))
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                found.append((path, f"field names must be strings, got {_show(key)}"))
                continue
            where = join_path(path, key)
            if key in properties:
                self._validate(item, properties[key], where, found)
            elif extra is False:
                found.append((where, f'strict decoding error: unknown field "{where}"'))
            elif isinstance(extra, dict):
                self._validate(item, extra, where, found)

    def _check_combinators(self, value, schema, path, found):
        if "not" in schema and not self.errors_at(value, schema["not"], path):
            message = "must not match the excluded form"
            required = schema["not"].get("required")
            if required:
                message = f"must not set all of {', '.join(required)} together"
            found.append((path, message))
        for sub in schema.get("allOf", ()):
            self._validate(value, sub, path, found)
        if "anyOf" in schema:
            results = [self.errors_at(value, sub, path) for sub in schema["anyOf"]]
            if all(results):
                found.extend(min(results, key=len))
        if "oneOf" in schema:
            results = [self.errors_at(value, sub, path) for sub in schema["oneOf"]]
            matching = sum(1 for result in results if not result)
            if matching == 0:
                found.extend(min(results, key=len))
            elif matching > 1:
                found.append((path, "matches more than one of the allowed forms"))

    def errors_at(self, value, schema, path):
        found = []
        self._validate(value, schema, path, found)
        return found


_VALIDATORS = {}


def schema_file(api_version, kind):
    group_version = api_version.replace("/", "_")
    return os.path.join(SCHEMA_DIR, f"{group_version}_{kind}.json")


def load_validator(api_version, kind):
    """The validator for one kind, or None when there is no schema for it."""
    key = (api_version, kind)
    if key not in _VALIDATORS:
        path = schema_file(api_version, kind)
        if not os.path.isfile(path):
            _VALIDATORS[key] = None
        else:
            with open(path, encoding="utf-8") as handle:
                _VALIDATORS[key] = Validator(json.load(handle))
    return _VALIDATORS[key]


def known_kinds():
    """Every ``(apiVersion, kind)`` with a schema file."""
    kinds = []
    for name in sorted(os.listdir(SCHEMA_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(SCHEMA_DIR, name), encoding="utf-8") as handle:
                properties = json.load(handle)["properties"]
            kinds.append((properties["apiVersion"]["const"], properties["kind"]["const"]))
    return kinds
