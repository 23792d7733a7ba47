"""GET /metrics on the proxy (adapter.hooks.metrics, served by the door) and on the business API after real traffic,
each service with 2 workers: the counts are summed over the workers, a previous run's files do not count, and only
the master key reads the proxy's metrics."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import yaml
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

import stack_settings
from adapter.keys import hash_key

from ..conftest import SRC, business_command, start, stack_environment, wait_healthy

TEAM = "sk-metrics-team-key-0123456789"
MODEL = "my-custom-model"
STALE_COUNT = 1000
CONCURRENT = 8  # slow chats at once, in batches: both workers must take some of them
MAX_BATCHES = 5
LOGGED_WITHIN = 15  # seconds: LiteLLM logs a call (and counts it) just after answering it


def seed_stale_counter(directory: Path, name: str, labels: dict[str, str]) -> None:
    """A previous run's file: a real prometheus_client multiprocess counter written by another (dead) process."""
    code = ("import sys, json\nfrom prometheus_client import Counter\nlabels = json.loads(sys.argv[2])\n"
            f"Counter(sys.argv[1], 'stale', list(labels)).labels(**labels).inc({STALE_COUNT})\n")
    subprocess.run([sys.executable, "-c", code, name, json.dumps(labels)], check=True, timeout=60,
                   env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"})


@dataclass
class Services:
    settings: stack_settings.Settings
    proxy_url: str
    business_url: str
    proxy_pid: int  # the supervisor's
    proxy_metrics_dir: Path

    def client(self, key: str) -> openai.OpenAI:
        # A new connection per request, so that both workers take requests.
        return openai.OpenAI(base_url=f"{self.proxy_url}/v1", api_key=key, max_retries=0, timeout=30,
                             default_headers={"Connection": "close"})


def supervisor_command(settings: stack_settings.Settings, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "proxy_supervisor", "adapter.gateway:app", "--app-dir", str(SRC),
        "--host", "127.0.0.1", "--port", str(settings.litellm_proxy_port), "--workers", str(workers),
        "--http", "httptools", "--loop", "uvloop", "--timeout-keep-alive", "75", "--log-level", "info",
    ]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """The business API and the proxy, 2 workers each, with metrics directories holding a previous run's files."""
    tmp = tmp_path_factory.mktemp("metrics")
    proxy_dir, business_dir = tmp / "prometheus-proxy", tmp / "prometheus-business"
    for directory in (proxy_dir, business_dir):
        directory.mkdir()
    seed_stale_counter(proxy_dir, "litellm_proxy_total_requests_metric",
                       {"api_key_alias": "team-metrics", "requested_model": MODEL, "status_code": "200"})
    seed_stale_counter(business_dir, "flask_http_request_total", {"method": "POST", "status": "200"})
    (tmp / "keys.yaml").write_text(json.dumps({"keys": [
        {"alias": "team-metrics", "hash": hash_key(TEAM), "models": [MODEL], "customer_id": "acme"}]}))
    env = stack_environment(tmp, BUSINESS_API_WORKERS="2", LITELLM_PROXY_WORKERS="2",
                            PROXY_METRICS_DIR=str(proxy_dir), BUSINESS_API_METRICS_DIR=str(business_dir))
    settings = stack_settings.load(env)
    logs = tmp / "logs"
    business = start("business_api", business_command(), env, logs)
    proxy = None
    try:
        business_url = f"http://127.0.0.1:{settings.business_api_port}"
        wait_healthy(business, f"{business_url}/health")
        proxy = start("litellm_proxy", supervisor_command(settings, 2), env, logs)
        proxy_url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{proxy_url}/health/liveliness")
        yield Services(settings, proxy_url, business_url, proxy.process.pid, proxy_dir)
    finally:
        for service in (proxy, business):
            if service is not None:
                service.stop()


def get(url: str, key: str | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read().decode()


def samples(text: str, name: str) -> list:
    """Every sample called `name` in a Prometheus text exposition, parsed by prometheus_client."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name == name]


def worker_pids(services) -> set[str]:
    """The pids of the workers that counted a call: prometheus_client writes each process's counters to a file named
    after its pid (counter_<pid>.db in the proxy's metrics directory; the series themselves carry no pid)."""
    return {path.stem.removeprefix("counter_") for path in services.proxy_metrics_dir.glob("counter_*.db")
            if any(json.loads(key)[0] == "litellm_proxy_total_requests_metric" and value
                   for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)))}


def total(text: str, name: str, **labels: str) -> float:
    return sum(s.value for s in samples(text, name) if all(s.labels.get(k) == v for k, v in labels.items()))


@dataclass
class Traffic:
    ok: Counter  # (key alias, status) → requests sent
    tokens: Counter  # key alias → total tokens the responses reported
    backend_calls: int
    slow: int  # chats that took at least 0.3 s at the backend


def chat(client: openai.OpenAI, text: str) -> int:
    response = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
    return response.usage.total_tokens


def stream(client: openai.OpenAI, text: str) -> int:
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return next(c.usage for c in reversed(chunks) if c.usage).total_tokens


@pytest.fixture(scope="module")
def traffic(services) -> Traffic:
    """Chats (some at once), a stream and a failure with a team key; chats with the master key."""
    team, master = services.client(TEAM), services.client(services.settings.litellm_master_key)
    sent, tokens = Counter(), Counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        for _ in range(MAX_BATCHES):  # until both workers have answered some (the kernel decides who accepts)
            for used in pool.map(lambda n: chat(team, f"team {n} [mock:sleep=300]"), range(CONCURRENT)):
                sent["team-metrics", "200"] += 1
                tokens["team-metrics"] += used
            if len(worker_pids(services)) == 2:
                break
    slow = sent["team-metrics", "200"]
    tokens["team-metrics"] += stream(team, "team stream")
    sent["team-metrics", "200"] += 1
    for number in range(2):
        tokens["master"] += chat(master, f"platform {number}")
        sent["master", "200"] += 1
    with pytest.raises(openai.BadRequestError):
        chat(team, "[mock:status=400]")
    sent["team-metrics", "400"] += 1
    return Traffic(sent, tokens, backend_calls=sum(sent.values()), slow=slow)


def scrape(services) -> str:
    status, _, text = get(f"{services.proxy_url}/metrics", services.settings.litellm_master_key)
    assert status == 200, text
    return text


def proxy_metrics(services, traffic: Traffic) -> str:
    """The proxy's /metrics once every call sent has been counted (LiteLLM counts just after answering)."""
    deadline = time.monotonic() + LOGGED_WITHIN
    while True:
        text = scrape(services)
        if sum(requests_by_key(text).values()) >= sum(traffic.ok.values()) or time.monotonic() > deadline:
            return text
        time.sleep(0.3)


def requests_by_key(text: str) -> Counter:
    """(key alias, status) → requests counted; requests refused at authentication (alias "None") left out."""
    counted = Counter()
    for sample in samples(text, "litellm_proxy_total_requests_metric_total"):
        if sample.labels["api_key_alias"] != "None":
            counted[sample.labels["api_key_alias"], sample.labels["status_code"]] += sample.value
    return counted


def test_request_counts_per_key_alias_and_status_are_what_was_sent_summed_over_both_workers(services, traffic):
    text = proxy_metrics(services, traffic)
    assert requests_by_key(text) == traffic.ok  # the previous run's 1000 are not there
    assert {s.labels["requested_model"] for s in samples(text, "litellm_proxy_total_requests_metric_total")} \
        == {MODEL}
    assert total(text, "litellm_proxy_failed_requests_metric_total", api_key_alias="team-metrics") == 1
    # Both workers answered some of them (each wrote its own counter file): the counts are summed.
    assert len(worker_pids(services)) == 2, worker_pids(services)


def test_tokens_per_key_alias_are_the_usage_the_responses_reported(services, traffic):
    text = proxy_metrics(services, traffic)
    for alias, reported in traffic.tokens.items():
        assert total(text, "litellm_total_tokens_metric_total", api_key_alias=alias, requested_model=MODEL) \
            == reported > 0, alias
        assert total(text, "litellm_input_tokens_metric_total", api_key_alias=alias) \
            + total(text, "litellm_output_tokens_metric_total", api_key_alias=alias) == reported


def test_latency_is_observed_for_every_answered_request_per_model_and_key_alias(services, traffic):
    text = proxy_metrics(services, traffic)
    for alias in ("team-metrics", "master"):
        count = total(text, "litellm_request_total_latency_metric_count", api_key_alias=alias, model_group=MODEL)
        assert count == traffic.ok[alias, "200"], alias
    # The team's slow chats ([mock:sleep=300]) took at least 0.3 s each, at the backend too.
    for name in ("litellm_request_total_latency_metric_sum", "litellm_llm_api_latency_metric_sum"):
        assert total(text, name, api_key_alias="team-metrics") >= 0.3 * traffic.slow, name
    # The one stream: its time to the first chunk.
    assert total(text, "litellm_llm_api_time_to_first_token_metric_count", api_key_alias="team-metrics") == 1


def test_the_metrics_name_keys_by_alias_only_with_few_labels(services, traffic):
    text = proxy_metrics(services, traffic)
    assert services.settings.litellm_master_key not in text and TEAM not in text and hash_key(TEAM) not in text
    labels = {label for family in text_string_to_metric_families(text) if family.name.startswith("litellm_")
              for sample in family.samples for label in sample.labels}
    assert not labels & {"hashed_api_key", "client_ip", "user_agent", "end_user", "team", "user"}, labels
    assert {s.labels["api_key_alias"] for s in samples(text, "litellm_total_tokens_metric_total")} \
        == {"team-metrics", "master"}


@pytest.mark.parametrize("key", [None, "sk-not-a-key-0123456789", TEAM])
def test_metrics_without_the_master_key_are_an_openai_shaped_401(services, key):
    status, content_type, body = get(f"{services.proxy_url}/metrics", key)
    assert (status, content_type) == (401, "application/json"), body
    error = json.loads(body)["error"]
    assert error["type"] == "authentication_error" and error["code"] == "401"
    if key == TEAM:
        assert "needs the master key" in error["message"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_metrics_are_answered_on_both_spellings_without_a_redirect(services, method, path):
    """LiteLLM alone redirects /metrics to /metrics/ (307), which curl without -L shows as an empty answer."""
    port = services.settings.litellm_proxy_port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers={"Authorization": f"Bearer {services.settings.litellm_master_key}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert (response.status, response.getheader("content-type", "").split(";")[0]) == (200, "text/plain")
    assert (b"# TYPE litellm_" in body) == (method == "GET")


def test_the_business_api_counts_its_requests_by_route_and_status_summed_over_both_workers(services, traffic):
    proxy_metrics(services, traffic)  # every call has reached the business API
    status, content_type, text = get(f"{services.business_url}/metrics")
    assert status == 200 and content_type.startswith("text/plain"), text
    by_status = Counter()
    for sample in samples(text, "flask_http_request_duration_seconds_count"):
        if sample.labels["url_rule"] == "/api/process":
            by_status[sample.labels["status"]] += sample.value
    assert by_status == {"200": traffic.backend_calls - 1, "400": 1}
    # The counter sums every route (the health checks too) and not the previous run's 1000.
    assert total(text, "flask_http_request_total", method="POST") == traffic.backend_calls


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_the_counts_survive_a_reload_and_go_on(services, traffic):
    """Last in this module: SIGHUP replaces both workers; what the old ones counted stays in the sums."""
    proxy_metrics(services, traffic)
    old = {int(pid) for pid in worker_pids(services)}
    os.kill(services.proxy_pid, signal.SIGHUP)
    deadline = time.monotonic() + 240
    while any(alive(pid) for pid in old) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(alive(pid) for pid in old), "the old workers were not replaced"
    chat(services.client(TEAM), "after the reload")
    traffic.ok["team-metrics", "200"] += 1
    after = proxy_metrics(services, traffic)
    assert requests_by_key(after) == traffic.ok
    assert worker_pids(services) - {str(pid) for pid in old}, "a new worker answered"


def test_a_config_listing_both_metrics_callbacks_is_refused_at_start(tmp_path):
    """Ours and LiteLLM's prometheus callback count the same series: both at once would count every call twice."""
    config = yaml.safe_load((SRC / "config.yaml").read_text(encoding="utf-8"))
    config["litellm_settings"]["callbacks"] = ["adapter.hooks.usage_log", "adapter.hooks.metrics", "prometheus"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = stack_environment(tmp_path, CONFIG_FILE_PATH=str(tmp_path / "config.yaml"),
                            BACKENDS_DIR=str(SRC / "backends"))
    result = subprocess.run([sys.executable, "-c", "import adapter.hooks"], env=env, cwd=SRC, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert 'lists both "prometheus" and "adapter.hooks.metrics"' in result.stderr, result.stderr[-2000:]
