"""One OpenAI chat request through a backend file: parameters by its policy, the request document, the body. Pure;
the proxy (providers/mapped.py) and `python -m adapter.mapping render` both use it, so render shows what is sent."""

from __future__ import annotations

from typing import Any

from ..openai import options, params
from . import apply
from .document import chat_document
from .parts import refuse_unsent
from .registry import Backend


def document_for(backend: Backend, model: str, backend_model: str | None, messages: Any, sent: dict, stream: bool,
                 drop_unknown: bool = False) -> dict:
    """The request document; `sent` is LiteLLM's optional_params (or a client's body without model and messages).

    Refuses (400) parameters and content parts the file would not send: the backend would answer without them.
    """
    forwarded = options.checked_options(params.split_params(sent, backend.policy, drop_unknown))
    document = chat_document(model, backend_model, messages, forwarded, stream)
    refuse_unsent(messages, backend.sent_parts, backend.label)
    return document


def body_for(backend: Backend, document: dict, stream: bool) -> Any:
    """The JSON body sent: the file's request expression, then stream.request for a stream."""
    body = apply.request_body(backend.mapping, document)
    if stream and backend.mapping.stream is not None:
        body = apply.stream_body(backend.mapping, body)
    return body


def chat_request(backend: Backend, model: str, backend_model: str | None, messages: Any, sent: dict, stream: bool,
                 drop_unknown: bool = False) -> Any:
    """The body sent for one OpenAI chat request."""
    return body_for(backend, document_for(backend, model, backend_model, messages, sent, stream, drop_unknown), stream)
