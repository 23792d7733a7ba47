"""One OpenAI embedding request through a backend file: the body sent, and the answer as an OpenAI embedding list.

Shared by the proxy (providers/mapped.py) and `python -m adapter.mapping render`, so render shows what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..openai.embeddings import embedding_list, options_of, texts_of
from ..openai.tokens import counted_tokens, decode_tokens
from ..upstream.errors import bad_answer, invalid_request
from . import apply
from .document import embedding_document
from .registry import Backend


@dataclass(frozen=True)
class EmbeddingRequest:
    texts: list[str]  # the inputs as text (token ids decoded)
    encoding: str     # "float" or "base64", as the client asked
    document: dict    # what the file's expressions read
    body: Any         # what is sent


def embedding_request(backend: Backend, model: str, input: Any, options: dict) -> EmbeddingRequest:
    """The request for `input` with the client's `options` (encoding_format, dimensions), checked."""
    if backend.mapping.embeddings is None:
        raise invalid_request(f"{backend.label} serves chat only (its file has no embeddings: section)", "model")
    encoding, dimensions = options_of(options)
    if dimensions is not None and not backend.reads_dimensions:
        raise invalid_request(f"'dimensions' is not supported by {backend.label}", "dimensions")
    texts = texts_of(input, decode_tokens)
    document = embedding_document(model, texts, dimensions)
    return EmbeddingRequest(texts, encoding, document, apply.embedding_body(backend.mapping, document))


def embedding_answer(backend: Backend, answer: Any, request: EmbeddingRequest, model: str) -> dict:
    """The backend's answer → an OpenAI embedding list (plain data); tokens are counted when it reports none."""
    vectors, prompt_tokens = apply.embeddings(backend.mapping.embeddings, answer, backend.label)
    if len(vectors) != len(request.texts):
        raise bad_answer(backend.label, f"{len(vectors)} vectors for {len(request.texts)} input texts")
    if prompt_tokens is None:  # the backend does not say: count as OpenAI would
        prompt_tokens = counted_tokens(request.texts)
    return embedding_list(vectors, model, prompt_tokens, request.encoding)
