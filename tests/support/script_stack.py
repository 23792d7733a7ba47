"""Run the service scripts against a private configuration, and clean up whatever they started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


from tests.e2e.conftest import free_ports

ROOT = Path(__file__).resolve().parents[2]
START, STOP, VERIFY = "./start_services.sh", "./stop_services.sh", "./verify_system.sh"
MARKERS = {"business_api": "business_api/gunicorn_conf.py", "litellm_proxy": "adapter.gateway:app"}
SETTING_NAMES = (
    "ENV_FILE BUSINESS_API_HOST BUSINESS_API_PORT BUSINESS_API_BASE BUSINESS_API_KEY BUSINESS_API_KEY_HEADER "
    "BUSINESS_API_TIMEOUT BUSINESS_API_WORKERS BUSINESS_API_THREADS LITELLM_PROXY_HOST LITELLM_PROXY_PORT "
    "LITELLM_PROXY_WORKERS LITELLM_PROXY_BACKLOG LITELLM_MASTER_KEY LAAS_API_BASE LAAS_PROJECT_CODE LAAS_API_KEY LAAS_PRESET_HASH "
    "LOG_LEVEL LOG_DIR MAX_REQUEST_BODY_MB CONFIG_FILE_PATH BACKENDS_DIR KEYS_FILE"
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


