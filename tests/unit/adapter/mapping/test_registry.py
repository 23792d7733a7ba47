"""The backends a config names, loaded once with the parameter policy their expressions imply."""

import logging

import pytest
import yaml

from adapter.upstream.errors import AdapterError
from adapter.mapping.load import MappingError, load_file
from adapter.mapping.registry import backend_for, load_backends, split_model
from adapter.openai.params import split_params

FILE = {"url": "http://b/chat", "request": "{q: last_user_text, t: params.temperature}",
        "response": {"content": "answer"}}


def setup(tmp_path, models: list, files: dict) -> tuple:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"model_list": models}))
    for name, content in files.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(content))
    return tmp_path / "config.yaml", tmp_path


def entry(name: str, model: str, mode: str | None = None) -> dict:
    return {"model_name": name, "litellm_params": {"model": model}, **({"model_info": {"mode": mode}} if mode else {})}


def test_only_the_files_the_models_name_are_loaded_once_each(tmp_path):
    config, folder = setup(tmp_path, [entry("a", "mapped/b"), entry("a2", "mapped/b/x"), entry("o", "laas/c")],
                           {"b": FILE, "unused": {"url": "not even a url"}})
    backends = load_backends(config, folder, {})
    assert list(backends) == ["b"] and backends["b"].label == "the b backend"


@pytest.mark.parametrize("models, files, fragment", [
    ([entry("a", "mapped/missing")], {}, "needs the backend file"),
    ([entry("a", "mapped/b", "embedding")], {"b": FILE}, "an embedding model, but"),
    ([entry("a", "mapped/")], {}, "must be mapped/<name>"),
])
def test_a_config_that_cannot_work_is_refused_naming_the_entry(tmp_path, models, files, fragment):
    config, folder = setup(tmp_path, models, files)
    with pytest.raises(MappingError, match="model_list\\[0\\].litellm_params.model") as caught:
        load_backends(config, folder, {})
    assert fragment in str(caught.value)


def test_one_model_string_for_two_modes_is_warned_about(tmp_path, caplog):
    with_embeddings = {**FILE, "embeddings": {"url": "http://b/e", "request": "{t: input}",
                                              "response": {"vectors": "v"}}}
    config, folder = setup(tmp_path, [entry("c", "mapped/b"), entry("e", "mapped/b", "embedding")],
                           {"b": with_embeddings})
    with caplog.at_level(logging.WARNING, logger="adapter"):
        load_backends(config, folder, {})
    assert "'mapped/b' serves models of different modes (chat, embedding)" in caplog.text


def test_split_model():
    assert split_model("ollama/llama3.2:1b") == ("ollama", "llama3.2:1b")
    assert split_model("business") == ("business", None)


def policy(tmp_path, request: str):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({**FILE, "request": request}))
    return backend_for(load_file(path, {})).policy


@pytest.mark.parametrize("request_expression, sent, forwarded", [
    ("{t: params.temperature}", {"temperature": 0.5, "n": 1, "user": "u"}, {"temperature": 0.5}),
    ("{p: params}", {"temperature": 0.5, "top_k": 3, "n": 1}, {"temperature": 0.5, "top_k": 3}),
    ("{t: tools, c: tool_choice}", {"tools": [], "tool_choice": "auto"}, {"tools": [], "tool_choice": "auto"}),
    ("{t: tools}", {"tools": [], "tool_choice": "auto"}, {"tools": []}),
    ("{q: last_user_text}", {"tools": [], "tool_choice": "none", "response_format": {"type": "text"}}, {}),
])
def test_what_the_file_reads_is_forwarded_and_harmless_defaults_pass(tmp_path, request_expression, sent, forwarded):
    assert split_params(sent, policy(tmp_path, request_expression)) == forwarded


@pytest.mark.parametrize("request_expression, sent, param", [
    ("{t: params.temperature}", {"top_p": 0.5}, "top_p"),
    ("{p: params}", {"n": 2}, "n"),
    ("{q: last_user_text}", {"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
    ("{t: tools}", {"tool_choice": "required"}, "tool_choice"),
])
def test_what_the_file_does_not_read_is_refused(tmp_path, request_expression, sent, param):
    with pytest.raises(AdapterError) as caught:
        split_params(sent, policy(tmp_path, request_expression))
    assert caught.value.param == param and "the p backend" in caught.value.message
