"""LOG_DIR full or unwritable while the proxy (2 workers) serves: every request is still answered, and no usage line
is dropped silently — each is counted in /metrics (adapter_usage_lines_lost_total{reason}) and copied whole to the
service log; the proxy says so once per worker, and once more when lines are written again. The lines written
before and after are whole JSON lines, one per call, across both workers.

"Full" is the day's usage file pointing at /dev/full (the kernel's ENOSPC on every write); "unwritable" is LOG_DIR
replaced by a regular file (ENOTDIR). Both work as root, which ignores permission bits (CI may run as root).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openai
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

import stack_settings
from adapter.keys import hash_key
from adapter.metering.usage_log import LOST_PREFIX

from ..conftest import business_command, proxy_command, stack_environment, start, wait_healthy

TEAM = "sk-chaos-log-dir-team-key-0123456789"
BUDGETED = "sk-chaos-log-dir-budget-key-0123456789"  # a key with a money budget: its spend counters live in LOG_DIR
MODEL = "my-custom-model"
CONCURRENT = 8
MANY = 64  # chats, CONCURRENT at a time, whose lines must all be whole
MAX_BATCHES = 6  # batches of concurrent chats until both workers have taken some (the kernel decides who accepts)
WITHIN = 20  # seconds: LiteLLM logs a call (and counts it) just after answering it
ERROR_SAID = "usage lines cannot be written to "
RESUMED = re.compile(r"usage lines are written to LOG_DIR again; (\d+) line\(s\) were copied to this log instead")


@dataclass
class Proxy:
    settings: stack_settings.Settings
    url: str
    log: Path  # the proxy's service log (stdout and stderr), outside LOG_DIR
    metrics_dir: Path

    @property
    def log_dir(self) -> Path:
        return Path(self.settings.log_dir)

    def client(self, key: str = TEAM) -> openai.OpenAI:
        # A new connection per request, so that both workers take requests.
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60,
                             default_headers={"Connection": "close"})

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """The business API and a 2-worker proxy whose service log and metrics live outside LOG_DIR, as they do when
    the service log is journald or a container's and LOG_DIR is a disk of its own."""
    tmp = tmp_path_factory.mktemp("chaos-log-dir")
    (tmp / "keys.yaml").write_text(json.dumps({"keys": [
        {"alias": "team-chaos", "hash": hash_key(TEAM)},
        {"alias": "budget-chaos", "hash": hash_key(BUDGETED), "max_budget": 1000, "budget_duration": "30d"}]}))
    metrics_dir = tmp / "prometheus"
    env = stack_environment(tmp, LITELLM_PROXY_WORKERS="2", PROXY_METRICS_DIR=str(metrics_dir),
                            BUSINESS_API_METRICS_DIR=str(tmp / "prometheus-business"))
    settings = stack_settings.load(env)
    Path(settings.log_dir).mkdir()
    services = tmp / "service-logs"
    business = start("business_api", business_command(), env, services)
    proxy = None
    try:
        wait_healthy(business, f"http://127.0.0.1:{settings.business_api_port}/health")
        proxy = start("litellm_proxy", proxy_command(settings, workers=2), env, services)
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        yield Proxy(settings, url, proxy.log, metrics_dir)
    finally:
        for service in (proxy, business):
            if service is not None:
                service.stop()
    text = proxy.log.read_text(errors="replace") if proxy else ""
    assert TEAM not in text and BUDGETED not in text and settings.litellm_master_key not in text


def chats(proxy: Proxy, count: int, key: str = TEAM) -> list[str]:
    """`count` chats, CONCURRENT at a time; every one must be answered."""
    client = proxy.client(key)

    def chat(n: int) -> str:
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"chat {n} [mock:sleep=200]"}])
        assert reply.choices[0].message.content
        return reply.id

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(chat, range(count)))


def counted_by_worker(proxy: Proxy, name: str, **labels: str) -> dict[str, float]:
    """pid → the worker's value of a counter (prometheus_client writes each process's counters to counter_<pid>.db;
    the series carry no pid)."""
    found = {}
    for path in proxy.metrics_dir.glob("counter_*.db"):
        entries = [(json.loads(key), value) for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))]
        # key: [family name, sample name, {label: value}, help]
        found[path.stem.removeprefix("counter_")] = sum(
            value for key, value in entries if key[0] == name and labels.items() <= key[2].items())
    return {pid: value for pid, value in found.items() if value}


