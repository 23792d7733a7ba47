"""`python -m adapter.mapping check|render`: validate a mapping file, or show what it sends and what comes back."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import stack_settings
import yaml

import adapter

# Before LiteLLM is imported (the token counter): it reads part of its configuration from the environment then.
adapter.settings()

from adapter.mapping.apply import completion, error_message, without_nulls  # noqa: E402
from adapter.mapping.chat import body_for, document_for  # noqa: E402
from adapter.mapping.embeddings import embedding_answer, embedding_request  # noqa: E402
from adapter.mapping.load import MappingError, load_file  # noqa: E402
from adapter.mapping.registry import Backend, backend_for, load_backends  # noqa: E402
from adapter.mapping.stream import MappedStream  # noqa: E402
from adapter.openai.shapes import pseudo_stream  # noqa: E402
# The proxy's own token counter, so that render counts usage exactly as the proxy does.
from adapter.openai.tokens import counted_usage  # noqa: E402
from adapter.upstream.errors import AdapterError, from_backend_status  # noqa: E402


class Refused(Exception):
    """A render input that cannot be used; the message is the one line the user sees."""


def check_configured(settings: stack_settings.Settings) -> int:
    """Every backend file the proxy's config names, loaded as the proxy loads them at start-up."""
    try:
        backends = load_backends(settings.config_file, settings.backends_dir, stack_settings.variables(settings=settings))
    except MappingError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    names = ", ".join(sorted(backends)) or "none"
    print(f"{settings.config_file}: ok: backend files {names} (from {settings.backends_dir})")
    return 0


def check(path: str | None, settings: stack_settings.Settings) -> int:
    if path is None:
        return check_configured(settings)
    try:
        mapping = load_file(path, stack_settings.variables(settings=settings))
    except MappingError as error:
        print(error, file=sys.stderr)
        return 1
    extras = [f"stream {mapping.stream.format}" if mapping.stream else "no stream (the full answer in pieces)"]
    if mapping.embeddings:
        extras.append("embeddings")
    # No URL or header values: they are expanded and may carry a secret.
    print(f"{path}: ok: backend {mapping.name!r}, chat, {', '.join(extras)}")
    return 0


# ---------------------------------------------------------------- render


def render(path: str, request_path: str, answer_path: str | None, settings: stack_settings.Settings,
           backend_model: str | None = None,
           status: int = 200, show_document: bool = False) -> int:
    """Print the request that would be sent and, given an answer, what the OpenAI client would get back."""
    _output.clear()
    try:
        backend = backend_for(load_file(path, stack_settings.variables(settings=settings)))
        request = _json_object(_read(request_path, "request"), request_path, "request")
        answer = None if answer_path is None else _read(answer_path, "answer")
        if "input" in request:
            _render_embeddings(backend, path, request, answer, status, show_document)
        else:
            _render_chat(backend, path, request, answer, backend_model, status, show_document)
    except (MappingError, Refused) as error:
        print(error, file=sys.stderr)
        return 1
    except AdapterError as error:
        print(f"{_stage(error)} (HTTP {error.status_code}): {error.message}", file=sys.stderr)
        return 1
    print("\n".join(_output))
    return 0


def _stage(error: AdapterError) -> str:
    """Who is at fault: the client's request (4xx), the backend's answer (502) or the mapping itself."""
    if error.status_code < 500:
        return "the proxy would refuse this request"
    return "the answer does not map" if error.status_code == 502 else "the mapping failed"


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise Refused(f"{path}: cannot read the {what} file: {error.strerror or error}") from None


