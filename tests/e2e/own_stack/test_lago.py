"""Billing with Lago through the real proxy: events reach a local receiver standing in for Lago's events endpoint,
charged to the key's customer (or the fallback), one per request, and a Lago that fails never fails a request."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

import stack_settings
from adapter.keys import hash_key
from adapter.metering.lago import SEND_TIMEOUT

from ..conftest import SRC, extra_proxy, free_port, proxy_command, stack_environment

ACME, NOBODY = "sk-lago-acme-0123456789", "sk-lago-nocustomer-0123456789"
LAGO_KEY, EVENT_CODE = "lago-secret-key-0123456789", "llm_tokens"
PRICED = {"model_name": "priced-model", "litellm_params": {"model": "mapped/business/priced-model"},
          "model_info": {"mode": "chat", "input_cost_per_token": 0.000002, "output_cost_per_token": 0.00001}}
KEYS = [{"alias": "team-acme", "hash": hash_key(ACME), "customer_id": "acme"},
        {"alias": "team-none", "hash": hash_key(NOBODY)}]
WAIT = 15  # seconds an event may take to arrive (LiteLLM logs after answering)


class Receiver:
    """A tiny real HTTP server recording every POST, answering `status` after `delay` seconds."""

    def __init__(self, port: int):
        self.port, self.status, self.delay = port, 200, 0.0
        self.posts: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.posts.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                           "body": json.loads(body)})
                time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the proxy gave up waiting (the slow-Lago test)

            def log_message(self, *args):  # keep the test output quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def count(self) -> int:
        with self._lock:
            return len(self.posts)

    def wait_for(self, before: int, count: int, timeout: float = WAIT) -> list[dict]:
        """The posts after the first `before`, once `count` of them have arrived (or the time is up)."""
        deadline = time.monotonic() + timeout
        while self.count() < before + count and time.monotonic() < deadline:
            time.sleep(0.1)
        with self._lock:
            return self.posts[before:]


@pytest.fixture(scope="module")
def lago(stack, tmp_path_factory):
    """A receiver and a proxy sending it events; yields (receiver, master-key client, proxy's log dir)."""
    tmp = tmp_path_factory.mktemp("lago")
    (tmp / "keys.yaml").write_text(yaml.safe_dump({"keys": KEYS}))
    receiver = Receiver(free_port())
    receiver.start()
    try:
        with extra_proxy(tmp, models=[PRICED], KEYS_FILE=str(tmp / "keys.yaml"), BUSINESS_API_BASE=stack.business_url,
                         BUSINESS_API_KEY=stack.settings.business_api_key,
                         LAGO_API_BASE=f"http://127.0.0.1:{receiver.port}/", LAGO_API_KEY=LAGO_KEY,
                         LAGO_API_EVENT_CODE=EVENT_CODE) as client:
            yield receiver, client, tmp / "logs"
    finally:
        receiver.stop()
    log = (tmp / "logs" / "litellm_proxy.log").read_text(errors="replace")
    # LiteLLM logs a failing callback as "LoggingError" with a traceback; this one never fails, and keeps the key out
    assert LAGO_KEY not in log and "LoggingError" not in log and "lago.py" not in log, log[-3000:]


@pytest.fixture
def healthy(lago):
    """The receiver answering 200 at once again after each test."""
    receiver = lago[0]
    yield lago
    receiver.status, receiver.delay = 200, 0.0
    if receiver._server is None:
        receiver.start()


def ask(client, key: str, text: str = "hi", **extra):
    return client.with_options(api_key=key).chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": text}], **extra)


def usage_line(log_dir, request_id: str, timeout: float = WAIT) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in log_dir.glob("usage_*.jsonl"):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["request_id"] == request_id:
                    return record
        time.sleep(0.1)
    raise AssertionError(f"no usage line for {request_id}")


def only_event(receiver: Receiver, before: int) -> dict:
    """The one event posted after the first `before`; a second one (a duplicate) has a moment to show up."""
    receiver.wait_for(before, 1)
    time.sleep(0.5)
    posts = receiver.wait_for(before, 0)
    assert len(posts) == 1, posts
    return posts[0]


def test_a_key_with_a_customer_is_charged_to_it_with_the_tokens_of_the_answer(healthy):
    receiver, client, log_dir = healthy
    before = receiver.count()
    answer = ask(client, ACME, "bill me", user="someone-else")  # the client's `user` must not pick the customer
    post = only_event(receiver, before)
    assert post["path"] == "/api/v1/events" and post["authorization"] == f"Bearer {LAGO_KEY}"
    event = post["body"]["event"]
    assert (event["external_subscription_id"], event["code"]) == ("acme", EVENT_CODE)
    properties = event["properties"]
    assert (properties["model"], properties["key_alias"]) == ("my-custom-model", "team-acme")
    usage = answer.usage
    assert (properties["prompt_tokens"], properties["completion_tokens"], properties["total_tokens"]) == \
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) and usage.total_tokens > 0
    line = usage_line(log_dir, event["transaction_id"])  # the transaction is the usage line's request
    assert (line["customer_id"], line["total_tokens"]) == ("acme", usage.total_tokens)


