"""The least a handler that calls a backend can do (benchmark path 2b): one POST, a fixed answer, no mapping.

A CustomLLM for the benchmark's proxy only (its generated config registers it; it never ships in src/): it sends
a fixed small JSON body to the business API's /api/process with the mapped provider's auth, reads the reply, and
answers a fixed completion. What path 3 costs above it is our handler (mapping, upstream client, provider glue);
what it costs above path 2 (LiteLLM's mock_response) is the backend call and LiteLLM's work on a real provider.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from litellm import CustomLLM, ModelResponse

import adapter

BODY = json.dumps({"query": "benchmark", "model_info": {"name": "my-custom-model"}}).encode()


def answer(model: str) -> dict:
    """A fixed completion, fresh each time (LiteLLM writes into the response it is given; ModelResponse adds an id)."""
    return {"object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Mock answer"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}


class LeastHandler(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        settings = adapter.settings()
        self.url = f"{settings.business_api_base}/api/process"
        self.headers = {settings.business_api_key_header: settings.business_api_key,
                        "Content-Type": "application/json"}
        self.sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> aiohttp.ClientSession:
        """One pooled session per event loop (its connections belong to the loop that opened them)."""
        loop = asyncio.get_running_loop()
        if loop not in self.sessions:
            self.sessions[loop] = aiohttp.ClientSession()
        return self.sessions[loop]

    async def acompletion(self, model: str, *_: Any, **__: Any) -> ModelResponse:
        async with self.session().post(self.url, data=BODY, headers=self.headers) as response:
            await response.read()
            response.raise_for_status()  # a failing backend shows up as errors in the benchmark, not as speed
        return ModelResponse(**answer(model))


handler = LeastHandler()