def _json(data: bytes, path: str, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:  # UnicodeDecodeError is one
        raise Refused(f"{path}: the {what} is not JSON: {error}") from None


def _json_object(data: bytes, path: str, what: str) -> dict:
    value = _json(data, path, what)
    if not isinstance(value, dict):
        raise Refused(f"{path}: the {what} must be a JSON object, like the body of an OpenAI request")
    if not isinstance(value.get("model"), str) or not value["model"]:
        raise Refused(f"{path}: the {what} needs a \"model\": the model name the client asks for")
    return value


def _as_written(path: str) -> dict:
    """The file's own text for url, headers and embeddings.url: ${VAR} names, never their (secret) values."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


# What render prints, collected first so that a failure half-way prints nothing but its one line on stderr.
_output: list[str] = []

WIDTH = 116  # what fits on a line of output: a value that fits is printed on one line


def _pretty(value: Any, indent: int = 0) -> str:
    """JSON, one value per line only where it does not fit; a list of numbers (a vector) always on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    vector = isinstance(value, list) and all(isinstance(x, (int, float)) for x in value)
    if len(flat) + indent <= WIDTH or vector or not value or not isinstance(value, (dict, list)):
        return flat
    inner = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {_pretty(item, indent + 2)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [inner + _pretty(item, indent + 2) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _heading(text: str) -> None:
    _output.append(f"# {text}")


def _show(value: Any) -> None:
    _output.append(_pretty(value))


def _target(url: str, headers: Any, timeout: float | None) -> None:
    _heading(f"POST {url}")
    names = ", ".join(str(name) for name in headers) if isinstance(headers, dict) and headers else ""
    seconds = f"{timeout:g} s" if timeout else "BUSINESS_API_TIMEOUT"
    _heading(f"headers: {names + ' (values not shown)' if names else 'none'}; timeout: {seconds}")


def _render_chat(backend: Backend, path: str, request: dict, answer: bytes | None, backend_model: str | None,
                 status: int, show_document: bool) -> None:
    """The document and body exactly as the proxy builds them (adapter.mapping.chat), then the answer."""
    mapping = backend.mapping
    sent = {key: value for key, value in request.items() if key not in ("model", "messages")}
    streaming = request.get("stream") is True
    document = document_for(backend, request["model"], backend_model, request.get("messages"), sent, streaming,
                            sent.get("drop_params") is True)
    if show_document:
        _heading("the request document the expressions see")
        _show(document)
    body = body_for(backend, document, streaming)
    written = _as_written(path)
    if streaming and mapping.stream:
        _heading(f"stream request ({mapping.stream.format}): the body of stream.request over the request body")
    elif streaming:
        _heading("stream request, but the file has no stream: the normal request; the whole answer is one chunk")
    else:
        _heading("request")
    stream_url = (written.get("stream") or {}).get("url") if streaming and mapping.stream else None
    _target(stream_url or written.get("url"), written.get("headers"), mapping.timeout)
    _show(body)
    if answer is None:
        return
    if not 200 <= status < 300:
        _render_error(backend, answer, status)
    elif streaming and mapping.stream:
        _heading(f"the answer's {mapping.stream.format} events → OpenAI chat.completion.chunk, one per line")
        _print_chunks(_streamed(backend, answer), request["model"])
    elif streaming:
        _heading("the answer → OpenAI chat.completion.chunk")
        _print_chunks(pseudo_stream(completion(mapping, _json(answer, "answer", "answer"), request["model"], 0)),
                      request["model"])
    else:
        _heading("the answer → OpenAI chat.completion")
        whole = completion(mapping, _json(answer, "answer", "answer"), request["model"], int(time.time()))
        if whole["usage"] is None:  # the backend does not say: counted as the proxy counts a whole answer
            whole["usage"] = counted_usage(request["messages"], whole["choices"][0]["message"])
        _show(whole)


def _render_error(backend: Backend, answer: bytes, status: int) -> None:
    """A non-2xx answer: the status and message the client gets (before the router's retries of a 503)."""
    text = answer.decode("utf-8", errors="replace")
    try:
        message = error_message(backend.mapping.response, json.loads(answer)) or text
    except ValueError:
        message = text
    error = from_backend_status(backend.label, status, message, None)
    _heading(f"the backend's HTTP {status} → the client gets HTTP {error.status_code}")
    _show({"error": {"message": error.message}})


def _streamed(backend: Backend, answer: bytes) -> list[dict]:
    """The answer file read as the backend's stream body, as the proxy relays it (MappedStream)."""
    stream = MappedStream(backend.mapping.stream, backend.label)
    chunks = stream.feed(answer) + stream.close()
    if stream.error is not None:
        raise stream.error
    return chunks


def _print_chunks(chunks: list[dict], model: str) -> None:
    """LiteLLM's stream chunks as the OpenAI chunks the client reads (the proxy may merge ones that arrive together)."""
    chunk_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    for position, chunk in enumerate(chunks):
        delta: dict = {"role": "assistant"} if position == 0 else {}
        if chunk["text"]:
            delta["content"] = chunk["text"]
        if chunk["tool_use"]:
            delta["tool_calls"] = [without_nulls(chunk["tool_use"])]
        openai = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
                  "choices": [{"index": 0, "delta": delta,
                               "finish_reason": chunk["finish_reason"] if chunk["is_finished"] else None}]}
        if chunk["is_finished"] and chunk["usage"]:
            openai["usage"] = chunk["usage"]
        _output.append(json.dumps(openai, ensure_ascii=False))


def _render_embeddings(backend: Backend, path: str, request: dict, answer: bytes | None, status: int,
                       show_document: bool) -> None:
    mapping = backend.mapping
    spec = mapping.embeddings
    if spec is None:
        raise Refused(f"{path}: embeddings: the request has \"input\" (an embedding request) but the file has no "
                      "embeddings: section")
    # The proxy's own embedding flow (mapping/embeddings.py): options checked, token ids decoded, dimensions only
    # when the file reads them.
    embedding = embedding_request(backend, request["model"], request.get("input"), request)
    document = embedding.document
    if show_document:
        _heading("the request document the expressions see")
        _show(document)
    body = embedding.body
    _heading("embeddings request")
    written = _as_written(path)
    _target(written["embeddings"]["url"], written.get("headers"), mapping.timeout)
    _show(body)
    if answer is None:
        return
    if not 200 <= status < 300:
        _render_error(backend, answer, status)
        return
    _heading(f"the answer → OpenAI embedding list ({embedding.encoding})")
    _show(embedding_answer(backend, _json(answer, "answer", "answer"), embedding, request["model"]))



# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapter.mapping", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check_command = commands.add_parser(
        "check", help="validate a mapping file (without FILE: every file the proxy's config names); exit 1 with the reason")
    check_command.add_argument("file", nargs="?")
    render_command = commands.add_parser(
        "render", help="print the body a request would send and, given a sample answer, what the client gets")
    render_command.add_argument("file", help="the mapping file, e.g. src/backends/business.yaml")
    render_command.add_argument("request", help="an OpenAI chat (or embeddings) request body, as JSON")
    render_command.add_argument("answer", nargs="?",
                                help="a sample backend answer: JSON, or the raw stream body for a stream request")
    render_command.add_argument("--backend-model", metavar="NAME",
                                help="the <backend model> of mapped/<name>/<backend model> (document: backend_model)")
    render_command.add_argument("--status", type=int, default=200, metavar="CODE",
                                help="the HTTP status the sample answer came with (default 200)")
    render_command.add_argument("--document", action="store_true",
                                help="also print the request document the file's expressions read")
    args = parser.parse_args(argv)
    try:
        settings = stack_settings.load()  # afresh for each command (tests run several in one process)
        if args.command == "check":
            return check(args.file, settings)
        return render(args.file, args.request, args.answer, settings, args.backend_model, args.status, args.document)
    except stack_settings.SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