def test_a_stream_is_one_event_with_its_final_token_counts(healthy):
    receiver, client, _ = healthy
    before = receiver.count()
    chunks = list(ask(client, ACME, "a streamed answer, please", stream=True, stream_options={"include_usage": True}))
    usage = next(chunk.usage for chunk in reversed(chunks) if chunk.usage)
    event = only_event(receiver, before)["body"]["event"]
    assert event["external_subscription_id"] == "acme"
    assert (event["properties"]["prompt_tokens"], event["properties"]["completion_tokens"]) == \
        (usage.prompt_tokens, usage.completion_tokens) and usage.completion_tokens > 0


def test_an_event_carries_the_calls_cost_as_its_usage_line_does(healthy):
    receiver, client, log_dir = healthy
    before = receiver.count()
    client.with_options(api_key=ACME).chat.completions.create(
        model="priced-model", messages=[{"role": "user", "content": "what does this cost?"}])
    event = only_event(receiver, before)["body"]["event"]
    line = usage_line(log_dir, event["transaction_id"])
    assert event["properties"]["response_cost"] == pytest.approx(line["cost"]) and line["cost"] > 0


@pytest.mark.parametrize("who", ["master", "key without customer"])
def test_a_request_without_a_customer_is_charged_to_the_fallback(healthy, who):
    receiver, client, _ = healthy
    before = receiver.count()
    ask(client, client.api_key if who == "master" else NOBODY, user="acme")
    event = only_event(receiver, before)["body"]["event"]
    assert event["external_subscription_id"] == "unassigned"
    assert event["properties"]["key_alias"] == ("master" if who == "master" else "team-none")


def test_an_embedding_and_an_image_are_events_and_a_failed_request_is_none(healthy):
    receiver, client, _ = healthy
    before = receiver.count()
    with pytest.raises(Exception) as caught:
        ask(client, ACME, "[mock:status=400]")
    assert getattr(caught.value, "status_code", None) == 400
    embedding = client.with_options(api_key=ACME).embeddings.create(model="my-embedding-model", input="count me")
    event = only_event(receiver, before)["body"]["event"]
    assert (event["external_subscription_id"], event["properties"]["model"]) == ("acme", "my-embedding-model")
    assert event["properties"]["prompt_tokens"] == embedding.usage.prompt_tokens > 0
    before = receiver.count()
    client.with_options(api_key=ACME).images.generate(model="my-image-model", prompt="a bill", size="256x256")
    event = only_event(receiver, before)["body"]["event"]
    # LiteLLM's LagoLogger counts tokens of chat and embedding answers only
    assert (event["external_subscription_id"], event["properties"]["model"]) == ("acme", "my-image-model")
    assert "total_tokens" not in event["properties"]


def proxy_log(log_dir) -> str:
    return (log_dir / "litellm_proxy.log").read_text(errors="replace")


