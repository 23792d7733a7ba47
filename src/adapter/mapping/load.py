"""Read and validate backend mapping files into compiled Mappings; a MappingError names the file and the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from typing import Mapping as StrMap

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from adapter.mapping.fastpath import fast
from adapter.mapping.functions import NAMES
from adapter.mapping.spec import EmbeddingsSpec, Fields, Mapping, StreamSpec

TOP_KEYS = ("url", "headers", "timeout", "request", "response", "stream", "embeddings")
FIELD_KEYS = ("content", "finish_reason", "prompt_tokens", "completion_tokens", "tool_calls", "error")
STREAM_KEYS = ("format", "url", "request", "done") + FIELD_KEYS
EMBEDDINGS_KEYS = ("url", "request", "response")
EMBEDDINGS_RESPONSE_KEYS = ("vectors", "prompt_tokens")
STREAM_FORMATS = ("sse", "ndjson")

# `$${NAME}` is the escape for a literal `${NAME}`; any other `${` that is not `${NAME}` is a typo worth stopping on.
PLACEHOLDER = re.compile(r"(?P<escaped>\$\$\{)|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<broken>\$\{)")
# Unknown function names only fail when an expression runs; check them at load like the syntax.
KNOWN_FUNCTIONS = NAMES  # the standard functions, from_json and split (functions.py)


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the dotted key."""


class _Where:
    """The file being read, so every check can say where it failed."""

    def __init__(self, path: str):
        self.path = path

    def error(self, key: str, message: str) -> MappingError:
        return MappingError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")


def load_file(path: str | Path, variables: StrMap[str]) -> Mapping:
    """One file: YAML → checked keys and types → expanded ${VAR}s and compiled expressions."""
    where = _Where(str(path))
    data = _read_yaml(Path(path), where)
    _known_keys(data, TOP_KEYS, "", where)
    return Mapping(
        name=Path(path).stem,
        path=str(path),
        url=_url(_required(data, "url", "", where), "url", variables, where),
        headers=_headers(data.get("headers"), variables, where),
        timeout=_timeout(data.get("timeout"), where),
        request=_expression(_required(data, "request", "", where), "request", where),
        response=_response(_required(data, "response", "", where), where),
        stream=_stream(data.get("stream"), variables, where),
        embeddings=_embeddings(data.get("embeddings"), variables, where),
    )


