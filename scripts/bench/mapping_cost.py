"""What the business path's mapping (src/backends/business.yaml) costs per request, measured in-process."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import stack_settings
from adapter.mapping import apply
from adapter.mapping.chat import chat_request
from adapter.mapping.registry import load_backends
from adapter.mapping.stream import MappedStream

PIECES = 200
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "benchmark"}]
ANSWER = {"request_id": "r", "answer": "Mock answer from my-custom-model: benchmark", "finish_reason": "stop",
          "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}}


@dataclass
class MappingCost:
    chat_us: float  # per request: document, request expression, answer → chat.completion
    stream_us: float  # per stream of PIECES events, each its own read (the slowest case: nothing coalesced)

    @property
    def per_piece_us(self) -> float:
        return self.stream_us / PIECES


def _stream_reads() -> list[bytes]:
    events = [{"delta": f"piece{n} "} for n in range(PIECES)]
    events.append({"delta": "", "finish_reason": "stop", "usage": {"prompt_tokens": 9, "completion_tokens": PIECES}})
    return [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]


def _best_of(runs: int, repeats: int, work) -> float:
    """Microseconds per call: the fastest of `runs` batches (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(repeats):
            work()
        best = min(best, (time.perf_counter() - started) / repeats)
    return best * 1e6


def measure(settings: stack_settings.Settings, environ: dict) -> MappingCost:
    """The translation a mapped request pays for on top of LiteLLM, the fastest of a few batches.

    The request document, the file's request expression, the answer mapped back (chat), and every event of a
    stream through MappedStream. benchmark.py divides it by the proxy's measured CPU per request of the same run
    (path 3), which is the share of the business path it costs.
    """
    backend = load_backends(settings.config_file, settings.backends_dir, stack_settings.variables(environ))["business"]
    reads = _stream_reads()

    def chat() -> None:
        chat_request(backend, "my-custom-model", None, MESSAGES, {"temperature": 0.2}, False)
        apply.completion(backend.mapping, ANSWER, "my-custom-model", 0)

    def stream() -> None:
        chat_request(backend, "my-custom-model", None, MESSAGES, {"temperature": 0.2}, True)
        relay = MappedStream(backend.mapping.stream, backend.label)
        for data in reads:
            relay.feed(data)
        relay.close()

    return MappingCost(chat_us=_best_of(5, 500, chat), stream_us=_best_of(5, 20, stream))
