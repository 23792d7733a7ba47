"""The compiled form of one mapping file: frozen dataclasses holding expanded strings and compiled JMESPath."""

from __future__ import annotations

from dataclasses import dataclass

from jmespath.parser import ParsedResult


@dataclass(frozen=True)
class Fields:
    """Extraction expressions of `response:` or `stream:`; None where the file leaves the key out."""

    content: ParsedResult | None
    finish_reason: ParsedResult | None
    prompt_tokens: ParsedResult | None
    completion_tokens: ParsedResult | None
    tool_calls: ParsedResult | None
    error: ParsedResult | None


@dataclass(frozen=True)
class StreamSpec:
    format: str  # "sse" or "ndjson"
    request: ParsedResult | None  # over the built body; None: the same body is sent
    done: str | None  # sse sentinel, e.g. "[DONE]"
    fields: Fields  # applied to each event; content may be None when only tool_calls stream
    url: str | None = None  # ${VAR} expanded; None: the file's url (TGI streams from /generate_stream)


@dataclass(frozen=True)
class EmbeddingsSpec:
    url: str  # ${VAR} expanded
    request: ParsedResult
    vectors: ParsedResult
    prompt_tokens: ParsedResult | None


@dataclass(frozen=True)
class Mapping:
    name: str  # file stem: src/backends/<name>.yaml
    path: str  # for messages
    url: str  # ${VAR} expanded
    headers: dict[str, str]  # ${VAR} expanded
    timeout: float | None  # seconds; None: BUSINESS_API_TIMEOUT
    request: ParsedResult
    response: Fields  # content is never None here
    stream: StreamSpec | None
    embeddings: EmbeddingsSpec | None
