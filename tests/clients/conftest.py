"""Real OpenAI clients (LangChain, LlamaIndex, the litellm SDK, the Vercel AI SDK) against the real stack.

The stack is the end-to-end one (tests/e2e/conftest.py): the business API mock and the LiteLLM proxy started
on free loopback ports. The clients' versions are pinned in tests/clients/requirements.txt and
tests/clients/node/package-lock.json; scripts/test.sh installs both.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

# tiktoken downloads its encodings (cl100k_base for LangChain's OpenAIEmbeddings, which tokenizes its input
# before sending it) from the internet on first use, and CI has no internet. LiteLLM ships those files in
# litellm/litellm_core_utils/tokenizers, named as tiktoken's cache names them (sha1 of the download URL), and
# points TIKTOKEN_CACHE_DIR there itself, but only once `litellm` is imported, which LangChain and LlamaIndex
# never do. Point it there before any client loads tiktoken. Found without importing litellm (slow).
_litellm = importlib.util.find_spec("litellm")
assert _litellm is not None and _litellm.submodule_search_locations, "litellm is not installed"
TIKTOKEN_DIR = Path(next(iter(_litellm.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
CL100K_BASE = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of openaipublic's cl100k_base.tiktoken URL
assert (TIKTOKEN_DIR / CL100K_BASE).is_file(), f"LiteLLM no longer ships cl100k_base in {TIKTOKEN_DIR}"
os.environ["TIKTOKEN_CACHE_DIR"] = str(TIKTOKEN_DIR)
# The litellm SDK (one of the clients) fetches its model cost map from the internet at import unless told to
# use its bundled copy: with no internet that is three failed attempts and seconds of back-off.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# Nothing may phone home from a test: no LangSmith tracing whatever the developer's shell says.
for _name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
    os.environ.pop(_name, None)

from tests.e2e.conftest import stack  # noqa: E402,F401  (the session's stack fixture, shared with e2e)

CHAT_MODEL = "my-custom-model"
# Pieces 30 ms apart: a client that keeps up gets them one by one (the proxy merges pieces that arrive together).
PACED = " [mock:chunk_delay=30]"
EMBEDDING_MODEL = "my-embedding-model"
IMAGE_MODEL = "my-image-model"
NODE_DIR = Path(__file__).resolve().parent / "node"

# One tool for every client: two required properties, one an enum, so the mock's minimal instance is
# {"city": "string", "unit": "celsius"} and a client that loses or reorders arguments is caught.
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
WEATHER_MINIMAL_ARGS = {"city": "string", "unit": "celsius"}
WEATHER_RESULT = "18 C and sunny in Paris"


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    """The OpenAI base URL every client is given (they append /chat/completions, /embeddings …)."""
    return f"{stack.proxy_url}/v1"


@pytest.fixture(scope="session")
def api_key(stack) -> str:
    return stack.master_key


@pytest.fixture(scope="session")
def reference_vectors(stack) -> dict[str, list[float]]:
    """The openai SDK's float vectors for a few texts: every other client must get exactly these."""
    texts = ["alpha", "beta", "hello world", "The quick brown fox"]
    reply = stack.client().embeddings.create(model=EMBEDDING_MODEL, input=texts, encoding_format="float")
    vectors = {text: item.embedding for text, item in zip(texts, reply.data)}
    assert len({json.dumps(v) for v in vectors.values()}) == len(texts), "different texts gave equal vectors"
    return vectors


def norm(vector) -> float:
    return math.sqrt(sum(float(x) * float(x) for x in vector))


def assert_close(got, want, tolerance: float = 1e-5) -> None:
    assert len(got) == len(want), f"{len(got)} dimensions, expected {len(want)}"
    worst = max(abs(float(a) - float(b)) for a, b in zip(got, want))
    assert worst <= tolerance, f"vectors differ by up to {worst}"
