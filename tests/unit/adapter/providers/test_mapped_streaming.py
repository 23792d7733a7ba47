"""adapter.providers.mapped relaying a real event stream (business.yaml): merged chunks for a slow consumer, one per event for a
fast one."""

import asyncio
import json
import time
from contextlib import ExitStack

import litellm
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import stack_settings
from adapter.upstream import client
from adapter.providers.mapped import MappedProvider
from adapter.mapping.load import load_file
from adapter.mapping.registry import backend_for
from tests.support.registration import registered_providers

USAGE = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
PIECES = ["Mock ", "answer ", "in ", "eight ", "pieces, ", "one ", "by ", "one."]


def sse(event) -> bytes:
    return f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n".encode()


def answer_events(pieces=PIECES) -> list:
    return [{"delta": piece} for piece in pieces] + [{"delta": "", "finish_reason": "stop", "usage": USAGE}, "[DONE]"]


TOOL_EVENTS = [
    {"delta": "Checking. "},
    {"tool_call": {"index": 0, "id": "call_a", "name": "get_weather", "arguments": '{"city":'}},
    {"tool_call": {"index": 0, "arguments": '"Paris"}'}},
    {"tool_call": {"index": 1, "id": "call_b", "name": "get_time", "arguments": '{"zone":'}},
    {"tool_call": {"index": 1, "arguments": '"CET"}'}},
    {"delta": "", "finish_reason": "tool_calls", "usage": USAGE},
    "[DONE]",
]


class Backend:
    """/api/process streaming `events`, each written on its own; `pace` decides when the next one may go."""

    def __init__(self, events: list, pace=None):
        self.events, self.pace, self.all_sent = events, pace, asyncio.Event()
        self.sent_at: list[float] = []

    async def process(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for number, event in enumerate(self.events):
            if number and self.pace:
                await self.pace(number)
            await response.write(sse(event))
            self.sent_at.append(time.monotonic())
            await asyncio.sleep(0)  # its own write on the wire
        self.all_sent.set()
        return response


ENVIRONMENT = {"ENV_FILE": "/nonexistent", "BUSINESS_API_KEY": "k"}
BUSINESS_FILE = stack_settings.SRC_DIR / "backends" / "business.yaml"


def handler() -> MappedProvider:
    """The mapped provider serving the shipped business.yaml; each test points it at its server with api_base."""
    mapping = load_file(BUSINESS_FILE, stack_settings.variables(ENVIRONMENT))
    return MappedProvider(stack_settings.load(ENVIRONMENT), {"business": backend_for(mapping)})


async def serving(backend: Backend) -> TestServer:
    app = web.Application()
    app.router.add_post("/api/process", backend.process)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def relay(backend: Backend, consume, provider: MappedProvider | None = None) -> list[dict]:
    """Stream one chat completion through the mapped handler from `backend`; `consume` sees each chunk as it comes."""
    server = await serving(backend)
    chunks = []
    try:
        stream = (provider or handler()).astreaming("business", [{"role": "user", "content": "hi"}], {},
                                      api_base=str(server.make_url("")))
        async for chunk in stream:
            chunks.append(chunk)
            await consume(chunk)
    finally:
        await client.aclose()
        await server.close()
    return chunks


def streamed_text(chunks: list[dict]) -> str:
    return "".join(chunk["text"] for chunk in chunks)


def test_a_consumer_that_keeps_up_gets_every_piece_alone():
    async def run():
        taken = asyncio.Queue()

        async def next_when_taken(number):  # the backend sends a piece only after the last one was relayed
            if number <= len(PIECES):  # the end of the answer (finish event, [DONE]) follows right away
                await taken.get()

        async def consume(chunk):
            taken.put_nowait(chunk)

        return await relay(Backend(answer_events(), next_when_taken), consume)

    chunks = asyncio.run(run())
    assert [chunk["text"] for chunk in chunks] == PIECES + [""]
    assert [chunk["is_finished"] for chunk in chunks] == [False] * len(PIECES) + [True]
    assert chunks[-1]["usage"] == USAGE


def test_under_load_a_stream_sends_its_first_piece_at_once_then_merged_pieces_at_its_pace():
    async def run():
        provider = handler()
        provider.pacer.chunks_per_second = 100  # with 10 streams open in this worker: a chunk every 0.1 s at most
        backend = Backend(answer_events(PIECES * 4), pace=lambda number: asyncio.sleep(0.01))
        arrived = []

        async def consume(chunk):  # keeps up: without pacing every piece would go out alone
            arrived.append(time.monotonic())

        with ExitStack() as others:
            for _ in range(9):
                others.enter_context(provider.pacer.stream())
            chunks = await relay(backend, consume, provider)
            return chunks, arrived, backend.sent_at

    chunks, arrived, sent_at = asyncio.run(run())
    assert chunks[0]["text"] == PIECES[0]  # the first content alone, as soon as it came
    assert streamed_text(chunks) == "".join(PIECES * 4)
    assert (chunks[-1]["finish_reason"], chunks[-1]["usage"]) == ("stop", USAGE)
    assert len(chunks) < len(PIECES * 4) / 3  # ~0.33 s of pieces 10 ms apart, in chunks ~0.1 s apart
    assert min(later - earlier for earlier, later in zip(arrived[1:], arrived[2:])) >= 0.05
    assert arrived[-1] - sent_at[-1] < 0.2  # the end waits at most one interval (plus the loop's own delay)


def test_a_slow_consumer_gets_the_waiting_pieces_merged_with_the_same_text_and_usage():
    async def run():
        backend = Backend(answer_events())

        async def consume(chunk):  # slow: while it works on the first chunk, the backend sends everything
            await backend.all_sent.wait()
            await asyncio.sleep(0.2)

        return await relay(backend, consume)

    chunks = asyncio.run(run())
    assert 1 <= len(chunks) <= 2 < len(PIECES)
    assert streamed_text(chunks) == "".join(PIECES)
    assert [chunk["usage"] for chunk in chunks if chunk["usage"]] == [USAGE]
    assert [chunk["finish_reason"] for chunk in chunks if chunk["is_finished"]] == ["stop"]


def test_a_slow_consumer_gets_tool_call_fragments_merged_per_call():
    async def run():
        backend = Backend(TOOL_EVENTS, pace=lambda number: asyncio.sleep(0) if number > 1 else backend.first.wait())
        backend.first = asyncio.Event()

        async def consume(chunk):  # the first chunk holds the text alone; then everything else has waited
            backend.first.set()
            await backend.all_sent.wait()
            await asyncio.sleep(0.2)

        return await relay(backend, consume)

    chunks = asyncio.run(run())
    assert [chunk["text"] for chunk in chunks] == ["Checking. ", "", ""]
    assert [chunk["tool_use"] for chunk in chunks[1:]] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
         "index": 0},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": '{"zone":"CET"}'}, "index": 1},
    ]
    assert (chunks[-1]["finish_reason"], chunks[-1]["usage"]) == ("tool_calls", USAGE)


