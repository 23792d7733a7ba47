"""A stand-in Ollama server: its native POST /api/chat as docs/api.md and server/routes.go define it, echo model.

Protocol points kept from Ollama: `stream` defaults to true; a stream is NDJSON (application/x-ndjson) of
ChatResponse objects with `message.content` pieces and a last `done: true` object carrying `done_reason`,
`prompt_eval_count` and `eval_count`; tool calls come whole in `message.tool_calls` with `id`, `function.index`,
`function.name` and `function.arguments` as an object; errors are `{"error": "..."}` with 400 (bad request),
404 (`model 'x' not found`) or 500, and an error after the stream started is one `{"error": ...}` line.

The model: it answers the last user text word by word (`options.num_predict` and `options.stop` cut it); with
`format` it answers `{"echo": text}`; with tools, a user text naming a tool gets a call of it whose required
string arguments are the text's last word; after a tool result it answers "The tool said: <result>".
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import datetime, timezone

from aiohttp import web

from tests.fake_servers import TOKEN_SECONDS, failure, pieces, serve

MODELS = ("llama3.2:1b", "llama3.2:latest")
ROLES = ("system", "user", "assistant", "tool")
STREAM_FAILURE = "an error was encountered while running the model"
FAILURES = {"400": "invalid request", "429": "too many requests", "500": "the model failed to generate a response",
            "502": "the upstream model cannot be reached", "503": "server busy, please try again"}


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def model_name(name: str) -> str:
    """Ollama's model reference: a name without a tag means `:latest`."""
    return name if ":" in name else f"{name}:latest"


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def checked(body: object) -> dict:
    """The request as Ollama's ChatRequest decoding and ChatHandler would refuse it."""
    if not isinstance(body, dict):
        raise Refused(400, "json: cannot unmarshal into Go value of type api.ChatRequest")
    if not body.get("model"):
        raise Refused(400, "model is required")
    if model_name(body["model"]) not in MODELS:
        raise Refused(404, f"model '{body['model']}' not found")
    messages = body.get("messages") or []
    for message in messages:
        if not isinstance(message.get("content", ""), str):
            raise Refused(400, "json: cannot unmarshal array into Go struct field Message.messages.content "
                               "of type string")
        if str(message.get("role", "")).lower() not in ROLES:
            raise Refused(400, f"invalid role: {message.get('role')!r}")
        for image in message.get("images") or []:  # api.ImageData is []byte: base64 in JSON
            try:
                base64.b64decode(image, validate=True)
            except (ValueError, TypeError):
                raise Refused(400, "illegal base64 data at input byte 4") from None
        for call in message.get("tool_calls") or []:
            if not isinstance(call.get("function", {}).get("arguments", {}), dict):
                raise Refused(400, "json: cannot unmarshal string into Go struct field "
                                   "ToolCallFunction.messages.tool_calls.function.arguments of type map[string]any")
    return body


def last_of(messages: list[dict], role: str) -> dict | None:
    return next((m for m in reversed(messages) if str(m.get("role", "")).lower() == role), None)


def answer(body: dict) -> tuple[str, list[dict], str]:
    """(text, tool calls, done_reason) of the echo model."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    user = (last_of(messages, "user") or {}).get("content", "")
    if str(last.get("role", "")).lower() == "tool":
        text = f"The tool said: {last.get('content', '')}"
    elif body.get("format") is not None:
        text = json.dumps({"echo": user})
    else:
        calls = tool_calls(body.get("tools") or [], user)
        if calls:
            return "", calls, "stop"
        text = user
    options = body.get("options") or {}
    return cut(text, options.get("stop") or [], options.get("num_predict"))


def cut(text: str, stops: list[str], limit: int | None) -> tuple[str, list, str]:
    """Ollama ends at a stop sequence (left out of the text) or after num_predict tokens (done_reason length)."""
    for stop in stops:
        if stop and stop in text:
            text = text[: text.index(stop)]
    words = pieces(text)
    if isinstance(limit, int) and 0 <= limit < len(words):
        return "".join(words[:limit]), [], "length"
    return text, [], "stop"


def tool_calls(tools: list[dict], text: str) -> list[dict]:
    """A call of each tool the text names, its required string arguments set to the text's last word."""
    words = re.findall(r"[\w-]+", text)
    calls = []
    for tool in tools:
        function = tool.get("function") or {}
        if function.get("name") and function["name"] in text and words:
            schema = function.get("parameters") or {}
            arguments = {name: words[-1] for name in schema.get("required", [])
                         if (schema.get("properties") or {}).get(name, {}).get("type") == "string"}
            calls.append({"id": f"call_{len(calls):08x}", "function": {
                "index": len(calls), "name": function["name"], "arguments": arguments}})
    return calls


def prompt_tokens(body: dict) -> int:
    return sum(len(pieces(str(m.get("content") or ""))) + 1 for m in body.get("messages") or [])


def response(body: dict, content: str, **fields) -> dict:
    return {"model": body["model"], "created_at": now(), "message": {"role": "assistant", "content": content},
            "done": False, **fields}


def final(body: dict, content: str, calls: list[dict], reason: str, eval_count: int) -> dict:
    """The `done: true` object with Ollama's Metrics (durations in nanoseconds)."""
    done = response(body, content, done=True, done_reason=reason, total_duration=1_000_000, load_duration=1_000,
                    prompt_eval_count=prompt_tokens(body), prompt_eval_duration=100_000, eval_count=eval_count,
                    eval_duration=800_000)
    if calls:
        done["message"]["tool_calls"] = calls
    return done


async def chat(request: web.Request) -> web.StreamResponse:
    try:
        body = checked(await request.json())
    except ValueError:
        return web.json_response({"error": "invalid character looking for beginning of value"}, status=400)
    except Refused as refused:
        return web.json_response({"error": refused.message}, status=refused.status)
    user = (last_of(body.get("messages") or [], "user") or {}).get("content", "")
    fail = failure(user)
    if fail and fail != "stream":
        return web.json_response({"error": FAILURES.get(fail, f"failed with {fail}")}, status=int(fail))
    text, calls, reason = answer(body)
    words = pieces(text)
    if body.get("stream") is False:
        if fail == "stream":
            return web.json_response({"error": STREAM_FAILURE}, status=500)
        return web.json_response(final(body, text, calls, reason, len(words) + len(calls)))
    return await stream(request, body, words, calls, reason, fail == "stream")


async def stream(request: web.Request, body: dict, words: list[str], calls: list[dict], reason: str,
                 fails: bool) -> web.StreamResponse:
    reply = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await reply.prepare(request)

    async def send(value: dict) -> None:
        await reply.write(json.dumps(value, ensure_ascii=False).encode() + b"\n")

    for word in words[:2] if fails else words:
        await send(response(body, word))
        await asyncio.sleep(TOKEN_SECONDS)
    if fails:  # after content was sent: one error line, the status stays 200
        await send({"error": STREAM_FAILURE})
        return reply
    for call in calls:  # Ollama's tool parser sends each call whole, as soon as it is parsed
        await send(response(body, "") | {"message": {"role": "assistant", "content": "", "tool_calls": [call]}})
    await send(final(body, "", [], reason, len(words) + len(calls)))
    await reply.write_eof()
    return reply


async def root(request: web.Request) -> web.Response:
    return web.Response(text="Ollama is running")


async def version(request: web.Request) -> web.Response:
    return web.json_response({"version": "0.0.0-standin"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/api/version", version)
    app.router.add_post("/api/chat", chat)
    return app


if __name__ == "__main__":
    serve(create_app(), __doc__.splitlines()[0])
