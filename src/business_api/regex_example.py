"""A short string that a regular expression matches, for JSON Schema `pattern` (pydantic's Field(pattern=…), zod's .regex())."""

from __future__ import annotations

import re
import warnings
from re import _constants as C  # noqa: N812 — the opcodes of Python's own regex parser
from re import _parser as parser

# Characters tried, in order, where the regex allows a choice (a class, a negation, any character).
PREFERRED_CHARS = "a0A_- x.Z9@"
CATEGORY_CHARS = {
    C.CATEGORY_DIGIT: "0", C.CATEGORY_NOT_DIGIT: "a", C.CATEGORY_WORD: "a", C.CATEGORY_NOT_WORD: "-",
    C.CATEGORY_SPACE: " ", C.CATEGORY_NOT_SPACE: "a",
}


def _in_class(items: list, char: str) -> bool:
    negate, found = False, False
    for op, arg in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            found = found or ord(char) == arg
        elif op is C.RANGE:
            found = found or arg[0] <= ord(char) <= arg[1]
        elif op is C.CATEGORY:
            found = found or CATEGORY_CHARS.get(arg) == char or (
                arg in (C.CATEGORY_NOT_DIGIT, C.CATEGORY_WORD, C.CATEGORY_NOT_SPACE) and char.isalpha())
    return found != negate


def _class_char(items: list) -> str:
    for op, arg in items:
        if op is C.LITERAL and _in_class(items, chr(arg)):
            return chr(arg)
        if op is C.RANGE and _in_class(items, chr(arg[0])):
            return chr(arg[0])
    return next((c for c in PREFERRED_CHARS if _in_class(items, c)), "a")


def _walk(nodes, groups: dict) -> str:
    out = []
    for op, arg in nodes:
        if op is C.LITERAL:
            out.append(chr(arg))
        elif op is C.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is C.ANY:
            out.append("a")
        elif op is C.IN:
            out.append(_class_char(arg))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            out.append(_walk(sub, groups) * low)
        elif op is C.SUBPATTERN:
            group, _add, _remove, sub = arg
            text = _walk(sub, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op is C.ATOMIC_GROUP:
            out.append(_walk(arg, groups))
        elif op is C.BRANCH:
            out.append(min((_walk(alt, groups) for alt in arg[1]), key=len))
        elif op is C.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op is C.GROUPREF_EXISTS:
            _group, yes, no = arg
            out.append(_walk(yes, groups) if no is None else _walk(no, groups))
        # AT (anchors) and look-arounds add nothing; the caller checks the result with re.search.
    return "".join(out)


def example(pattern: str) -> str | None:
    """A string `pattern` matches, or None when Python cannot read the pattern or the guess does not match."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": a client's odd regex, not ours
        try:
            text = _walk(parser.parse(pattern), {})
            return text if re.search(pattern, text) else None
        except (re.error, RecursionError, ValueError, OverflowError):
            return None
