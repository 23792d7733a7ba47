"""End-to-end test of `./start_services.sh reload`: new configuration, no dropped stream, broken ones refused.

The scripts run for real (as in test_scripts.py) against a private env file, config, backends directory and
keys file, so the test can edit them the way an operator edits src/.env, src/config.yaml and src/backends/.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import openai
import pytest
import yaml

from tests.support.script_stack import ROOT, START, Stack, descendants_or_group, explain, read_pid, wait_until

STREAM_WORDS = [f"word{i}" for i in range(200)]
STREAM_PIECE_MS = 300  # 60 s of stream: still open when the reload has finished, even on a busy machine (30 s was not)
NEW_MASTER_KEY = "sk-" + "reloaded-master-key-" + "x" * 24


def set_env_value(env_file: Path, name: str, value: str) -> None:
    text = env_file.read_text()
    text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
    assert count == 1, f"{name} not in {env_file}"
    env_file.write_text(text)


def env_value(env_file: Path, name: str) -> str:
    return re.search(rf"^{name}=(.*)$", env_file.read_text(), flags=re.M).group(1)


def client(stack: Stack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{stack.proxy_port}/v1", api_key=key, max_retries=0, timeout=60)


def workers(stack: Stack) -> set[int]:
    """The proxy supervisor's worker processes (its children, not multiprocessing's resource tracker)."""
    supervisor = read_pid(stack.pid_file("litellm_proxy"))
    return {pid for pid in descendants_or_group(supervisor)
            if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reload")
    stack = Stack(tmp)
    backends = tmp / "backends"
    backends.mkdir()
    (backends / "business.yaml").write_text((ROOT / "src" / "backends" / "business.yaml").read_text())
    (tmp / "config.yaml").write_text((ROOT / "src" / "config.yaml").read_text())
    stack.env.update(BACKENDS_DIR=str(backends), CONFIG_FILE_PATH=str(tmp / "config.yaml"),
                     KEYS_FILE=str(tmp / "keys.yaml"), LITELLM_PROXY_WORKERS="2")
    try:
        result = stack.run(START, timeout=240)
        assert result.returncode == 0, explain(result)
        yield stack
    finally:
        stack.cleanup()


def test_reload_applies_env_config_and_backend_changes_while_a_stream_in_flight_finishes(stack: Stack) -> None:
    tmp = stack.env_file.parent
    old_key = env_value(stack.env_file, "LITELLM_MASTER_KEY")
    supervisor, old_workers = read_pid(stack.pid_file("litellm_proxy")), workers(stack)
    assert len(old_workers) == 2

    pieces: list[str] = []
    outcome: dict = {}

    def stream() -> None:
        try:
            chunks = client(stack, old_key).chat.completions.create(
                model="my-custom-model", stream=True,
                messages=[{"role": "user", "content": f"[mock:chunk_delay={STREAM_PIECE_MS}] " + " ".join(STREAM_WORDS)}])
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                if chunk.choices and chunk.choices[0].finish_reason:
                    outcome["finish_reason"] = chunk.choices[0].finish_reason
        except Exception as error:  # noqa: BLE001  (reported below, with what had arrived)
            outcome["error"] = repr(error)

    streaming = threading.Thread(target=stream)
    streaming.start()
    try:
        assert wait_until(lambda: len(pieces) >= 2, 30), f"the stream did not start: {outcome}"
        # Three edits, as an operator makes them: a new master key (src/.env), a new model (config.yaml) and a
        # changed answer mapping (backends/business.yaml).
        set_env_value(stack.env_file, "LITELLM_MASTER_KEY", NEW_MASTER_KEY)
        config = yaml.safe_load((tmp / "config.yaml").read_text())
        alias = dict(config["model_list"][0], model_name="my-reloaded-model")
        config["model_list"].append(alias)
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        backend = tmp / "backends" / "business.yaml"
        backend.write_text(backend.read_text().replace("  content: answer\n", "  content: \"join('', ['v2: ', answer])\"\n", 1))

        result = stack.run(START, "reload", timeout=240)
        assert result.returncode == 0, explain(result)
        assert "litellm_proxy reloaded" in result.stdout and "business_api reloaded" in result.stdout
        pieces_at_reload = len(pieces)
    finally:
        streaming.join(90)

    assert "error" not in outcome, outcome
    assert pieces_at_reload < len(pieces), "the stream ended before the reload did: make it longer"
    assert "".join(pieces).split()[-len(STREAM_WORDS):] == STREAM_WORDS and outcome.get("finish_reason") == "stop"

    assert read_pid(stack.pid_file("litellm_proxy")) == supervisor  # the same service, new workers
    assert wait_until(lambda: workers(stack).isdisjoint(old_workers) and len(workers(stack)) == 2, 30)

    with pytest.raises(openai.AuthenticationError):
        client(stack, old_key).models.list()
    fresh = client(stack, NEW_MASTER_KEY)
    assert "my-reloaded-model" in {model.id for model in fresh.models.list()}
    reply = fresh.chat.completions.create(model="my-reloaded-model", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content.startswith("v2: ")


def test_reload_refuses_a_broken_backend_file_before_touching_anything(stack: Stack) -> None:
    backend = stack.env_file.parent / "backends" / "business.yaml"
    good, before = backend.read_text(), workers(stack)
    backend.write_text(good.replace("response:", "respons:", 1))
    try:
        result = stack.run(START, "reload", timeout=120)
    finally:
        backend.write_text(good)
    assert result.returncode != 0
    assert f"configuration error: {backend}: respons: unknown key" in result.stderr
    assert workers(stack) == before
    assert_serving(stack)


def test_reload_refuses_a_configuration_the_new_workers_cannot_start_with(stack: Stack) -> None:
    # Passes the script's checks (YAML, backend and keys files) but LiteLLM cannot load it: the new workers fail,
    # the supervisor keeps the running ones.
    config_file = stack.env_file.parent / "config.yaml"
    good, before = config_file.read_text(), workers(stack)
    config = yaml.safe_load(good)
    config["litellm_settings"]["callbacks"] = ["adapter.hooks.no_such_logger"]
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        result = stack.run(START, "reload", timeout=240)
    finally:
        config_file.write_text(good)
    assert result.returncode != 0
    assert "refused the new configuration; it keeps running the old one" in result.stderr, explain(result)
    assert "no_such_logger" in result.stderr  # the log tail says why
    assert workers(stack) == before
    assert_serving(stack)


def assert_serving(stack: Stack) -> None:
    key = env_value(stack.env_file, "LITELLM_MASTER_KEY")
    reply = client(stack, key).chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "still there?"}])
    assert reply.choices[0].message.content
