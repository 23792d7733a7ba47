"""Which parts of the request document an expression reads, found in its syntax tree once, at load.

The mapped provider forwards a client's parameter only when the mapping reads it: a parameter the backend never
receives would otherwise be accepted and silently ignored. Reads are found at the document's top level:
`params.temperature` reads `params` → {temperature}; `params` or `merge(params, …)` reads all of `params`; a bare
`@` reads everything. Inside a projection, filter, pipe or `&expref` the names are relative to other values and are
not top-level reads.
"""

from __future__ import annotations

from jmespath.parser import ParsedResult

EVERYTHING = "@"  # the key standing for "the whole document"
ALL = None  # a field read as a whole

Reads = dict[str, "frozenset[str] | None"]


def reads(*expressions: ParsedResult | None) -> Reads:
    """Top-level field → the sub-fields read (a set), or ALL when the field is read as a whole."""
    found: dict[str, set[str] | None] = {}
    for expression in expressions:
        if expression is not None:
            _walk(expression.parsed, found)
    return {name: (None if fields is None else frozenset(fields)) for name, fields in found.items()}


def reads_field(found: Reads, name: str, sub: str | None = None) -> bool:
    """Whether `name` (or `name.sub`) is read."""
    if EVERYTHING in found:
        return True
    if name not in found:
        return False
    fields = found[name]
    return sub is None or fields is ALL or sub in fields


def _read(found: dict, name: str, sub: str | None) -> None:
    if sub is None or found.get(name, set()) is ALL:
        found[name] = ALL
    else:
        found.setdefault(name, set()).add(sub)


# Node types whose first child is evaluated against the current value and the rest against something else.
_FIRST_CHILD_ONLY = frozenset({"projection", "filter_projection", "value_projection", "flatten", "index_expression",
                               "pipe"})


def _walk(node: dict, found: dict) -> None:
    if not isinstance(node, dict):  # a slice's children are its numbers (or None)
        return
    kind, children = node.get("type"), node.get("children", [])
    if kind == "field":
        _read(found, node["value"], None)
    elif kind == "current":
        _read(found, EVERYTHING, None)
    elif kind == "subexpression":
        _subexpression(children, found)
    elif kind in _FIRST_CHILD_ONLY:
        if children:
            _walk(children[0], found)
    elif kind != "expref":  # an &expression runs per element of a sort_by/max_by/… argument
        for child in children:
            _walk(child, found)


def _subexpression(children: list, found: dict) -> None:
    """`a.b…`: `a` is top-level; `b` says which part of it is read, when it is a plain field."""
    first = children[0]
    if first.get("type") != "field":
        _walk(first, found)
        return
    second = children[1] if len(children) > 1 else None
    sub = second["value"] if second is not None and second.get("type") == "field" else None
    _read(found, first["value"], sub)

