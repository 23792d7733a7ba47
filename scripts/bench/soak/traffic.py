"""The soak's mixed traffic: request kinds with the statuses each may get, sent by a few async workers."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from ..harness import BUSINESS_MODEL, chat_body, codex_body, messages_body

LAAS_MODEL = "claude-3.5-sonnet"
EMBEDDING_MODEL = "my-embedding-model"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
# What a stream that ran to its end sends last, per API family: a stream cut short still has status 200, so it is
# counted as its own outcome (INCOMPLETE), which no kind expects.
DONE_CHAT, DONE_MESSAGES, DONE_RESPONSES = b"data: [DONE]", b"message_stop", b"response.completed"
INCOMPLETE = "200 incomplete stream"


@dataclass(frozen=True)
class Kind:
    """One kind of request, sent again and again, and the outcomes (statuses) it may have."""

    name: str
    path: str
    body: bytes | None  # None: a GET
    headers: dict
    expected: frozenset[str] = frozenset({"200"})
    stream_end: bytes | None = None  # a stream: the bytes its last event holds
    weight: int = 1  # how often it comes in the mix, relative to the others


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


def kinds(budgeted_key: str, master_key: str, priced_model: str) -> list[Kind]:
    """Every kind of the mix; all but /metrics sent with a keys-file key that has a budget (checked on each call)."""
    bearer = {"Authorization": f"Bearer {budgeted_key}", "Content-Type": "application/json"}
    anthropic = {"x-api-key": budgeted_key, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
    chat, bad = "/v1/chat/completions", frozenset({"400"})
    tool_ask = "Weather in Paris? [mock:tool=get_weather]"
    return [
        Kind("chat", chat, _json(chat_body(BUSINESS_MODEL, "soak chat")), bearer, weight=3),
        Kind("chat_stream", chat, _json(chat_body(BUSINESS_MODEL, "soak chat streamed in words", stream=True)),
             bearer, stream_end=DONE_CHAT, weight=2),
        Kind("chat_priced", chat, _json(chat_body(priced_model, "soak priced chat")), bearer, weight=2),
        Kind("tools", chat, _json(chat_body(BUSINESS_MODEL, tool_ask, tools=[WEATHER])), bearer),
        Kind("tools_stream", chat, _json(chat_body(BUSINESS_MODEL, tool_ask, tools=[WEATHER], stream=True)), bearer,
             stream_end=DONE_CHAT),
        Kind("embeddings", "/v1/embeddings", _json({"model": EMBEDDING_MODEL, "input": ["soak", "embedding"]}),
             bearer, weight=2),
        Kind("laas_chat", chat, _json(chat_body(LAAS_MODEL, "soak laas")), bearer),
        Kind("laas_stream", chat, _json(chat_body(LAAS_MODEL, "soak laas streamed", stream=True)), bearer,
             stream_end=DONE_CHAT),
        Kind("laas_tools", chat, _json(chat_body(LAAS_MODEL, tool_ask, tools=[WEATHER])), bearer),
        Kind("responses", "/v1/responses", _json(codex_body(BUSINESS_MODEL, "soak responses")), bearer),
        Kind("responses_stream", "/v1/responses", _json({**codex_body(BUSINESS_MODEL, "soak responses streamed"),
                                                         "stream": True}), bearer, stream_end=DONE_RESPONSES),
        Kind("messages", "/v1/messages", _json(messages_body(BUSINESS_MODEL, "soak messages")), anthropic),
        Kind("messages_stream", "/v1/messages", _json({**messages_body(LAAS_MODEL, "soak messages streamed"),
                                                       "stream": True}), anthropic, stream_end=DONE_MESSAGES),
        Kind("bad_json", chat, b"not json", bearer, bad),
        Kind("bad_messages", chat, _json({"model": BUSINESS_MODEL, "messages": "hi"}), bearer, bad),
        Kind("bad_anthropic", "/v1/messages", _json({"model": BUSINESS_MODEL, "messages": []}), anthropic, bad),
        Kind("metrics", "/metrics", None, {"Authorization": f"Bearer {master_key}"}),
    ]


def mix(all_kinds: list[Kind], seed: int = 22) -> list[Kind]:
    """One cycle of the mix: each kind `weight` times, in a fixed shuffled order (the same in every run)."""
    cycle = [kind for kind in all_kinds for _ in range(kind.weight)]
    random.Random(seed).shuffle(cycle)
    return cycle


@dataclass
class Tally:
    """Outcomes per kind: a status ("200", "400", ...), INCOMPLETE, or "transport <exception name>"."""

    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {kind: dict(outcomes) for kind, outcomes in self.counts.items()}


async def send(client: httpx.AsyncClient, base: str, kind: Kind) -> str:
    """One request of `kind`, read to its end; its outcome."""
    method = "GET" if kind.body is None else "POST"
    try:
        async with client.stream(method, base + kind.path, content=kind.body, headers=kind.headers) as response:
            body = await response.aread()
    except httpx.HTTPError as error:
        return f"transport {type(error).__name__}"
    status = str(response.status_code)
    if status == "200" and kind.stream_end is not None and kind.stream_end not in body:
        return INCOMPLETE
    return status


async def drive(base: str, all_kinds: list[Kind], concurrency: int, until: float, tally: Tally) -> None:
    """`concurrency` workers, each sending the next request of the mix as soon as its last one ended, until the
    monotonic clock passes `until`."""
    cycle = itertools.cycle(mix(all_kinds))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def worker() -> None:
            while time.monotonic() < until:
                kind = next(cycle)
                tally.add(kind.name, await send(client, base, kind))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
