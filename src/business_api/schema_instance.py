"""A small, deterministic instance of a JSON Schema (what the mock puts in tool arguments and JSON answers)."""

from __future__ import annotations

import math
import re
from typing import Any

from . import regex_example

MAX_DEPTH = 64  # a $ref cycle that every instance must follow cannot be satisfied; stop instead of recursing forever
FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com",
    "uri-reference": "https://example.com",
    "iri": "https://example.com",
    "iri-reference": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "json-pointer": "/",
    "relative-json-pointer": "0",
    "regex": ".*",
}
# Tried in order when a string has a `pattern`, after the format's value and regex_example's guess.
PATTERN_CANDIDATES = ("string", "a", "A", "0", "a0", "A0", "aa", "00", "example", "", "x-0", "user@example.com")
DEFAULT_STRING = "string"
KEYWORD_TYPES = (
    ("object", ("properties", "required", "additionalProperties", "minProperties", "patternProperties")),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "contains")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)


class SchemaError(ValueError):
    """The schema cannot be read (a $ref that points nowhere)."""


def minimal_instance(schema: Any) -> Any:
    """The smallest sensible value valid against `schema`: required properties only, first enum value, etc."""
    try:
        return _Generator(schema).instance(schema, 0)
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as error:
        # Schemas come from clients: a malformed one is their error to fix, not a crash of the mock.
        raise SchemaError(f"cannot build an instance of the schema: {error}") from None


