"""adapter.providers.pacing: a worker's chunk budget shared by its open streams, and one stream's wait."""

import asyncio
import time
from contextlib import ExitStack

from adapter.providers.pacing import LONGEST_PACE, Pacer, StreamPace


def test_the_interval_is_the_open_streams_over_the_budget_up_to_the_longest():
    pacer = Pacer(chunks_per_second=100, longest=LONGEST_PACE)
    with ExitStack() as streams:
        assert pacer.interval() == 0
        for _ in range(10):
            streams.enter_context(pacer.stream())
        assert pacer.interval() == 10 / 100
        for _ in range(1000):
            streams.enter_context(pacer.stream())
        assert pacer.interval() == LONGEST_PACE
    assert pacer.open == 0  # every stream counted out, as it ends or fails


def test_a_stream_that_fails_is_counted_out():
    pacer = Pacer(chunks_per_second=100, longest=LONGEST_PACE)
    try:
        with pacer.stream():
            raise ConnectionError("the backend went away")
    except ConnectionError:
        pass
    assert pacer.open == 0


def test_no_budget_means_no_pacing():
    pacer = Pacer(chunks_per_second=0, longest=LONGEST_PACE)
    with pacer.stream(), pacer.stream():
        assert pacer.interval() == 0


def elapsed(pace: StreamPace) -> float:
    async def run():
        started = time.monotonic()
        await pace.wait()
        return time.monotonic() - started

    return asyncio.run(run())


def test_a_stream_waits_out_its_interval_after_content_and_not_before():
    pacer = Pacer(chunks_per_second=10, longest=LONGEST_PACE)
    with pacer.stream() as pace:  # one stream: 0.1 s apart
        assert elapsed(pace) < 0.02  # nothing sent yet: the first content never waits
        pace.sent()
        assert 0.08 <= elapsed(pace) < 0.3
        pace.sent()
        time.sleep(0.1)  # the interval passed while the chunk was relayed
        assert elapsed(pace) < 0.02
