"""The soak benchmark (scripts/soak.py) for 2 minutes on a stack of its own: every kind of request sent, every status
the expected one, the servers' processes sampled all along. Memory and timing are the long run's to judge."""

from __future__ import annotations

import json
import subprocess
import sys

from ..conftest import ROOT

MINUTES, WARMUP_MINUTES, INTERVAL = 1.5, 0.5, 5  # 2 minutes of traffic in all
KINDS = {"chat", "chat_stream", "chat_priced", "tools", "tools_stream", "embeddings", "laas_chat", "laas_stream",
         "laas_tools", "responses", "responses_stream", "messages", "messages_stream", "bad_json", "bad_messages",
         "bad_anthropic", "metrics"}


def test_a_short_soak_sees_only_expected_statuses(tmp_path):
    data = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--minutes", str(MINUTES), "--warmup-minutes",
         str(WARMUP_MINUTES), "--interval", str(INTERVAL), "--concurrency", "8", "--json", str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    # 3: a memory or open-files target missed, which two minutes cannot judge; anything else is a failure.
    assert result.returncode in (0, 3), result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads(data.read_text())
    assert set(run["counts"]) == KINDS == set(run["expected"])
    for kind, outcomes in run["counts"].items():
        assert sum(outcomes.values()) > 0 and set(outcomes) <= set(run["expected"][kind]), (kind, outcomes)
    assert {tuple(run["expected"][kind]) for kind in ("bad_json", "bad_messages", "bad_anthropic")} == {("400",)}
    verdicts = {verdict["check"]: verdict for verdict in run["verdicts"]}
    assert verdicts["unexpected statuses (every kind has its expected set)"]["met"], verdicts
    assert verdicts["kinds of request sent"]["met"], verdicts
    samples = run["samples"]
    # samples during the warm-up and after it (the judging needs two after it), each with the counts so far
    assert any(s["warmup"] for s in samples) and len([s for s in samples if not s["warmup"]]) >= 2, len(samples)
    assert samples[-1]["requests"] == sum(n for outcomes in samples[-1]["counts"].values() for n in outcomes.values())
    assert samples[-1]["requests"] > samples[0]["requests"]
    roles = {group: [process["role"] for process in processes] for group, processes in samples[-1]["groups"].items()}
    # The proxy's supervisor with its workers (and multiprocessing's tracker); gunicorn's master with its workers.
    assert roles["proxy"].count("supervisor") == 1 and roles["proxy"].count("worker") >= 1, roles
    assert roles["business API"].count("master") == 1 and roles["business API"].count("worker") >= 1, roles
    assert all(process["rss_kb"] > 0 and process["fds"] > 0 for sample in samples
               for processes in sample["groups"].values() for process in processes)
    assert "| unexpected statuses (every kind has its expected set) | 0 | 0 | met |" in result.stdout
