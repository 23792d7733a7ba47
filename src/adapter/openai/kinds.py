"""What kind of request each model serves (config.yaml `model_info.mode`), and the message when asked for another."""

from __future__ import annotations

# config.yaml's model_info.mode → our kind; a model without a mode is a chat model.
KIND_OF_MODE = {"chat": "chat", "completion": "chat", "embedding": "embedding", "image_generation": "image"}
# The door's body kinds → the model kind they need.
KIND_FOR_BODY = {"chat": "chat", "completions": "chat", "responses": "chat", "embeddings": "embedding",
                 "images": "image", "messages": "chat", "count_tokens": "chat"}
SERVES = {"chat": "/v1/chat/completions (and /v1/completions, /v1/responses)", "embedding": "/v1/embeddings",
          "image": "/v1/images/generations"}
ASKED = {"chat": "chat", "embedding": "embeddings", "image": "image generation"}


def kind_of(mode: object) -> str:
    return KIND_OF_MODE.get(mode, "chat") if isinstance(mode, str) else "chat"


def wrong_kind_message(model: str, kind: str, wanted: str) -> str:
    """e.g. "'my-embedding-model' is an embedding model: it serves /v1/embeddings, not chat; …"."""
    article = "an" if kind[0] in "aeiou" else "a"
    return (f"'{model}' is {article} {kind} model: it serves {SERVES[kind]}, not {ASKED[wanted]}; "
            "GET /v1/models lists the models")
