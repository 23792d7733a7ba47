"""scripts/bench/soak/traffic.py: each request's outcome against a real HTTP server, and the mix's make-up."""

import asyncio
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bench.harness import free_ports
from bench.soak import traffic

ANSWERS = {"/stream": (200, b"data: {}\n\ndata: [DONE]\n\n"), "/cut": (200, b"data: {}\n\n"),
           "/bad": (400, b'{"error": {}}'), "/plain": (200, b"{}")}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def outcome(base: str, path: str, stream_end: bytes | None = None) -> str:
    kind = traffic.Kind("k", path, b"{}", {}, stream_end=stream_end)

    async def one():
        async with httpx.AsyncClient(timeout=10) as client:
            return await traffic.send(client, base, kind)

    return asyncio.run(one())


def test_a_stream_that_ends_is_200_and_one_cut_short_is_not(server):
    assert outcome(server, "/stream", traffic.DONE_CHAT) == "200"
    assert outcome(server, "/cut", traffic.DONE_CHAT) == traffic.INCOMPLETE
    assert outcome(server, "/plain") == "200" and outcome(server, "/bad") == "400"


def test_a_refused_connection_is_a_transport_outcome():
    assert outcome(f"http://127.0.0.1:{free_ports(1)[0]}", "/plain") == "transport ConnectError"


def test_the_mix_holds_each_kind_by_its_weight_in_a_fixed_order():
    kinds = traffic.kinds("sk-key", "sk-master", "priced-chat")
    cycle = traffic.mix(kinds)
    assert Counter(kind.name for kind in cycle) == {kind.name: kind.weight for kind in kinds}
    assert [kind.name for kind in cycle] == [kind.name for kind in traffic.mix(kinds)]
    bad = {kind.name for kind in kinds if kind.expected == frozenset({"400"})}
    assert bad == {"bad_json", "bad_messages", "bad_anthropic"}
    assert all(kind.stream_end for kind in kinds if kind.name.endswith("_stream"))


def test_drive_counts_every_request_it_sends(server):
    kinds = [traffic.Kind("plain", "/plain", b"{}", {}), traffic.Kind("bad", "/bad", b"{}", {}, frozenset({"400"}))]
    tally = traffic.Tally()

    async def run():
        await traffic.drive(server, kinds, 2, time.monotonic() + 0.5, tally)

    asyncio.run(run())
    counts = tally.snapshot()
    assert set(counts) == {"plain", "bad"} and counts["plain"].keys() == {"200"} and counts["bad"].keys() == {"400"}