def wait_for_log(log_dir, text: str, count: int = 1) -> str:
    deadline = time.monotonic() + WAIT
    while proxy_log(log_dir).count(text) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return proxy_log(log_dir)


@pytest.mark.parametrize("failure, reason", [("status", "Lago answered HTTP 500"), ("down", "ConnectError")])
def test_a_failing_lago_never_fails_a_request_and_is_one_warning(healthy, failure, reason):
    receiver, client, log_dir = healthy
    outages = proxy_log(log_dir).count("Lago events are not being sent")
    if failure == "status":
        receiver.status = 500
    else:
        receiver.stop()
    for number in range(3):
        assert ask(client, ACME, f"while Lago fails {number}").choices[0].message.content
    log = wait_for_log(log_dir, "Lago events are not being sent", outages + 1)
    time.sleep(1)  # the other two failures are counted, not logged
    log = proxy_log(log_dir)
    assert log.count("Lago events are not being sent") == outages + 1 and reason in log, log[-2000:]
    receiver.status = 200
    if failure == "down":
        receiver.start()
    before = receiver.count()
    ask(client, ACME, "Lago is back")
    assert only_event(receiver, before)["body"]["event"]["external_subscription_id"] == "acme"
    log = wait_for_log(log_dir, "Lago takes events again; 3 event(s) were not sent")
    assert "Lago takes events again; 3 event(s) were not sent" in log, log[-2000:]


def test_a_slow_lago_does_not_slow_the_answer_and_is_given_up_after_its_time_limit(healthy):
    receiver, client, log_dir = healthy
    receiver.delay = SEND_TIMEOUT + 2
    before = receiver.count()
    started = time.monotonic()
    raw = client.with_options(api_key=ACME).chat.completions.with_raw_response.create(
        model="my-custom-model", messages=[{"role": "user", "content": "Lago is slow"}])
    # Bounds well under the receiver's 12 s (and the 10 s limit), with room for a loaded machine.
    assert raw.status_code == 200 and time.monotonic() - started < 5.0
    # the other callbacks (the usage line) do not wait for Lago either
    usage_line(log_dir, raw.headers["x-litellm-call-id"], timeout=5.0)
    assert len(receiver.wait_for(before, 1)) == 1  # the event arrived; its answer never comes in time
    log = wait_for_log(log_dir, f"Lago events are not being sent (no answer within {SEND_TIMEOUT:g} s)")
    assert f"(no answer within {SEND_TIMEOUT:g} s)" in log, log[-2000:]
    receiver.delay = 0.0
    recovered = proxy_log(log_dir).count("Lago takes events again; 1 event(s)")
    ask(client, ACME, "Lago is quick again")
    log = wait_for_log(log_dir, "Lago takes events again; 1 event(s)", recovered + 1)
    assert log.count("Lago takes events again; 1 event(s)") == recovered + 1, log[-2000:]


def test_without_lago_settings_there_is_no_lago_callback_and_no_error(stack):
    assert stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "no Lago"}]).choices[0].message.content
    time.sleep(0.5)
    assert "lago" not in stack.proxy_log().lower()


@pytest.mark.parametrize("given", [{"LAGO_API_BASE": "http://127.0.0.1:9"},
                                   {"LAGO_API_KEY": LAGO_KEY, "LAGO_API_EVENT_CODE": EVENT_CODE}])
def test_part_of_the_lago_settings_stops_the_proxy_naming_the_missing_ones(tmp_path, given):
    env = stack_environment(tmp_path)
    command = proxy_command(stack_settings.load(env))
    finished = subprocess.run(command, cwd=SRC, env={**env, **given}, capture_output=True, text=True, timeout=120)
    output = finished.stdout + finished.stderr
    missing = [name for name in stack_settings.LAGO_REQUIRED if name not in given]
    assert finished.returncode == 2, output[-2000:]
    assert "configuration error: Lago billing needs LAGO_API_BASE, LAGO_API_KEY, LAGO_API_EVENT_CODE" in output
    assert f"missing: {', '.join(missing)}" in output and "Traceback" not in output and LAGO_KEY not in output
