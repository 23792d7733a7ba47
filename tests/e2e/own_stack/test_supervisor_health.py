"""proxy_supervisor replaces a worker that stops answering or is killed, and its log says which of the two happened
(uvicorn's own line, "died", cannot tell a hung worker from a crash or the kernel's OOM killer). A tiny ASGI app
stands in for the proxy: this is the supervisor's behaviour, not LiteLLM's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.http_probes import answers
from tests.support.processes import children, wait_for_children
from tests.support.script_stack import wait_until

from ..conftest import ROOT, free_port

WORKERS = 2
WORKER = "spawn_main"  # a worker's command line (multiprocessing's spawn)
STARTED = "Application startup complete"  # uvicorn's line, once per worker
HEALTH_CHECK_SECONDS = 5  # uvicorn's timeout_worker_healthcheck, which the supervisor keeps
BOUND = 40  # "within seconds" on a shared machine: a health check waits 5 s per unanswering worker


@pytest.fixture()
def supervisor(tmp_path):
    port = free_port()
    log = tmp_path / "supervisor.log"
    env = {**os.environ, "ENV_FILE": str(tmp_path / "no.env"), "LOG_DIR": str(tmp_path / "logs"),
           "PROXY_METRICS_DIR": str(tmp_path / "metrics"), "PYTHONPATH": str(ROOT / "src")}
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "proxy_supervisor", "tiny_asgi:app", "--app-dir",
                                    str(ROOT / "tests" / "support"), "--port", str(port), "--workers", str(WORKERS)],
                                   cwd=ROOT / "src", env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + BOUND
        while log.read_text(errors="replace").count(STARTED) < WORKERS or not answers(f"http://127.0.0.1:{port}/"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        time.sleep(2)  # the supervisor's loop (every 0.5 s) has seen both workers ready: they count as serving
        yield process, log, port
    finally:
        for pid in children(process.pid, WORKER):  # a worker this test stopped would not end on SIGTERM
            os.kill(pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=30)


def logged(log: Path, text: str) -> bool:
    return wait_until(lambda: text in log.read_text(errors="replace"), BOUND, 0.2)


def test_a_worker_that_stops_answering_is_replaced_and_the_log_says_it_hung(supervisor):
    process, log, port = supervisor
    workers = wait_for_children(process.pid, WORKERS, WORKER)
    hung = min(workers)
    os.kill(hung, signal.SIGSTOP)  # alive, but it answers nothing: the health check goes unanswered
    assert logged(log, f"Child process [{hung}] died: it did not answer the supervisor's health check within "
                       f"{HEALTH_CHECK_SECONDS} s"), log.read_text(errors="replace")
    replaced = wait_for_children(process.pid, WORKERS, WORKER, without={hung}, seconds=BOUND)
    assert replaced & workers == workers - {hung} and process.poll() is None
    assert answers(f"http://127.0.0.1:{port}/")


def test_a_killed_worker_is_replaced_and_the_log_names_the_signal(supervisor):
    process, log, port = supervisor
    workers = wait_for_children(process.pid, WORKERS, WORKER)
    victim = max(workers)
    os.kill(victim, signal.SIGKILL)  # what the kernel's OOM killer sends
    assert logged(log, f"Child process [{victim}] died: killed by SIGKILL; starting a new one"), \
        log.read_text(errors="replace")
    wait_for_children(process.pid, WORKERS, WORKER, without={victim}, seconds=BOUND)
    assert process.poll() is None and answers(f"http://127.0.0.1:{port}/")
