"""A mapping file's JMESPath expressions compiled once to plain functions instead of walked by the interpreter.

JMESPath's tree-walking interpreter pays a method lookup and a call per node on every search: a few microseconds for
a field path, which adds up to ~1 ms for a 50-piece stream (several expressions per event), and ~70 µs for the
business file's request expression on every chat request (~0.8 % of the proxy's CPU per request). Each node
here compiles to a closure doing what the interpreter's `visit_<type>` does (jmespath/visitor.py, TreeInterpreter),
with its own helpers for equality, ordering and truth. Expression references (`&expr`, for sort_by and the like)
and any node type this module does not know are handed to the interpreter, subtree by subtree, so every result is
the interpreter's.
"""

from __future__ import annotations

from typing import Any, Callable

from jmespath import visitor
from jmespath.parser import ParsedResult

from .functions import OPTIONS

Search = Callable[[Any], Any]


class FastPath(ParsedResult):
    """A ParsedResult whose expression compiled to a function."""

    def __init__(self, compiled: ParsedResult, function: Search):
        super().__init__(compiled.expression, compiled.parsed)
        self._function = function

    def search(self, value: Any, options: Any = None) -> Any:
        # Every expression of a mapping file is searched with the mapping's OPTIONS (functions.py), compiled in.
        return self._function(value)


def fast(compiled: ParsedResult) -> FastPath:
    """`compiled` as a FastPath, searched as the interpreter would search it with the mapping's OPTIONS."""
    return FastPath(compiled, _Compiler(visitor.TreeInterpreter(OPTIONS)).compile(compiled.parsed))


def _is_false_value(value: Any) -> bool:
    """JMESPath's falsehood: empty string, list or object, null, false (as TreeInterpreter._is_false)."""
    return value == "" or value == [] or value == {} or value is None or value is False


class _Compiler:
    """Closures per node type; `interpreter` answers what is not compiled (and calls the functions)."""

    def __init__(self, interpreter: visitor.TreeInterpreter):
        self.interpreter = interpreter

    def compile(self, node: dict) -> Search:
        build = getattr(self, f"_{node['type']}", None)
        if build is None:
            return self._interpreted(node)
        return build(node)

    def _interpreted(self, node: dict) -> Search:
        visit = self.interpreter.visit
        return lambda value: visit(node, value)

    def _children(self, node: dict) -> list[Search]:
        return [self.compile(child) for child in node["children"]]

    # paths -----------------------------------------------------------------------------------------------------

    def _field(self, node: dict) -> Search:
        name = node["value"]

        def field(value: Any) -> Any:
            try:
                return value.get(name)
            except AttributeError:
                return None

        return field

    def _subexpression(self, node: dict) -> Search:
        parts = self._children(node)
        if len(parts) == 2:
            first, second = parts
            return lambda value: second(first(value))

        def chain(value: Any) -> Any:
            for part in parts:
                value = part(value)
            return value

        return chain

    _index_expression = _pipe = _subexpression

    def _identity(self, node: dict) -> Search:
        return lambda value: value

    _current = _identity

    def _literal(self, node: dict) -> Search:
        constant = node["value"]
        return lambda value: constant

    def _key_val_pair(self, node: dict) -> Search:
        return self.compile(node["children"][0])

    def _index(self, node: dict) -> Search:
        position = node["value"]

        def index(value: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[position]
            except IndexError:
                return None

        return index

    def _slice(self, node: dict) -> Search:
        cut = slice(*node["children"])
        return lambda value: value[cut] if isinstance(value, list) else None

    # projections -----------------------------------------------------------------------------------------------

    def _projection(self, node: dict) -> Search:
        base, each = self._children(node)

        def projection(value: Any) -> Any:
            found = base(value)
            if not isinstance(found, list):
                return None
            return [current for current in map(each, found) if current is not None]

        return projection

    def _value_projection(self, node: dict) -> Search:
        base, each = self._children(node)

        def value_projection(value: Any) -> Any:
            try:
                found = base(value).values()
            except AttributeError:
                return None
            return [current for current in map(each, found) if current is not None]

        return value_projection

    def _filter_projection(self, node: dict) -> Search:
        base, each, condition = self._children(node)

        def filter_projection(value: Any) -> Any:
            found = base(value)
            if not isinstance(found, list):
                return None
            collected = []
            for element in found:
                if not _is_false_value(condition(element)):
                    current = each(element)
                    if current is not None:
                        collected.append(current)
            return collected

        return filter_projection

    def _flatten(self, node: dict) -> Search:
        base = self.compile(node["children"][0])

        def flatten(value: Any) -> Any:
            found = base(value)
            if not isinstance(found, list):
                return None
            merged = []
            for element in found:
                if isinstance(element, list):
                    merged.extend(element)
                else:
                    merged.append(element)
            return merged

        return flatten

    # building --------------------------------------------------------------------------------------------------

    def _multi_select_dict(self, node: dict) -> Search:
        pairs = [(child["value"], self.compile(child)) for child in node["children"]]
        make = self.interpreter._dict_cls

        def multi_select_dict(value: Any) -> Any:
            if value is None:
                return None
            collected = make()
            for key, search in pairs:
                collected[key] = search(value)
            return collected

        return multi_select_dict

    def _multi_select_list(self, node: dict) -> Search:
        items = self._children(node)
        return lambda value: None if value is None else [item(value) for item in items]

    def _function_expression(self, node: dict) -> Search:
        if any(child["type"] == "expref" for child in node["children"]):
            return self._interpreted(node)  # the functions that take &expr call the interpreter back
        arguments, name, call = self._children(node), node["value"], self.interpreter._functions.call_function
        return lambda value: call(name, [argument(value) for argument in arguments])

    # logic -----------------------------------------------------------------------------------------------------

    def _or_expression(self, node: dict) -> Search:
        left, right = self._children(node)

        def either(value: Any) -> Any:
            matched = left(value)
            return right(value) if _is_false_value(matched) else matched

        return either

    def _and_expression(self, node: dict) -> Search:
        left, right = self._children(node)

        def both(value: Any) -> Any:
            matched = left(value)
            return matched if _is_false_value(matched) else right(value)

        return both

    def _not_expression(self, node: dict) -> Search:
        inner = self.compile(node["children"][0])

        def negated(value: Any) -> Any:
            found = inner(value)
            if visitor._is_actual_number(found) and found == 0:
                return False  # JMESPath: !0 is false
            return not found

        return negated

    def _comparator(self, node: dict) -> Search:
        left, right = self._children(node)
        compare = visitor.TreeInterpreter.COMPARATOR_FUNC[node["value"]]
        if node["value"] in visitor.TreeInterpreter._EQUALITY_OPS:
            return lambda value: compare(left(value), right(value))

        def ordered(value: Any) -> Any:
            first, second = left(value), right(value)
            if not (visitor._is_comparable(first) and visitor._is_comparable(second)):
                return None  # ordering is for numbers and strings only
            return compare(first, second)

        return ordered
