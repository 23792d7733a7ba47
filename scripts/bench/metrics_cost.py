"""The metrics callback per call, in-process (issue 21): ours against LiteLLM's prometheus callback, CPU µs.

    .venv/bin/python -m bench.metrics_cost          (PYTHONPATH=src:scripts)

Both write to a fresh prometheus_client multiprocess directory, as the proxy's workers do. One real call's logging
kwargs (litellm.acompletion with a mock response, a key alias and a route in its metadata) are captured once and
handed to each callback again and again: ours (Metrics.record, what its success event does) and LiteLLM's
PrometheusLogger.async_log_success_event (its per-call work on success; its proxy-level hooks come on top).
Printed: CPU µs per call, the lowest and the median of 5 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from typing import Callable

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importing LiteLLM must not fetch its cost map
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-mp-")  # before prometheus_client

import litellm  # noqa: E402
from litellm.integrations.custom_logger import CustomLogger  # noqa: E402
from litellm.integrations.prometheus import PrometheusLogger  # noqa: E402

from adapter.metering.metrics import Metrics  # noqa: E402

METADATA = {"user_api_key_alias": "team-a", "user_api_key_hash": "ab" * 32, "model_group": "my-custom-model",
            "user_api_key_request_route": "/v1/chat/completions"}


class Capture(CustomLogger):
    def __init__(self):
        super().__init__()
        self.logged: list[tuple] = []

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.logged.append((kwargs, response_obj, start_time, end_time))


async def one_call() -> tuple:
    """The logging arguments of one chat call as LiteLLM hands them to its callbacks."""
    capture = Capture()
    litellm.callbacks = [capture]
    await litellm.acompletion(model="openai/my-custom-model", messages=[{"role": "user", "content": "hi"}],
                              mock_response="hello there", api_key="unused", metadata=METADATA)
    for _ in range(100):
        if capture.logged:
            litellm.callbacks = []
            return capture.logged[0]
        await asyncio.sleep(0.02)
    raise SystemExit("metrics_cost: LiteLLM logged no call")


def cpu_us(call: Callable[[], object], calls: int, rounds: int = 5) -> tuple[float, float]:
    """(lowest, median) CPU µs per call over `rounds` rounds of `calls` calls."""
    per_call = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            call()
        per_call.append((time.process_time() - started) / calls * 1e6)
    return min(per_call), statistics.median(per_call)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="calls per round")
    args = parser.parse_args(argv)
    kwargs, response, started, ended = asyncio.run(one_call())
    ours, theirs = Metrics(registry=None), PrometheusLogger()
    loop = asyncio.new_event_loop()
    rows = {
        "ours (adapter.hooks.metrics)": lambda: ours.record(kwargs["standard_logging_object"], kwargs),
        "LiteLLM's prometheus, success event": lambda: loop.run_until_complete(
            theirs.async_log_success_event(kwargs, response, started, ended)),
        "(an empty coroutine run the same way)": lambda: loop.run_until_complete(asyncio.sleep(0)),
    }
    print("| callback, per call | CPU µs lowest | CPU µs median |\n|---|---:|---:|")
    for label, call in rows.items():
        lowest, median = cpu_us(call, args.calls)
        print(f"| {label} | {lowest:.0f} | {median:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
