"""`python -m adapter.mapping render`: the body sent and the OpenAI answer, from real mock answers; clean failures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import stack_settings
from adapter.mapping.__main__ import main
from business_api import create_app

from .test_load import EXAMPLE, MINIMAL

REPO = Path(__file__).resolve().parents[4]
KEY = "render-secret-key-51c9"
BASE = "http://127.0.0.1:8002"
CHAT = {"model": "my-custom-model", "temperature": 0.2,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is JMESPath?"}]}
PLAIN_CHAT = {key: value for key, value in CHAT.items() if key != "temperature"}  # for files that read no params


@pytest.fixture()
def files(tmp_path, monkeypatch):
    """The issue's example file, with its variables from an env file (as src/.env), and a place for JSON files."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"BUSINESS_API_BASE={BASE}\nBUSINESS_API_KEY={KEY}\n", encoding="utf-8")
    for name in ("BUSINESS_API_BASE", "BUSINESS_API_KEY", "BUSINESS_API_KEY_HEADER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENV_FILE", str(env_file))
    mapping = tmp_path / "business.yaml"
    mapping.write_text(EXAMPLE, encoding="utf-8")
    return tmp_path


def put(folder: Path, name: str, content) -> str:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return str(path)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def sections(out: str) -> list[tuple[list[str], str]]:
    """render's output as (heading lines, payload text) pairs."""
    result: list[tuple[list[str], str]] = []
    for line in out.splitlines():
        if line.startswith("# "):
            if not result or result[-1][1]:
                result.append(([], ""))
            result[-1][0].append(line[2:])
        else:
            result[-1] = (result[-1][0], result[-1][1] + line + "\n")
    return result


@pytest.fixture()
def business(tmp_path):
    """The real mock business API (Flask test client), answering with the key of the env file."""
    settings_ = stack_settings.load({"ENV_FILE": str(tmp_path / "none.env"), "BUSINESS_API_KEY": KEY})
    client = create_app({"SETTINGS": settings_, "TESTING": True}).test_client()
    return lambda url, body: client.post(url, json=body, headers={"X-API-Key": KEY})


def test_render_prints_the_body_and_names_url_and_headers_without_their_values(files, capsys):
    code, out, err = run(capsys, "render", files / "business.yaml", put(files, "request.json", CHAT))

    assert code == 0, err
    [(heading, body)] = sections(out)
    assert heading == ["request", "POST ${BUSINESS_API_BASE}/api/process",
                       "headers: X-API-Key (values not shown); timeout: 60 s"]
    assert json.loads(body) == {"query": "What is JMESPath?", "history": [],
                                "model_info": {"name": "my-custom-model", "temperature": 0.2}}
    assert KEY not in out and BASE not in out