def until(condition: Callable[[], object], seconds: float = WITHIN) -> object:
    deadline = time.monotonic() + seconds
    while not (outcome := condition()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return outcome


def scraped(proxy: Proxy, name: str, **labels: str) -> float:
    """A series' value in GET /metrics (summed over both workers and over any labels not given)."""
    request = urllib.request.Request(f"{proxy.url}/metrics",
                                     headers={"Authorization": f"Bearer {proxy.settings.litellm_master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def usage_lines(proxy: Proxy) -> list[dict]:
    """Every usage line in LOG_DIR; each must be one whole JSON object."""
    return [json.loads(line) for path in sorted(proxy.log_dir.glob("usage_*.jsonl"))
            for line in path.read_text().splitlines()]


def copied_lines(proxy: Proxy) -> list[dict]:
    """The usage lines the proxy copied to its service log; each must be one whole JSON object after the prefix."""
    return [json.loads(line[len(LOST_PREFIX):]) for line in proxy.log_text().splitlines()
            if line.startswith(LOST_PREFIX)]


def resumed_counts(proxy: Proxy) -> list[int]:
    return [int(match) for match in RESUMED.findall(proxy.log_text())]


def both_workers_chat(proxy: Proxy, series: str, **labels: str) -> int:
    """Batches of concurrent chats until both workers have counted some in `series`; the number of chats sent."""
    sent = 0
    for _ in range(MAX_BATCHES):
        sent += len(chats(proxy, CONCURRENT))
        if until(lambda: len(counted_by_worker(proxy, series, **labels)) == 2, 5):
            return sent
    pytest.fail(f"one worker took every request in {sent} chats: {counted_by_worker(proxy, series, **labels)}")


def days() -> list[str]:
    """Today's and tomorrow's usage file names (UTC): a test running over midnight breaks both."""
    now = datetime.now(timezone.utc)
    return [f"usage_{(now + timedelta(days=n)).strftime('%Y-%m-%d')}.jsonl" for n in (0, 1)]


def lost_episode(proxy: Proxy, reason: str, break_log_dir: Callable[[], None], repair: Callable[[], None]) -> None:
    """Chats while LOG_DIR is broken, then after its repair: every call is in the file or copied to the log."""
    written_before, copied_before = len(usage_lines(proxy)), len(copied_lines(proxy))
    resumed_before, errors_before = sum(resumed_counts(proxy)), proxy.log_text().count(ERROR_SAID)
    lost_before = scraped(proxy, "adapter_usage_lines_lost_total", reason=reason)
    break_log_dir()
    try:
        sent = both_workers_chat(proxy, "adapter_usage_lines_lost", reason=reason)
        assert until(lambda: scraped(proxy, "adapter_usage_lines_lost_total", reason=reason) - lost_before == sent)
        copied = copied_lines(proxy)[copied_before:]
        assert len(copied) == sent and {line["key_alias"] for line in copied} == {"team-chaos"}
        assert {line["status"] for line in copied} == {200} and all(line["total_tokens"] > 0 for line in copied)
        # Said once per worker, not once per line, naming the reason.
        def said() -> list[str]:
            return [line for line in proxy.log_text().splitlines() if ERROR_SAID in line][errors_before:]

        assert until(lambda: len(said()) >= 2)
        assert len(said()) == 2 and all(f"({reason}: " in line for line in said()), said()
    finally:
        repair()
    # Writing resumes by itself; each worker says how many of its lines went to the log.
    after = 0
    for _ in range(MAX_BATCHES):
        after += len(chats(proxy, CONCURRENT))
        if until(lambda: sum(resumed_counts(proxy)) - resumed_before == sent, 5):
            break
    assert sum(resumed_counts(proxy)) - resumed_before == sent, proxy.log_text()[-3000:]
    assert until(lambda: len(usage_lines(proxy)) - written_before == after)
    assert scraped(proxy, "adapter_usage_lines_unrecorded_total") == 0


def test_usage_lines_are_whole_and_one_per_call_across_two_workers(proxy: Proxy) -> None:
    sent = len(chats(proxy, MANY)) + both_workers_chat(proxy, "litellm_proxy_total_requests_metric")
    assert until(lambda: len(usage_lines(proxy)) == sent)
    lines = usage_lines(proxy)
    assert len({line["request_id"] for line in lines}) == sent
    assert {line["key_alias"] for line in lines} == {"team-chaos"}
    assert [scraped(proxy, "adapter_usage_lines_lost_total", reason=reason) for reason in
            ("no_space", "file_too_large", "not_writable", "no_directory", "other")] == [0] * 5


def test_a_full_log_dir_loses_no_line_silently_and_writing_resumes_when_space_is_back(proxy: Proxy) -> None:
    kept = proxy.log_dir / "kept"
    kept.mkdir()

    def fill() -> None:
        for name in days():
            if (proxy.log_dir / name).exists():
                (proxy.log_dir / name).rename(kept / name)
            (proxy.log_dir / name).symlink_to("/dev/full")

    def free() -> None:
        for name in days():
            (proxy.log_dir / name).unlink()
            if (kept / name).exists():
                (kept / name).rename(proxy.log_dir / name)

    lost_episode(proxy, "no_space", fill, free)
    kept.rmdir()


def test_a_log_dir_replaced_by_a_file_loses_no_line_silently_and_writing_resumes_when_it_is_back(proxy: Proxy) -> None:
    away = proxy.log_dir.with_name("logs-away")

    def replace() -> None:
        proxy.log_dir.rename(away)
        proxy.log_dir.write_text("not a directory\n")

    def restore() -> None:
        proxy.log_dir.unlink()
        away.rename(proxy.log_dir)

    lost_episode(proxy, "no_directory", replace, restore)


def test_a_key_with_a_budget_is_served_while_log_dir_is_a_file_and_its_spend_store_says_so_once(proxy: Proxy) -> None:
    """The budget check and charge of a key with a budget read and write LOG_DIR/spend.sqlite3 (metering/spend.py):
    with LOG_DIR gone, each worker counts in memory and says so once; no call fails. No budgeted call was made
    before, so each worker opens the file for the first time while LOG_DIR is a file."""
    away = proxy.log_dir.with_name("logs-away-budget")
    before = proxy.log_text()
    proxy.log_dir.rename(away)
    proxy.log_dir.write_text("not a directory\n")
    try:
        served = sum(len(chats(proxy, CONCURRENT, BUDGETED)) for _ in range(MAX_BATCHES))
    finally:
        proxy.log_dir.unlink()
        away.rename(proxy.log_dir)
    assert served == CONCURRENT * MAX_BATCHES
    assert len(chats(proxy, CONCURRENT, BUDGETED)) == CONCURRENT
    written = proxy.log_text()[len(before):]
    said = [line for line in written.splitlines() if "budgets: " in line and "cannot be used" in line]
    assert 1 <= len(said) <= 2, written[-3000:]  # once per worker that took a budgeted call
    assert "Traceback" not in written, written[-3000:]