def _read_yaml(path: Path, where: _Where) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise where.error("", f"cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise where.error("", "is not UTF-8 text") from None
    except yaml.YAMLError as error:
        raise where.error("", f"is not valid YAML: {' '.join(str(error).split())}") from None
    if data is None:
        raise where.error("", "is empty; a mapping file needs at least url, request and response.content")
    if not isinstance(data, dict):
        raise where.error("", f"must be a YAML mapping (url: ..., request: ...), not a {_kind(data)}")
    return data


def _known_keys(data: dict, allowed: tuple[str, ...], prefix: str, where: _Where) -> None:
    for key in data:
        if key not in allowed:
            raise where.error(_dotted(prefix, str(key)), f"unknown key; allowed here: {', '.join(allowed)}")


def _required(data: dict, key: str, prefix: str, where: _Where) -> Any:
    value = data.get(key)
    if value is None:
        raise where.error(_dotted(prefix, key), "is required")
    return value


def _section(value: Any, key: str, where: _Where) -> dict:
    if not isinstance(value, dict):
        raise where.error(key, f"must be a mapping of keys, not a {_kind(value)}")
    return value


def _url(value: Any, key: str, variables: StrMap[str], where: _Where) -> str:
    text = _text(value, key, where)
    url = _expand(text, key, variables, where)
    # Catches a missing scheme; the unexpanded text is shown, as a variable may hold a secret.
    if not url.startswith(("http://", "https://")):
        raise where.error(key, f"must be an http:// or https:// URL after expansion, got {text!r}")
    return url


def _headers(value: Any, variables: StrMap[str], where: _Where) -> dict[str, str]:
    if value is None:
        return {}
    headers = {}
    for name, raw in _section(value, "headers", where).items():
        key = _dotted("headers", str(name))
        if not isinstance(name, str) or not name:
            raise where.error(key, "a header name must be text")
        # Names expand too: the business API's key header is itself a setting (BUSINESS_API_KEY_HEADER).
        header = _expand(name, key, variables, where)
        if header in headers:
            raise where.error(key, f"names the header {header!r} twice")
        headers[header] = _expand(_text(raw, key, where, hint=" (quote numbers)"), key, variables, where)
    return headers


def _timeout(value: Any, where: _Where) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise where.error("timeout", f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _response(value: Any, where: _Where) -> Fields:
    data = _section(value, "response", where)
    _known_keys(data, FIELD_KEYS, "response", where)
    return _fields(data, "response", where)


def _fields(data: dict, prefix: str, where: _Where, *, content_required: bool = True) -> Fields:
    if content_required:
        _required(data, "content", prefix, where)
    return Fields(**{key: _optional_expression(data, key, prefix, where) for key in FIELD_KEYS})


def _stream(value: Any, variables: StrMap[str], where: _Where) -> StreamSpec | None:
    if value is None:
        return None
    data = _section(value, "stream", where)
    _known_keys(data, STREAM_KEYS, "stream", where)
    stream_format = _required(data, "format", "stream", where)
    if stream_format not in STREAM_FORMATS:
        raise where.error("stream.format", f"must be sse or ndjson, got {stream_format!r}")
    done = data.get("done")
    if done is not None and stream_format != "sse":
        raise where.error("stream.done", "is only for format sse (an ndjson stream ends when the connection does)")
    if data.get("content") is None and data.get("tool_calls") is None:
        raise where.error("stream", "needs content or tool_calls, or nothing would ever be streamed")
    return StreamSpec(
        format=stream_format,
        request=_optional_expression(data, "request", "stream", where),
        done=None if done is None else _text(done, "stream.done", where),
        fields=_fields(data, "stream", where, content_required=False),
        url=None if data.get("url") is None else _url(data["url"], "stream.url", variables, where),
    )


def _embeddings(value: Any, variables: StrMap[str], where: _Where) -> EmbeddingsSpec | None:
    if value is None:
        return None
    data = _section(value, "embeddings", where)
    _known_keys(data, EMBEDDINGS_KEYS, "embeddings", where)
    response = _section(_required(data, "response", "embeddings", where), "embeddings.response", where)
    _known_keys(response, EMBEDDINGS_RESPONSE_KEYS, "embeddings.response", where)
    return EmbeddingsSpec(
        url=_url(_required(data, "url", "embeddings", where), "embeddings.url", variables, where),
        request=_expression(_required(data, "request", "embeddings", where), "embeddings.request", where),
        vectors=_expression(
            _required(response, "vectors", "embeddings.response", where), "embeddings.response.vectors", where
        ),
        prompt_tokens=_optional_expression(response, "prompt_tokens", "embeddings.response", where),
    )


def _optional_expression(data: dict, key: str, prefix: str, where: _Where) -> ParsedResult | None:
    value = data.get(key)
    return None if value is None else _expression(value, _dotted(prefix, key), where)


def _expression(value: Any, key: str, where: _Where) -> ParsedResult:
    text = _text(value, key, where, hint=" (a JMESPath expression; quote it in YAML)")
    try:
        compiled = jmespath.compile(text)
    except JMESPathError as error:
        raise where.error(key, f"JMESPath syntax error: {error}") from None
    unknown = sorted(_function_names(compiled.parsed) - KNOWN_FUNCTIONS)
    if unknown:
        raise where.error(key, f"unknown JMESPath function {', '.join(unknown)}()")
    return fast(compiled)  # compiled once to plain functions instead of walked by the interpreter (fastpath.py)


def _function_names(node: dict) -> set[str]:
    names = {node["value"]} if node.get("type") == "function_expression" else set()
    for child in node.get("children", ()):
        if isinstance(child, dict):  # a slice's children are its numbers (or None)
            names |= _function_names(child)
    return names


def _expand(text: str, key: str, variables: StrMap[str], where: _Where) -> str:
    def replace(match: re.Match) -> str:
        if match.group("escaped"):
            return "${"
        name = match.group("name")
        if name is None:
            raise where.error(key, "a ${ that is not ${NAME} (write $${ for a literal ${)")
        # Like src/.env's own settings, an empty value counts as unset: it would only make a broken URL or header.
        if not variables.get(name):
            raise where.error(key, f"${{{name}}} is not set in src/.env or the environment")
        return variables[name]

    return PLACEHOLDER.sub(replace, text)


def _text(value: Any, key: str, where: _Where, hint: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"must be non-empty text{hint}, got {value!r}")
    return value


def _dotted(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _kind(value: Any) -> str:
    return {list: "list", str: "text", int: "number", float: "number", bool: "boolean"}.get(type(value), "value")