def test_a_real_mock_answer_renders_as_the_openai_completion(files, capsys, business):
    code, out, _ = run(capsys, "render", files / "business.yaml", put(files, "request.json", CHAT))
    answer = business("/api/process", json.loads(sections(out)[0][1])).get_json()

    code, out, err = run(capsys, "render", files / "business.yaml", files / "request.json",
                         put(files, "answer.json", answer))

    assert code == 0, err
    (_, body), (heading, rendered) = sections(out)
    assert heading == ["the answer → OpenAI chat.completion"]
    completion = json.loads(rendered)
    assert completion["object"] == "chat.completion" and completion["model"] == "my-custom-model"
    assert completion["choices"] == [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": answer["answer"]}}]
    assert completion["usage"]["completion_tokens"] == answer["usage"]["completion_tokens"]


def test_usage_an_answer_does_not_report_is_counted_as_the_proxy_counts_it(files, capsys):
    mapping = put(files, "plain.yaml", b"")
    Path(mapping).write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")  # no token counts in the file

    code, out, err = run(capsys, "render", mapping, put(files, "r.json", PLAIN_CHAT),
                         put(files, "a.json", {"answer": "JMESPath is a query language for JSON."}))

    assert code == 0, err
    usage = json.loads(sections(out)[1][1])["usage"]
    assert usage["prompt_tokens"] > 5 and usage["completion_tokens"] > 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_a_stream_renders_the_stream_body_and_the_real_mocks_sse_as_chunks(files, capsys, business):
    request = put(files, "stream.json", {**CHAT, "stream": True})
    code, out, _ = run(capsys, "render", files / "business.yaml", request)
    [(heading, body)] = sections(out)
    assert heading[0] == "stream request (sse): the body of stream.request over the request body"
    assert json.loads(body)["stream"] is True
    whole = business("/api/process", {**json.loads(body), "stream": False}).get_json()
    streamed = business("/api/process", json.loads(body)).get_data()

    code, out, err = run(capsys, "render", files / "business.yaml", request, put(files, "answer.sse", streamed))

    assert code == 0, err
    heading, lines = sections(out)[1]
    assert heading == ["the answer's sse events → OpenAI chat.completion.chunk, one per line"]
    chunks = [json.loads(line) for line in lines.splitlines()]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == whole["answer"]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert chunks[-1]["usage"]["prompt_tokens"] == whole["usage"]["prompt_tokens"]


NDJSON_TOOLS = {"url": "http://backend/chat", "request": "{prompt: last_user_text, model: backend_model}",
                "response": {"content": "message.content"},
                "stream": {"format": "ndjson", "content": "message.content", "tool_calls": "message.tool_calls"}}


def test_an_ndjson_stream_without_a_finish_gets_the_closing_chunk_the_proxy_adds(files, capsys):
    mapping = put(files, "ollama.yaml", b"")
    Path(mapping).write_text(yaml.safe_dump(NDJSON_TOOLS), encoding="utf-8")
    request = put(files, "stream.json", {**PLAIN_CHAT, "stream": True})
    events = [{"message": {"content": "Let me look."}},
              {"message": {"content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}}]
    answer = put(files, "answer.ndjson", "".join(json.dumps(event) + "\n" for event in events).encode())

    code, out, err = run(capsys, "render", mapping, request, answer, "--backend-model", "llama3.2:1b")

    assert code == 0, err
    (_, body), (_, lines) = sections(out)
    assert json.loads(body) == {"prompt": "What is JMESPath?", "model": "llama3.2:1b"}
    chunks = [json.loads(line) for line in lines.splitlines()]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Let me look."}
    [call] = chunks[1]["choices"][0]["delta"]["tool_calls"]
    assert call["index"] == 0 and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Oslo"}'}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}


def test_a_stream_from_another_route_names_stream_url(files, capsys):
    data = {**NDJSON_TOOLS, "stream": {**NDJSON_TOOLS["stream"], "url": "${BUSINESS_API_BASE}/chat/stream"}}
    mapping = put(files, "routes.yaml", b"")
    Path(mapping).write_text(yaml.safe_dump(data), encoding="utf-8")

    code, out, err = run(capsys, "render", mapping, put(files, "stream.json", {**PLAIN_CHAT, "stream": True}))
    normal = run(capsys, "render", mapping, put(files, "plain.json", PLAIN_CHAT))[1]

    assert code == 0, err
    assert sections(out)[0][0][1] == "POST ${BUSINESS_API_BASE}/chat/stream"
    assert sections(normal)[0][0][1] == "POST http://backend/chat"


def test_a_stream_through_a_file_without_stream_is_the_normal_request_and_one_chunk(files, capsys):
    mapping = put(files, "plain.yaml", b"")
    Path(mapping).write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")
    request = put(files, "stream.json", {**PLAIN_CHAT, "stream": True})

    code, out, err = run(capsys, "render", mapping, request, put(files, "answer.json", {"answer": "Hi there"}))

    assert code == 0, err
    (heading, body), (_, lines) = sections(out)
    assert "the file has no stream" in heading[0] and json.loads(body) == {"q": "What is JMESPath?"}
    assert heading[1:] == ["POST http://backend/chat", "headers: none; timeout: BUSINESS_API_TIMEOUT"]
    [chunk] = [json.loads(line) for line in lines.splitlines()]
    assert chunk["choices"][0] == {"index": 0, "delta": {"role": "assistant", "content": "Hi there"},
                                   "finish_reason": "stop"}


def test_an_embedding_request_uses_the_embeddings_section_and_the_real_mocks_vectors(files, capsys, business):
    # The mock's /api/embed wants the model and answers {embeddings: [...]}: the example, adjusted to it.
    (files / "business.yaml").write_text(EXAMPLE.replace('"{texts: input', '"{model: model, texts: input')
                                         .replace('"data[].embedding"', "embeddings"), encoding="utf-8")
    request = put(files, "embed.json", {"model": "my-embedding-model", "input": ["one", "two"], "dimensions": 8})
    code, out, _ = run(capsys, "render", files / "business.yaml", request)
    [(heading, body)] = sections(out)
    assert heading[:2] == ["embeddings request", "POST ${BUSINESS_API_BASE}/api/embed"]
    assert json.loads(body) == {"model": "my-embedding-model", "texts": ["one", "two"], "dimensions": 8}
    answer = business("/api/embed", json.loads(body))
    assert answer.status_code == 200, answer.get_json()

    code, out, err = run(capsys, "render", files / "business.yaml", request, put(files, "vectors.json",
                                                                                  answer.get_json()))

    assert code == 0, err
    listing = json.loads(sections(out)[1][1])
    assert [item["embedding"] for item in listing["data"]] == answer.get_json()["embeddings"]
    assert [len(item["embedding"]) for item in listing["data"]] == [8, 8]
    assert listing["usage"]["prompt_tokens"] == answer.get_json()["usage"]["prompt_tokens"]


def test_token_ids_are_decoded_and_base64_vectors_and_counted_usage_come_back_as_from_the_proxy(files, capsys):
    import base64
    import struct

    # cl100k_base token ids of "Hello world", as LangChain's OpenAIEmbeddings sends them.
    request = put(files, "embed.json", {"model": "e", "input": [[9906, 1917]], "encoding_format": "base64"})
    answer = put(files, "vectors.json", {"data": [{"embedding": [0.5, 0.25]}]})  # no usage: counted

    code, out, err = run(capsys, "render", files / "business.yaml", request, answer)

    assert code == 0, err
    (_, body), (heading, listing) = sections(out)
    assert json.loads(body) == {"texts": ["Hello world"]}
    assert heading == ["the answer → OpenAI embedding list (base64)"]
    listing = json.loads(listing)
    assert struct.unpack("<2f", base64.b64decode(listing["data"][0]["embedding"])) == (0.5, 0.25)
    assert listing["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_document_shows_what_the_expressions_read(files, capsys):
    code, out, _ = run(capsys, "render", "--document", files / "business.yaml", put(files, "request.json", CHAT),
                       "--backend-model", "big")

    assert code == 0
    heading, document = sections(out)[0]
    assert heading == ["the request document the expressions see"]
    document = json.loads(document)
    assert document["system"] == "Be brief." and document["backend_model"] == "big"
    assert document["params"]["temperature"] == 0.2 and document["last_user_text"] == "What is JMESPath?"


@pytest.mark.parametrize("status, client_status, message", [
    (429, 429, "is rate-limiting requests: slow down"),
    (500, 502, "failed with HTTP 500: slow down"),
    (400, 400, "refused the request: slow down"),
])
def test_an_error_answer_renders_the_status_and_message_the_client_gets(files, capsys, status, client_status,
                                                                        message):
    answer = put(files, "error.json", {"error": {"message": "slow down"}})

    code, out, err = run(capsys, "render", files / "business.yaml", put(files, "r.json", CHAT), answer,
                         "--status", status)

    assert code == 0, err
    heading, body = sections(out)[1]
    assert heading == [f"the backend's HTTP {status} → the client gets HTTP {client_status}"]
    assert json.loads(body) == {"error": {"message": f"the business backend {message}"}}


def failure(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""  # nothing half-printed
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err.strip()


def test_unusable_inputs_fail_with_one_line(files, capsys):
    mapping = files / "business.yaml"
    good = put(files, "good.json", CHAT)
    assert failure(capsys, "render", mapping, files / "absent.json") == (
        f"{files / 'absent.json'}: cannot read the request file: No such file or directory")
    assert failure(capsys, "render", mapping, put(files, "bad.json", b"{nope")).startswith(
        f"{files / 'bad.json'}: the request is not JSON: ")
    assert failure(capsys, "render", mapping, put(files, "list.json", [CHAT])) == (
        f"{files / 'list.json'}: the request must be a JSON object, like the body of an OpenAI request")
    assert failure(capsys, "render", mapping, put(files, "nomodel.json", {"messages": []})) == (
        f"{files / 'nomodel.json'}: the request needs a \"model\": the model name the client asks for")
    assert failure(capsys, "render", mapping, good, put(files, "garbage.sse", b"\xff\xfe")).startswith(
        "answer: the answer is not JSON")


def test_a_request_the_document_refuses_is_a_400_line(files, capsys):
    request = put(files, "r.json", {"model": "m", "messages": [{"role": "robot", "content": "hi"}]})

    assert failure(capsys, "render", files / "business.yaml", request) == (
        "the proxy would refuse this request (HTTP 400): 'messages[0].role' must be system, developer, user, "
        "assistant or tool; got 'robot'")


def test_a_parameter_the_file_does_not_read_is_refused_as_the_proxy_would(files, capsys):
    request = put(files, "r.json", {**CHAT, "seed": 7})  # the example reads params.temperature only

    assert failure(capsys, "render", files / "business.yaml", request) == (
        "the proxy would refuse this request (HTTP 400): parameter 'seed' is not supported by the business backend; "
        "remove it, or set litellm_settings.drop_params: true to drop unsupported parameters")


def test_a_parameter_the_file_does_not_read_is_dropped_when_the_request_says_drop_params(files, capsys):
    request = put(files, "r.json", {**CHAT, "seed": 7, "drop_params": True})

    code, out, err = run(capsys, "render", "--document", files / "business.yaml", request)

    assert code == 0, err
    document = json.loads(sections(out)[0][1])
    assert document["params"]["seed"] is None and document["params"]["temperature"] == 0.2


def test_dimensions_the_embeddings_request_does_not_read_are_refused(files, capsys):
    request = put(files, "e.json", {"model": "my-embedding-model", "input": "x", "dimensions": 8})
    (files / "business.yaml").write_text(EXAMPLE.replace(", dimensions: dimensions}", "}"), encoding="utf-8")

    assert failure(capsys, "render", files / "business.yaml", request) == (
        "the proxy would refuse this request (HTTP 400): 'dimensions' is not supported by the business backend")


def test_an_image_for_a_file_that_never_reads_content_is_refused_as_the_proxy_would(files, capsys):
    parts = [{"type": "text", "text": "What is this?"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]
    request = put(files, "r.json", {"model": "m", "messages": [{"role": "user", "content": parts}]})

    line = failure(capsys, "render", files / "business.yaml", request)
    assert line.startswith("the proxy would refuse this request (HTTP 400): 'messages[0].content[1]' is ")
    assert "the business backend" in line


def test_an_answer_that_does_not_map_is_a_502_line(files, capsys):
    answer = put(files, "a.json", {"error": {"message": "model overloaded"}})

    assert failure(capsys, "render", files / "business.yaml", put(files, "r.json", CHAT), answer) == (
        f"the answer does not map (HTTP 502): the business backend sent an answer the adapter "
        "cannot use: it reports an error: model overloaded")


def test_a_stream_error_event_is_a_502_line(files, capsys):
    answer = put(files, "a.sse", b'data: {"delta": "Hel"}\n\ndata: {"error": {"message": "GPU lost"}}\n\n')

    assert failure(capsys, "render", files / "business.yaml", put(files, "r.json", {**CHAT, "stream": True}),
                   answer).endswith("sent an answer the adapter cannot use: the stream failed: GPU lost")


def test_an_embedding_request_to_a_file_without_embeddings(files, capsys):
    mapping = put(files, "plain.yaml", b"")
    Path(mapping).write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")

    assert failure(capsys, "render", mapping, put(files, "e.json", {"model": "e", "input": "x"})) == (
        f"{mapping}: embeddings: the request has \"input\" (an embedding request) but the file has no "
        "embeddings: section")


def test_a_bad_mapping_file_is_the_check_message(files, capsys):
    (files / "business.yaml").write_text(EXAMPLE.replace("  content: answer\n", "  content: answer[\n", 1))

    code, out, err = run(capsys, "render", files / "business.yaml", put(files, "r.json", CHAT))

    assert code == 1 and out == "" and "Traceback" not in err  # the message check prints (with JMESPath's caret)
    assert err.startswith(f"{files / 'business.yaml'}: response.content: JMESPath syntax error: ")


@pytest.mark.parametrize("command", [["check", "business.yaml"], ["render", "business.yaml", "r.json"]])
def test_a_broken_env_file_is_a_configuration_error_not_a_traceback(files, capsys, command):
    (files / ".env").write_text("BUSINESS_API_PORT=eighty\n", encoding="utf-8")
    put(files, "r.json", CHAT)

    code, out, err = run(capsys, command[0], *(files / name for name in command[1:]))

    assert code == 2 and out == ""
    assert err == "configuration error: BUSINESS_API_PORT must be an integer, got 'eighty'\n"


def test_derived_settings_are_variables_too(files, capsys):
    (files / ".env").write_text(f"BUSINESS_API_KEY={KEY}\n", encoding="utf-8")  # no BUSINESS_API_BASE: its default
    code, out, err = run(capsys, "check", files / "business.yaml")

    assert code == 0, err


def test_the_command_line_end_to_end(files):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "adapter.mapping", "render", str(files / "business.yaml")]

    rendered = subprocess.run(command + [put(files, "r.json", CHAT)], env=env, capture_output=True, text=True,
                              timeout=60)
    usage = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(sections(rendered.stdout)[0][1])["query"] == "What is JMESPath?"
    assert usage.returncode == 2 and "usage:" in usage.stderr and "request" in usage.stderr


# --- the worked example of docs/bring-your-own-api.md, as printed there ---------------------------------------------

GUIDE = (REPO / "docs" / "bring-your-own-api.md").read_text(encoding="utf-8")


def block_after(marker: str) -> str:
    """The first fenced block after `marker` in the guide, without its fences."""
    start = GUIDE.index("```", GUIDE.index(marker))
    return GUIDE[GUIDE.index("\n", start) + 1:GUIDE.index("\n```", start)]


def test_the_guides_format_sample_and_worked_example_load(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("ACME_TOKEN", "s3cr3t-acme")
    for marker in ("## The format", "**2. The file**"):
        path = tmp_path / "acme.yaml"
        path.write_text(block_after(marker), encoding="utf-8")
        assert main(["check", str(path)]) == 0, marker


def test_the_guides_render_output_is_what_render_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACME_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("ACME_TOKEN", "s3cr3t-acme")
    (tmp_path / "acme.yaml").write_text(block_after("**2. The file**"), encoding="utf-8")
    start = GUIDE.index("$ cat request.json")
    # cat request.json and its output, then render's command and its output, up to the end of the console block
    session = GUIDE[start:GUIDE.index("\n```", start)].split("\n$ ")
    request = session[0].split("\n", 1)[1]
    (tmp_path / "request.json").write_text(request, encoding="utf-8")
    command, shown = session[1].split("\n", 1)
    assert command.endswith("render src/backends/acme.yaml request.json")

    code, out, err = run(capsys, "render", tmp_path / "acme.yaml", tmp_path / "request.json")

    assert code == 0, err
    assert out.rstrip("\n") == shown


def test_check_without_a_file_checks_every_file_the_proxys_config_names(files, capsys, monkeypatch):
    config = yaml.safe_load((REPO / "src" / "config.yaml").read_text())
    config["model_list"].append({"model_name": "x", "litellm_params": {"model": "mapped/business"}})
    (files / "config.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("CONFIG_FILE_PATH", str(files / "config.yaml"))
    monkeypatch.setenv("BACKENDS_DIR", str(files))
    code, out, _ = run(capsys, "check")
    assert code == 0 and out.strip().endswith(f"ok: backend files business (from {files})")

    (files / "business.yaml").write_text(EXAMPLE.replace("response:", "respons:"), encoding="utf-8")
    code, _, err = run(capsys, "check")
    assert code == 1
    assert err.startswith(f"configuration error: {files / 'business.yaml'}: ")


def test_a_broken_env_is_one_line_and_exit_2_even_before_the_package_loads(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "ENV_FILE": str(tmp_path / ".env"),
           "BUSINESS_API_PORT": "abc"}
    finished = subprocess.run([sys.executable, "-m", "adapter.mapping", "check"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 2
    assert finished.stderr == "configuration error: BUSINESS_API_PORT must be an integer, got 'abc'\n"
