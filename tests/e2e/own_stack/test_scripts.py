"""End-to-end test of the service scripts: start_services.sh, verify_system.sh, stop_services.sh.

The scripts run for real, from the repository root, against a private env file, log directory and
free loopback ports, with VENV pointing at the interpreter running this test (so nothing is
installed when its requirements stamp is current). Linux only: the scripts read /proc.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading

import openai
import pytest
import yaml

import stack_settings
from tests.support.processes import children
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
    # "Up" means every proxy worker has started, not only the first to answer the health check.
    workers = children(first["litellm_proxy"], "spawn_main")
    proxy_log = next(stack.log_dir.glob("litellm_proxy_*.log")).read_text(errors="replace")
    assert len(workers) >= 2 and proxy_log.count("Application startup complete") == len(workers), proxy_log[-3000:]
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


def open_stream(stack: Stack, seconds: int) -> http.client.HTTPConnection:
    """A stream straight from the business API, `seconds` long unless closed, its first piece read."""
    settings = stack_settings.load(stack.env)
    words = " ".join(f"word{i}" for i in range(seconds * 5))
    body = {"query": f"[mock:chunk_delay=200] {words}", "model_info": {"name": "m"}, "stream": True}
    connection = http.client.HTTPConnection("127.0.0.1", stack.business_port, timeout=30)
    connection.request("POST", "/api/process", json.dumps(body), {
        "Content-Type": "application/json", settings.business_api_key_header: settings.business_api_key})
    response = connection.getresponse()
    assert response.status == 200 and response.readline().startswith(b"data: ")
    return connection


def test_start_right_after_a_sigterm_waits_for_the_leaving_business_api_then_starts_it(stack: Stack) -> None:
    # A stream in flight keeps the SIGTERM'd business API on its way out (its listener closed) for as long as the
    # test wants: the start waits for it to exit, then starts a new one, instead of refusing it as "does not answer".
    result = stack.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    old = stack.pids()
    stream = open_stream(stack, 60)
    os.kill(old["business_api"], signal.SIGTERM)
    starting = subprocess.Popen([START], cwd=ROOT, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: [lines.append(line) for line in starting.stdout])
    reader.start()

    def said_waiting() -> bool:
        return any("waiting for it to exit" in line for line in lines)

    try:
        assert wait_until(lambda: starting.poll() is not None or said_waiting(), 120)
        assert starting.poll() is None and said_waiting(), "".join(lines)
        assert alive(old["business_api"])  # still finishing the stream
    finally:
        stream.close()  # its last request ends: now the old business API exits
        try:
            starting.wait(timeout=180)
        finally:
            if starting.poll() is None:
                starting.kill()
            reader.join(10)
            stack.pids()  # for the cleanup, whatever happened

    output = "".join(lines)
    assert starting.returncode == 0, output
    assert f"business_api (pid {old['business_api']}) no longer listens on port {stack.business_port}" in output
    new = stack.pids()
    assert new["business_api"] != old["business_api"] and not alive(old["business_api"])
    assert new["litellm_proxy"] == old["litellm_proxy"]
    key = re.search(r"^LITELLM_MASTER_KEY=(.*)$", stack.env_file.read_text(), flags=re.M).group(1)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{stack.proxy_port}/v1", api_key=key, max_retries=0, timeout=60)
    reply = client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "back"}])
    assert reply.choices[0].message.content.endswith(": back")


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
