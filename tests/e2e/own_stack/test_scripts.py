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

import pytest
import yaml

from tests.support.script_stack import (
    MARKERS,
    ROOT,
    START,
    STOP,
    VERIFY,
    Stack,
    alive,
    cmdline,
    descendants_or_group,
    explain,
    port_free,
    wait_until,
)


def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a socket listening on `port` (from /proc/net/tcp)."""
    found = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


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
    assert "embedding with my-embedding-model: 1536 dimensions" in result.stdout
    assert "image with my-image-model: a PNG" in result.stdout
    assert listening_addresses(stack.business_port) == {"127.0.0.1"}
    assert listening_addresses(stack.proxy_port) == {"127.0.0.1"}

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


def test_start_refuses_a_bad_backend_file_with_its_message_and_starts_nothing(stack: Stack, tmp_path) -> None:
    backends = tmp_path / "backends"
    backends.mkdir()
    broken = (ROOT / "src" / "backends" / "business.yaml").read_text().replace("response:", "respons:")
    (backends / "business.yaml").write_text(broken)
    stack.env["BACKENDS_DIR"] = str(backends)
    result = stack.run(START, timeout=180)
    assert result.returncode != 0
    assert f"configuration error: {backends / 'business.yaml'}: respons: unknown key" in result.stderr
    assert "a backend file named in the proxy's config cannot be used" in result.stderr
    assert not stack.pid_file("business_api").exists()
    assert not stack.pid_file("litellm_proxy").exists()


def test_start_refuses_a_bad_keys_file_with_its_message_and_starts_nothing(stack: Stack, tmp_path) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - alias: team-a\n    hash: sk-the-key-itself\n")
    stack.env["KEYS_FILE"] = str(keys)
    result = stack.run(START, timeout=180)
    assert result.returncode != 0
    assert f"{keys}: keys[0].hash: must be 'sha256:'" in result.stderr
    assert not stack.pid_file("business_api").exists()
    assert not stack.pid_file("litellm_proxy").exists()


def test_verify_checks_every_model_of_the_proxys_config_by_its_mode(stack: Stack, tmp_path) -> None:
    # A copy of src/config.yaml (CONFIG_FILE_PATH) with three more models, served like the shipped ones; one
    # claims a mode its backend cannot serve, so its check must fail and name it.
    config = yaml.safe_load((ROOT / "src" / "config.yaml").read_text(encoding="utf-8"))
    shipped = {entry["model_name"]: entry for entry in config["model_list"]}
    config["model_list"] += [
        {**shipped["my-custom-model"], "model_name": "verify-extra-chat"},
        {**shipped["my-embedding-model"], "model_name": "verify-extra-embedding"},
        {**shipped["my-custom-model"], "model_name": "verify-chat-as-image",
         "model_info": {"mode": "image_generation"}},
    ]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    stack.env["CONFIG_FILE_PATH"] = str(tmp_path / "config.yaml")
    result = stack.run(START, timeout=180)
    assert result.returncode == 0, explain(result)

    result = stack.run(VERIFY, timeout=180)

    assert result.returncode == 1, explain(result)
    lines = result.stdout.splitlines()
    every = " ".join(shipped) + " verify-extra-chat verify-extra-embedding verify-chat-as-image"
    assert f"✓ model list has {every}" in lines, explain(result)
    assert any(line.startswith("✓ chat with verify-extra-chat: Mock answer from") for line in lines), explain(result)
    assert "✓ embedding with verify-extra-embedding: 1536 dimensions" in lines, explain(result)
    for name, entry in shipped.items():  # the shipped models are still checked, each by its own mode
        mode = (entry.get("model_info") or {}).get("mode", "chat")
        check = {"embedding": "embedding", "image_generation": "image"}.get(mode, "chat")
        assert any(line.startswith(f"✓ {check} with {name}: ") for line in lines), explain(result)
    failed = [line for line in lines if line.startswith("✗")]
    assert len(failed) == 1 and failed[0].startswith("✗ image with verify-chat-as-image: HTTP "), explain(result)
    assert lines[-1].startswith("1 of ") and lines[-1].endswith(" checks failed")


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
