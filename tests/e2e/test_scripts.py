"""End-to-end test of the service scripts: start_services.sh, verify_system.sh, stop_services.sh.

The scripts run for real, from the repository root, against a private env file, log directory and
free loopback ports, with VENV pointing at the interpreter running this test (so nothing is
installed when its requirements stamp is current). Linux only: the scripts read /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import free_ports

ROOT = Path(__file__).resolve().parents[2]
START, STOP, VERIFY = "./start_services.sh", "./stop_services.sh", "./verify_system.sh"
MARKERS = {"business_api": "business_api/gunicorn_conf.py", "litellm_proxy": "adapter.gateway:app"}
SETTING_NAMES = (
    "ENV_FILE BUSINESS_API_HOST BUSINESS_API_PORT BUSINESS_API_BASE BUSINESS_API_KEY BUSINESS_API_KEY_HEADER "
    "BUSINESS_API_TIMEOUT BUSINESS_API_WORKERS BUSINESS_API_THREADS LITELLM_PROXY_HOST LITELLM_PROXY_PORT "
    "LITELLM_PROXY_WORKERS LITELLM_MASTER_KEY LAAS_API_BASE LAAS_PROJECT_CODE LAAS_API_KEY LAAS_PRESET_HASH "
    "LOG_LEVEL LOG_DIR MAX_REQUEST_BODY_MB"
).split()



# ---------------------------------------------------------------- helpers


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of a process, None if it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid, pgrp = text.rsplit(")", 1)[1].split()[:3]
    return state, int(ppid), int(pgrp)


def alive(pid: int) -> bool:
    info = proc_stat(pid)
    return info is not None and info[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def descendants_or_group(pid: int) -> list[int]:
    """Live processes in `pid`'s process group or whose parent is `pid` (gunicorn workers)."""
    found = []
    for other in all_pids():
        info = proc_stat(other)
        if other != pid and info and info[0] != "Z" and (info[1] == pid or info[2] == pid):
            found.append(other)
    return found


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def read_pid(path: Path) -> int:
    return int(path.read_text().strip())


class Stack:
    """The scripts with a private configuration; remembers every service pid it saw, for cleanup."""

    def __init__(self, tmp_path: Path):
        self.business_port, self.proxy_port = free_ports(2)
        self.env_file = tmp_path / ".env"
        self.log_dir = tmp_path / "logs"
        self.env = {key: value for key, value in os.environ.items() if key not in SETTING_NAMES}
        self.env.update(
            ENV_FILE=str(self.env_file),
            LOG_DIR=str(self.log_dir),
            BUSINESS_API_PORT=str(self.business_port),
            LITELLM_PROXY_PORT=str(self.proxy_port),
            BUSINESS_API_WORKERS="2",
            VENV=sys.prefix,
            NO_COLOR="1",
        )
        self.seen: set[int] = set()

    def run(self, script: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [script, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.pids()  # remember whatever is running now
        return result

    def pid_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.pid"

    def pids(self) -> dict[str, int]:
        found = {}
        for name in MARKERS:
            try:
                found[name] = read_pid(self.pid_file(name))
            except (OSError, ValueError):
                continue
            self.seen.add(found[name])
        return found

    def cleanup(self) -> None:
        """Stop everything this stack started, even after a failed or timed-out script."""
        try:
            self.run(STOP, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for pid in self.seen:
            victims = descendants_or_group(pid) + ([pid] if alive(pid) else [])
            for victim in victims:
                if any(marker in cmdline(victim) for marker in MARKERS.values()):
                    try:
                        os.kill(victim, signal.SIGKILL)
                    except OSError:
                        pass


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.cleanup()


# ---------------------------------------------------------------- tests


def test_start_verify_restart_stop(stack: Stack) -> None:
    # Start from nothing: the env file is created with fresh secrets and mode 0600.
    result = stack.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    assert stack.env_file.is_file()
    assert stat.S_IMODE(stack.env_file.stat().st_mode) == 0o600
    assert "LITELLM_MASTER_KEY=sk-" in stack.env_file.read_text()
    first = stack.pids()
    assert set(first) == set(MARKERS), explain(result)
    for name, pid in first.items():
        assert alive(pid) and MARKERS[name] in cmdline(pid)
    # The key is never printed; the curl example reads it from the shell.
    key = next(line for line in stack.env_file.read_text().splitlines() if line.startswith("LITELLM_MASTER_KEY="))
    assert key.split("=", 1)[1] not in result.stdout + result.stderr
    assert "/v1/chat/completions" in result.stdout

    result = stack.run(VERIFY, timeout=120)
    assert result.returncode == 0, explain(result)

    # Idempotent: a second start changes nothing.
    result = stack.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    assert "already running" in result.stdout
    assert stack.pids() == first

    # The business API dies hard (master and workers): only it is started again.
    master = first["business_api"]
    doomed = [master] + [pid for pid in descendants_or_group(master) if MARKERS["business_api"] in cmdline(pid)]
    for pid in doomed:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not any(alive(pid) for pid in doomed), 10)

    result = stack.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    second = stack.pids()
    assert second["business_api"] != master
    assert second["litellm_proxy"] == first["litellm_proxy"]
    assert alive(second["business_api"])

    result = stack.run(VERIFY, timeout=120)
    assert result.returncode == 0, explain(result)

    result = stack.run(STOP, timeout=60)
    assert result.returncode == 0, explain(result)
    assert port_free(stack.business_port) and port_free(stack.proxy_port)
    assert not stack.pid_file("business_api").exists()
    assert not stack.pid_file("litellm_proxy").exists()
    for pid in second.values():
        assert not alive(pid)

    result = stack.run(STOP, timeout=60)
    assert result.returncode == 0, explain(result)


def test_stop_leaves_unrelated_process_alone(stack: Stack) -> None:
    stack.log_dir.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        stack.pid_file("business_api").write_text(f"{sleeper.pid}\n")
        result = stack.run(STOP, timeout=60)
        assert result.returncode == 0, explain(result)
        assert sleeper.poll() is None, "stop_services.sh signalled a process that is not the business API"
        assert not stack.pid_file("business_api").exists()
        assert "stale pid file" in result.stdout + result.stderr
    finally:
        sleeper.kill()
        sleeper.wait(timeout=10)


def test_start_refuses_a_port_held_by_another_process(stack: Stack) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", stack.business_port))
        holder.listen()
        result = stack.run(START, timeout=180)
    assert result.returncode != 0
    assert f"port {stack.business_port} is in use by another process" in result.stderr
    assert not stack.pid_file("business_api").exists()
    assert not stack.pid_file("litellm_proxy").exists()


def test_verify_fails_when_nothing_runs(stack: Stack) -> None:
    result = stack.run(VERIFY, timeout=120)
    assert result.returncode != 0
    assert "✗" in result.stdout


@pytest.mark.parametrize("script", [START, STOP, VERIFY])
def test_help(script: str, stack: Stack) -> None:
    result = stack.run(script, "--help", timeout=30)
    assert result.returncode == 0, explain(result)
    assert "Usage:" in result.stdout
    result = stack.run(script, "--no-such-option", timeout=30)
    assert result.returncode != 0
