"""adapter.mapping.load: the issue's example file, every validation error, ${VAR} expansion and `check`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jmespath.parser import ParsedResult

from adapter.mapping.load import MappingError, load_file

REPO = Path(__file__).resolve().parents[4]

# The example from issue 11, verbatim apart from the comments.
EXAMPLE = """\
url: "${BUSINESS_API_BASE}/api/process"
headers:
  X-API-Key: "${BUSINESS_API_KEY}"
timeout: 60
request: >-
  {query: last_user_text, history: history, model_info: {name: model, temperature: params.temperature}}
response:
  content: answer
  finish_reason: finish_reason
  prompt_tokens: usage.prompt_tokens
  completion_tokens: usage.completion_tokens
  tool_calls: tool_calls
  error: error.message
stream:
  format: sse
  request: "merge(@, {stream: `true`})"
  done: "[DONE]"
  content: delta
  finish_reason: finish_reason
  prompt_tokens: usage.prompt_tokens
  completion_tokens: usage.completion_tokens
  tool_calls: tool_call
  error: error.message
embeddings:
  url: "${BUSINESS_API_BASE}/api/embed"
  request: "{texts: input, dimensions: dimensions}"
  response: {vectors: "data[].embedding", prompt_tokens: usage.prompt_tokens}
"""
VARIABLES = {"BUSINESS_API_BASE": "http://127.0.0.1:8002", "BUSINESS_API_KEY": "secret-key"}
MINIMAL = {"url": "http://backend/chat", "request": "{q: last_user_text}", "response": {"content": "answer"}}


def write(tmp_path: Path, content, name: str = "backend.yaml") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    return path


def test_the_issue_example_loads_expanded_and_compiled(tmp_path):
    path = write(tmp_path, EXAMPLE, "business.yaml")
    mapping = load_file(path, VARIABLES)

    assert (mapping.name, mapping.path) == ("business", str(path))
    assert mapping.url == "http://127.0.0.1:8002/api/process"
    assert mapping.headers == {"X-API-Key": "secret-key"}
    assert mapping.timeout == 60.0
    document = {"model": "m", "last_user_text": "hi", "history": [], "params": {"temperature": 0.5}}
    body = mapping.request.search(document)
    assert body == {"query": "hi", "history": [], "model_info": {"name": "m", "temperature": 0.5}}

    answer = {"answer": "hello", "finish_reason": "length", "usage": {"prompt_tokens": 3, "completion_tokens": 4},
              "tool_calls": [{"name": "f", "arguments": {}}], "error": {"message": "boom"}}
    response = mapping.response
    assert response.content.search(answer) == "hello"
    assert response.finish_reason.search(answer) == "length"
    assert (response.prompt_tokens.search(answer), response.completion_tokens.search(answer)) == (3, 4)
    assert response.tool_calls.search(answer) == [{"name": "f", "arguments": {}}]
    assert response.error.search(answer) == "boom"

    stream = mapping.stream
    assert (stream.format, stream.done) == ("sse", "[DONE]")
    assert stream.request.search(body) == {**body, "stream": True}
    event = {"delta": "he", "tool_call": [{"index": 0}], "error": {"message": "cut"}}
    assert stream.fields.content.search(event) == "he"
    assert stream.fields.tool_calls.search(event) == [{"index": 0}]
    assert stream.fields.error.search(event) == "cut"

    embeddings = mapping.embeddings
    assert embeddings.url == "http://127.0.0.1:8002/api/embed"
    assert embeddings.request.search({"input": ["a"], "dimensions": None}) == {"texts": ["a"], "dimensions": None}
    assert embeddings.vectors.search({"data": [{"embedding": [1.0]}, {"embedding": [2.0]}]}) == [[1.0], [2.0]]
    assert embeddings.prompt_tokens.search({"usage": {"prompt_tokens": 7}}) == 7


def test_a_minimal_file_leaves_every_optional_part_empty(tmp_path):
    mapping = load_file(write(tmp_path, MINIMAL), {})

    assert (mapping.url, mapping.headers, mapping.timeout) == ("http://backend/chat", {}, None)
    assert (mapping.stream, mapping.embeddings) == (None, None)
    assert isinstance(mapping.response.content, ParsedResult)
    fields = mapping.response
    assert [fields.finish_reason, fields.prompt_tokens, fields.completion_tokens, fields.tool_calls, fields.error] == [
        None] * 5


def test_expressions_are_compiled_once_at_load(tmp_path):
    mapping = load_file(write(tmp_path, EXAMPLE), VARIABLES)

    assert all(isinstance(e, ParsedResult) for e in (mapping.request, mapping.stream.request,
                                                      mapping.embeddings.vectors, mapping.stream.fields.content))


def edited(edit):
    data = yaml.safe_load(EXAMPLE)
    edit(data)
    return data


def drop(*keys):
    def edit(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]
    return edit


def put(value, *keys):
    def edit(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value
    return edit


ERRORS = [
    # unknown keys, at every level
    (put("x", "urll"), "urll", "unknown key"),
    (put("x", "response", "contnet"), "response.contnet", "unknown key"),
    (put("x", "stream", "delta"), "stream.delta", "unknown key"),
    (put("x", "embeddings", "model"), "embeddings.model", "unknown key"),
    (put("x", "embeddings", "response", "vector"), "embeddings.response.vector", "unknown key"),
    # missing required keys
    (drop("url"), "url", "is required"),
    (drop("request"), "request", "is required"),
    (drop("response"), "response", "is required"),
    (drop("response", "content"), "response.content", "is required"),
    (put(None, "response", "content"), "response.content", "is required"),
    (drop("stream", "format"), "stream.format", "is required"),
    (drop("embeddings", "url"), "embeddings.url", "is required"),
    (drop("embeddings", "request"), "embeddings.request", "is required"),
    (drop("embeddings", "response", "vectors"), "embeddings.response.vectors", "is required"),
    # wrong types and values
    (put(0, "timeout"), "timeout", "positive number"),
    (put(-5, "timeout"), "timeout", "positive number"),
    (put("60", "timeout"), "timeout", "positive number"),
    (put(True, "timeout"), "timeout", "positive number"),
    (put(["X-API-Key: k"], "headers"), "headers", "must be a mapping"),
    (put(2, "headers", "X-Version"), "headers.X-Version", "must be non-empty text"),
    (put(["answer"], "response"), "response", "must be a mapping"),
    (put("sse", "stream"), "stream", "must be a mapping"),
    (put("json", "stream", "format"), "stream.format", "must be sse or ndjson"),
    (put("ndjson", "stream", "format"), "stream.done", "only for format sse"),
    (lambda d: (drop("stream", "content")(d), drop("stream", "tool_calls")(d)), "stream", "content or tool_calls"),
    (put(1, "response", "content"), "response.content", "must be non-empty text"),
    (put("", "request"), "request", "must be non-empty text"),
    (put("backend.example/chat", "url"), "url", "http:// or https://"),
    # JMESPath syntax errors and unknown functions
    (put("{query: }", "request"), "request", "JMESPath syntax error"),
    (put("answer.[", "response", "content"), "response.content", "JMESPath syntax error"),
    (put("merge(@, {stream: true)", "stream", "request"), "stream.request", "JMESPath syntax error"),
    (put("token..text", "stream", "content"), "stream.content", "JMESPath syntax error"),
    (put("data[].", "embeddings", "response", "vectors"), "embeddings.response.vectors", "JMESPath syntax error"),
    (put("lowercase(last_user_text)", "request"), "request", "unknown JMESPath function lowercase()"),
    # ${VAR}
    (put("${NOPE}/chat", "url"), "url", "${NOPE} is not set"),
    (put("Bearer ${TOKEN}", "headers", "Authorization"), "headers.Authorization", "${TOKEN} is not set"),
    (put("${EMBED_BASE}/embed", "embeddings", "url"), "embeddings.url", "${EMBED_BASE} is not set"),
    (put("${BUSINESS_API_BASE/chat", "url"), "url", "a ${ that is not ${NAME}"),
    (put("${1X}/chat", "url"), "url", "a ${ that is not ${NAME}"),
]


@pytest.mark.parametrize("edit, key, reason", ERRORS)
def test_each_mistake_names_the_file_and_the_key(tmp_path, edit, key, reason):
    path = write(tmp_path, edited(edit))

    with pytest.raises(MappingError) as caught:
        load_file(path, VARIABLES)

    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert reason in message, message


@pytest.mark.parametrize("content, reason", [
    ("", "is empty"),
    ("# only a comment\n", "is empty"),
    ("url: [unclosed\n", "is not valid YAML"),
    ("- url: http://x\n", "must be a YAML mapping"),
    ("just text\n", "must be a YAML mapping"),
])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, content, reason):
    path = write(tmp_path, content)

    with pytest.raises(MappingError, match=reason) as caught:
        load_file(path, VARIABLES)

    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_file_is_a_mapping_error(tmp_path):
    with pytest.raises(MappingError, match="cannot read the file"):
        load_file(tmp_path / "absent.yaml", VARIABLES)


@pytest.mark.parametrize("url, expanded", [
    ("${BASE}/chat", "http://host:1/chat"),
    ("${BASE}/${PATH_PART}", "http://host:1/v1"),
    ("${BASE}/chat?cost=$5&tag=$TAG", "http://host:1/chat?cost=$5&tag=$TAG"),  # a bare $ stays literal
    ("${BASE}/$${KEEP}", "http://host:1/${KEEP}"),  # $${NAME} is the escape for a literal ${NAME}
    ("http://fixed/chat", "http://fixed/chat"),
])
def test_url_expansion(tmp_path, url, expanded):
    variables = {"BASE": "http://host:1", "PATH_PART": "v1"}

    assert load_file(write(tmp_path, {**MINIMAL, "url": url}), variables).url == expanded


def test_an_empty_variable_counts_as_unset(tmp_path):
    path = write(tmp_path, {**MINIMAL, "headers": {"X-API-Key": "${KEY}"}})

    with pytest.raises(MappingError, match=r"headers.X-API-Key: \$\{KEY\} is not set"):
        load_file(path, {"KEY": ""})


def test_nothing_outside_url_and_headers_is_expanded(tmp_path):
    data = {**MINIMAL, "headers": {"${NAME}": "${VALUE}"}, "request": "{q: '${VALUE}'}",
            "response": {"content": "answer", "error": "'${VALUE}'"}}

    mapping = load_file(write(tmp_path, data), {"NAME": "X", "VALUE": "v"})

    assert mapping.headers == {"X": "v"}  # header names and values are expanded, expressions are not
    assert mapping.request.search({}) == {"q": "${VALUE}"}
    assert mapping.response.error.search({}) == "${VALUE}"


def run_check(*args, env_file: Path, **environment):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(PYTHONPATH=str(REPO / "src"), ENV_FILE=str(env_file), **environment)
    return subprocess.run([sys.executable, "-m", "adapter.mapping", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_check_accepts_a_valid_file_with_variables_from_the_env_file(tmp_path):
    env_file = write(tmp_path, "BUSINESS_API_BASE=http://127.0.0.1:8002\nBUSINESS_API_KEY=key-7f3a\n", ".env")
    path = write(tmp_path, EXAMPLE, "business.yaml")

    result = run_check("check", path, env_file=env_file)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: ok: backend 'business', chat, stream sse, embeddings"
    assert "key-7f3a" not in result.stdout and "127.0.0.1" not in result.stdout  # no expanded values printed


def test_check_takes_variables_from_the_environment_too(tmp_path):
    env_file = write(tmp_path, "BUSINESS_API_BASE=not-a-url\n", ".env")
    path = write(tmp_path, EXAMPLE)

    result = run_check("check", path, env_file=env_file, BUSINESS_API_BASE="http://env-wins", BUSINESS_API_KEY="k")

    assert result.returncode == 0, result.stderr


def test_check_refuses_a_bad_file_with_the_reason(tmp_path):
    env_file = write(tmp_path, "BUSINESS_API_BASE=http://127.0.0.1:8002\n", ".env")  # BUSINESS_API_KEY missing
    path = write(tmp_path, EXAMPLE)

    result = run_check("check", path, env_file=env_file)

    assert result.returncode == 1
    reason = "${BUSINESS_API_KEY} is not set in src/.env or the environment"
    assert result.stderr.strip() == f"{path}: headers.X-API-Key: {reason}"
    assert result.stdout == ""



def test_two_header_names_that_expand_alike_are_refused(tmp_path):
    path = write(tmp_path, {**MINIMAL, "headers": {"${NAME}": "a", "X-Key": "b"}})

    with pytest.raises(MappingError, match=r"headers.X-Key: names the header 'X-Key' twice"):
        load_file(path, {"NAME": "X-Key"})


def test_a_stream_may_have_its_own_url_with_variables(tmp_path):
    data = {**MINIMAL, "url": "${BASE}/generate",
            "stream": {"format": "sse", "url": "${BASE}/generate_stream", "content": "token.text"}}
    mapping = load_file(write(tmp_path, data), {"BASE": "http://tgi:3000"})
    assert (mapping.url, mapping.stream.url) == ("http://tgi:3000/generate", "http://tgi:3000/generate_stream")
    assert load_file(write(tmp_path, {**MINIMAL, "stream": {"format": "sse", "content": "d"}}), {}).stream.url is None


def test_a_stream_url_must_be_http(tmp_path):
    data = {**MINIMAL, "stream": {"format": "sse", "url": "ftp://x/stream", "content": "d"}}
    with pytest.raises(MappingError, match="stream.url: must be an http:// or https:// URL"):
        load_file(write(tmp_path, data), {})
