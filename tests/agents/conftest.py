"""Real coding agents against the real stack: helpers to run one non-interactively with a HOME of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import stack  # noqa: F401  (the session's stack fixture, shared with e2e)

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_BIN = NODE_DIR / "node_modules" / ".bin"
AGENT_TIMEOUT_SECONDS = 90
MOCK_MODEL = "my-custom-model"
LAAS_MODEL = "claude-3.5-sonnet"
# Whose answer a model gives: the LaaS mock answers as its preset, whatever the model's name.
ANSWERER = {MOCK_MODEL: MOCK_MODEL, LAAS_MODEL: "laas-preset"}


def node_agent(name: str) -> str:
    """The path of an installed node agent's command; fails (never skips) when scripts/test.sh did not install it."""
    path = NODE_BIN / name
    assert path.is_file(), f"{name} is not installed in {NODE_BIN}: run ./scripts/test.sh (it runs `npm ci` there)"
    return str(path)


def agent_env(home: Path, **extra: str) -> dict:
    """The environment an agent runs in: its own HOME, no proxy for loopback, nothing of the developer's keys."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANTHROPIC_", "OPENAI_", "CLAUDE_", "CODEX_", "OPENCODE_"))}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
            "NO_COLOR": "1", "CI": "1", **extra}


def run_agent(command: list[str], env: dict, cwd: Path, timeout: float = AGENT_TIMEOUT_SECONDS) -> str:
    """Run an agent with stdin closed; its output (stdout then stderr). Its whole process group is ended after."""
    # PWD too: opencode takes its project directory from it, not from the directory it is started in.
    process = subprocess.Popen(command, cwd=cwd, env={**env, "PWD": str(cwd)}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{command[0]} did not finish in {timeout} s:\n{out}\n{err}")
    finally:
        try:  # helpers it left behind (language servers, MCP servers) go with it
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    output = f"{out}\n{err}"
    assert process.returncode == 0, f"{command[0]} exited {process.returncode}:\n{output}"
    return output


def token() -> str:
    """A value no model answer can hold by chance: only a real tool run puts it in the output."""
    return f"tok-{uuid.uuid4().hex}"


def token_file(tmp_path: Path) -> str:
    """A fresh token in tmp_path/work/token.txt (the agent's working directory), never in a prompt; the token."""
    value = token()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "token.txt").write_text(value + "\n")
    return value