def test_an_error_event_after_waiting_pieces_comes_after_them():
    async def run():
        backend = Backend([{"delta": "partial "}, {"delta": "text "}, {"error": {"message": "backend broke"}}])

        async def consume(chunk):
            await backend.all_sent.wait()
            await asyncio.sleep(0.2)

        seen = []
        with pytest.raises(Exception) as caught:
            await relay(backend, lambda chunk: seen.append(chunk) or consume(chunk))
        return seen, caught.value

    seen, error = asyncio.run(run())
    assert streamed_text(seen) == "partial text "
    assert getattr(error, "status_code", None) == 502 and "backend broke" in str(error)


@pytest.fixture
def registered():
    with registered_providers({"mapped": handler()}):
        yield


def test_merged_text_and_tool_calls_become_openai_deltas_that_rebuild_to_the_same_answer(registered):
    async def run():
        backend = Backend([])

        async def all_at_once(request):  # every event in one write: the handler reads them as one batch
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(b"".join(sse(event) for event in TOOL_EVENTS))
            return response

        backend.process = all_at_once
        server = await serving(backend)
        try:
            stream = await litellm.acompletion(
                model="mapped/business", messages=[{"role": "user", "content": "x"}], stream=True,
                api_base=str(server.make_url("")), stream_options={"include_usage": True})
            return [chunk async for chunk in stream]
        finally:
            await client.aclose()
            await server.close()

    chunks = asyncio.run(run())
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices and (chunk.choices[0].delta.content
                                                                                or chunk.choices[0].delta.tool_calls)]
    assert [(d.content or "", [(t.index, t.function.arguments) for t in d.tool_calls]) for d in deltas] == [
        ("Checking. ", [(0, '{"city":"Paris"}')]), ("", [(1, '{"zone":"CET"}')])]  # merged: one delta per call
    whole = litellm.stream_chunk_builder(chunks).choices[0].message
    assert whole.content == "Checking. "
    assert [(t.id, t.function.name, t.function.arguments) for t in whole.tool_calls] == [
        ("call_a", "get_weather", '{"city":"Paris"}'), ("call_b", "get_time", '{"zone":"CET"}')]
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason] \
        == ["tool_calls"]
