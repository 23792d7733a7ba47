"""Plain field paths (`usage.prompt_tokens`, `error.message || error`) searched without JMESPath's interpreter.

A stream runs several of a file's expressions on every event; JMESPath's tree-walking interpreter costs a few
microseconds per search, which adds up to ~1 ms for a 50-piece stream. Expressions made only of fields,
sub-expressions, `||` and literals compile here to plain functions with JMESPath's exact results (a field of
anything but an object is null; `||` takes the left side unless it is false, null or empty). Anything else keeps
the interpreter.
"""

from __future__ import annotations

from typing import Any, Callable

from jmespath.parser import ParsedResult

Search = Callable[[Any], Any]


class FastPath(ParsedResult):
    """A ParsedResult whose expression compiled to a function."""

    def __init__(self, compiled: ParsedResult, function: Search):
        super().__init__(compiled.expression, compiled.parsed)
        self._function = function

    def search(self, value: Any, options: Any = None) -> Any:
        return self._function(value)


def fast(compiled: ParsedResult) -> ParsedResult | FastPath:
    """`compiled` as a FastPath when its expression is a plain path, else unchanged."""
    function = _compile(compiled.parsed)
    return compiled if function is None else FastPath(compiled, function)


def _truthy(value: Any) -> bool:
    """JMESPath's truth: false, null and empty strings, lists and objects are false; every number is true."""
    return not (value is None or value is False or (isinstance(value, (str, list, dict)) and not value))


def _field(name: str) -> Search:
    return lambda value: value.get(name) if isinstance(value, dict) else None


def _chain(parts: list[Search]) -> Search:
    def search(value: Any) -> Any:
        for part in parts:
            value = part(value)
        return value

    return search


def _either(left: Search, right: Search) -> Search:
    def search(value: Any) -> Any:
        found = left(value)
        return found if _truthy(found) else right(value)

    return search


def _compile(node: Any) -> Search | None:
    kind = node.get("type") if isinstance(node, dict) else None
    children = node.get("children", []) if kind else []
    if kind == "field":
        return _field(node["value"])
    if kind == "literal":
        constant = node["value"]
        return lambda value: constant
    if kind in ("subexpression", "or_expression"):
        parts = [_compile(child) for child in children]
        if not parts or any(part is None for part in parts):
            return None
        return _chain(parts) if kind == "subexpression" else _either(*parts)
    return None