class _Generator:
    def __init__(self, root: Any):
        self.root = root

    def instance(self, schema: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or not isinstance(schema, dict):
            return None  # `true`, `{}` and runaway recursion: null is as small as it gets
        schema = self.flatten(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth)
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer")
        if kind == "boolean":
            return False
        return None

    def flatten(self, schema: dict) -> dict:
        """The schema with $ref resolved, allOf merged in and anyOf/oneOf replaced by their first choice."""
        for _ in range(MAX_DEPTH):
            if "$ref" in schema:
                rest = {key: value for key, value in schema.items() if key != "$ref"}
                schema = _merge(self.resolve(schema["$ref"]), rest)  # 2019+: siblings of $ref still apply
            elif "allOf" in schema:
                rest = {key: value for key, value in schema.items() if key != "allOf"}
                parts = [self.flatten(part) for part in schema["allOf"] if isinstance(part, dict)]
                schema = _merge_all(parts + [rest])
            elif schema.get("anyOf") or schema.get("oneOf"):
                key = "anyOf" if schema.get("anyOf") else "oneOf"
                rest = {name: value for name, value in schema.items() if name != key}
                schema = _merge(rest, _first_choice(schema[key]))
            else:
                return schema
        return {}

    def resolve(self, ref: str) -> dict:
        """A local reference: "#", "#/$defs/Name", "#/definitions/Name" or any JSON pointer into the root."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"only local $ref values are supported, got {ref!r}")
        target = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            elif isinstance(target, dict) and token in target:
                target = target[token]
            else:
                raise SchemaError(f"$ref {ref!r} points nowhere in the schema")
        return target if isinstance(target, dict) else {}

    def object(self, schema: dict, depth: int) -> dict:
        properties = schema.get("properties") or {}
        names = [name for name in schema.get("required") or [] if isinstance(name, str)]
        # minProperties beyond the required ones: take optional properties in their declared order.
        extra = [name for name in properties if name not in names]
        names += extra[: max(0, schema.get("minProperties", 0) - len(names))]
        result = {}
        for name in dict.fromkeys(names):
            if name in properties:
                result[name] = self.instance(properties[name], depth + 1)
            else:
                additional = schema.get("additionalProperties")
                result[name] = self.instance(additional if isinstance(additional, dict) else {}, depth + 1)
        return result

    def array(self, schema: dict, depth: int) -> list:
        count = max(schema.get("minItems", 0), 1 if "contains" in schema else 0)
        prefix = schema.get("prefixItems") or (schema["items"] if isinstance(schema.get("items"), list) else [])
        rest = schema.get("items") if isinstance(schema.get("items"), dict) else schema.get("additionalItems")
        rest = rest if isinstance(rest, dict) else schema.get("contains", {})
        items = [self.instance(item, depth + 1) for item in prefix[:count]]
        for index in range(len(items), count):
            item = self.instance(rest, depth + 1)
            items.append(_distinct(item, index) if schema.get("uniqueItems") else item)
        return items


def _type_of(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((name for name in kind if name != "null"), kind[0] if kind else None)
    if kind is None:  # no "type": guess from the keywords, as validators apply them only to matching types
        kind = next((name for name, keys in KEYWORD_TYPES if any(key in schema for key in keys)), None)
    return kind


def _first_choice(choices: Any) -> dict:
    """The first alternative that is not just null (pydantic's Optional[X] is anyOf [X, null])."""
    usable = [choice for choice in choices if isinstance(choice, dict)] if isinstance(choices, list) else []
    preferred = [choice for choice in usable if choice.get("type") != "null"]
    return (preferred or usable or [{}])[0]


def _merge(base: dict, extra: dict) -> dict:
    """Two schemas that must both hold, as one: properties and required are combined, other keys from `extra`."""
    merged = {**base, **extra}
    if "properties" in base and "properties" in extra:
        both = {**base["properties"], **extra["properties"]}
        for name in base["properties"].keys() & extra["properties"].keys():
            both[name] = {"allOf": [base["properties"][name], extra["properties"][name]]}  # both constraints hold
        merged["properties"] = both
    if "required" in base and "required" in extra:
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    for key in ("minimum", "exclusiveMinimum", "minItems", "minLength", "minProperties"):
        if isinstance(base.get(key), (int, float)) and isinstance(extra.get(key), (int, float)):
            merged[key] = max(base[key], extra[key])
    for key in ("maximum", "exclusiveMaximum", "maxItems", "maxLength"):
        if isinstance(base.get(key), (int, float)) and isinstance(extra.get(key), (int, float)):
            merged[key] = min(base[key], extra[key])
    return merged


def _merge_all(parts: list[dict]) -> dict:
    merged: dict = {}
    for part in parts:
        merged = _merge(merged, part)
    return merged


def _string(schema: dict) -> str:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    value = FORMATS.get(str(schema.get("format")), DEFAULT_STRING)
    if "pattern" in schema:
        value = _matching(schema["pattern"], low, high, value)
    if len(value) < low:
        value += "x" * (low - len(value))
    if high is not None and len(value) > high:
        value = value[:high]
    return value


def _matching(pattern: str, low: int, high: int | None, preferred: str) -> str:
    guess = regex_example.example(pattern) if isinstance(pattern, str) else None
    for candidate in (preferred, *((guess,) if guess is not None else ()), *PATTERN_CANDIDATES):
        padded = candidate + "x" * max(0, low - len(candidate))
        try:
            if (high is None or len(padded) <= high) and re.search(pattern, padded):
                return padded
        except re.error:  # ECMA-262 syntax Python does not read: keep the plain value
            break
    return preferred


def _number(schema: dict, integer: bool) -> int | float:
    """The lower bound if there is one (an exclusive one plus 1), else 0 unless that is too big; multipleOf kept."""
    low, open_low, high, open_high = _bounds(schema)
    floors = [value for value in (low, None if open_low is None else open_low + 1) if value is not None]
    ceilings = [value for value in (high, None if open_high is None else open_high - 1) if value is not None]
    value = max(floors) if floors else 0
    if ceilings and value > min(ceilings):
        # A range narrower than the +1 step: its middle (or its top when there is no bottom).
        bottom = max(v for v in (low, open_low) if v is not None) if floors else None
        top = min(v for v in (high, open_high) if v is not None)
        value = min(ceilings) if bottom is None else (bottom + top) / 2
    step = schema.get("multipleOf")
    if _is_number(step) and step > 0:
        value = math.ceil(value / step) * step  # up, so that the lower bound still holds
    return math.ceil(value) if integer else value


def _bounds(schema: dict) -> tuple:
    """minimum, exclusiveMinimum, maximum, exclusiveMaximum as numbers or None (draft 4's flags read too)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    open_low, open_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if open_low is True:  # draft 4: a flag that makes `minimum` exclusive
        open_low, low = low, None
    if open_high is True:
        open_high, high = high, None
    return tuple(value if _is_number(value) else None for value in (low, open_low, high, open_high))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _distinct(item: Any, index: int) -> Any:
    """Items of a uniqueItems array made different from each other where the type allows it."""
    if isinstance(item, bool) or index == 0:
        return item
    if isinstance(item, str):
        return f"{item}{index}"
    if isinstance(item, (int, float)):
        return item + index
    return item
