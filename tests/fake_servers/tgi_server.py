"""A stand-in Hugging Face TGI server: /generate, /generate_stream and / as docs/openapi.json and router/src define them.

Protocol points kept from TGI's router (server.rs, validation.rs, lib.rs):
- `POST /generate` {inputs, parameters} → {generated_text, details?}; `details` only with parameters.details
  (serde default false); details.prefill lists the input tokens only with decoder_input_details; finish_reason is
  length, eos_token or stop_sequence; return_full_text (default false here) prepends the inputs.
- `POST /generate_stream` → SSE `data:{index, token: {id, text, logprob, special}, generated_text, details}` per
  token; the last has generated_text and details {finish_reason, generated_tokens, seed, input_length}. Every
  error there, validation included, is an SSE event `{"error", "error_type"}` in a 200 answer.
- `POST /` (compat_generate) dispatches on `stream`; its non-stream answer is a list of one GenerateResponse, and
  return_full_text defaults to true (the server's default for a text-generation model).
- Errors are `{"error", "error_type"}`: 422 validation ("Input validation error: ..."), 424 generation,
  429 overloaded, 500 incomplete_generation; a body that does not decode is axum's 422 plain-text rejection.

The model: a chat prompt in Zephyr's template (`<|user|>\n...</s>`) is answered with its last user turn, any other
prompt with itself, word by word, then the `</s>` end-of-sequence token (special); max_new_tokens and stop cut it.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tests.fake_servers import TOKEN_SECONDS, failure, pieces, serve

MAX_STOP_SEQUENCES = 4
MAX_NEW_TOKENS = 1024
EOS = {"id": 2, "text": "</s>", "logprob": -0.01, "special": True}
FAILURES = {
    "422": (422, "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096", "validation"),
    "424": (424, "Request failed during generation: Server error: CUDA out of memory", "generation"),
    "429": (429, "Model is overloaded", "overloaded"),
    "500": (500, "Incomplete generation", "incomplete_generation"),
    "stream": (424, "Request failed during generation: Server error: CUDA out of memory", "generation"),
}


class Failed(Exception):
    """An InferError: its status for a JSON answer, its body for both JSON and SSE."""

    def __init__(self, status: int, error: str, error_type: str):
        super().__init__(error)
        self.status, self.body = status, {"error": error, "error_type": error_type}


def invalid(message: str) -> Failed:
    return Failed(422, f"Input validation error: {message}", "validation")


def validated(parameters: dict, inputs: str, streaming: bool) -> dict:
    """validation.rs's checks, with its messages."""
    if not inputs:
        raise invalid("`inputs` cannot be empty")
    temperature = parameters.get("temperature")
    if temperature is not None and temperature <= 0:
        raise invalid("`temperature` must be strictly positive")
    top_p = parameters.get("top_p")
    if top_p is not None and not 0 < top_p < 1:
        raise invalid("`top_p` must be > 0.0 and < 1.0")
    frequency_penalty = parameters.get("frequency_penalty")
    if frequency_penalty is not None and not -2 <= frequency_penalty <= 2:
        raise invalid("`frequency_penalty` must be >= -2.0 and <= 2.0")
    if parameters.get("max_new_tokens") == 0:
        raise invalid("`max_new_tokens` must be strictly positive")
    stop = parameters.get("stop") or []
    if len(stop) > MAX_STOP_SEQUENCES:
        raise invalid(f"`stop` supports up to {MAX_STOP_SEQUENCES} stop sequences. Given: {len(stop)}")
    if streaming and parameters.get("decoder_input_details"):
        raise invalid("`decoder_input_details` == true is not supported when streaming tokens")
    if (parameters.get("best_of") or 1) != 1 and streaming:
        raise invalid("`best_of` != 1 is not supported when streaming tokens")
    return parameters


def reply_to(inputs: str) -> str:
    """The echo model: the last user turn of a Zephyr-template prompt, else the whole prompt."""
    if "<|user|>\n" not in inputs:
        return inputs
    turn = inputs.rsplit("<|user|>\n", 1)[1]
    return turn.split("</s>", 1)[0]


def generation(inputs: str, parameters: dict) -> tuple[list[dict], str]:
    """(generated tokens, finish_reason): words until a stop sequence (kept, as TGI keeps it), the token limit
    (length) or the end-of-sequence token."""
    limit = parameters.get("max_new_tokens") or MAX_NEW_TOKENS
    stops = [stop for stop in parameters.get("stop") or [] if stop]
    tokens, text = [], ""
    for word in pieces(reply_to(inputs)):
        if len(tokens) == limit:
            return tokens, "length"
        tokens.append({"id": 1000 + len(tokens), "text": word, "logprob": -0.5, "special": False})
        text += word
        if any(stop in text for stop in stops):
            return tokens, "stop_sequence"
    if len(tokens) == limit:
        return tokens, "length"
    return tokens + [EOS], "eos_token"


def generated_text(tokens: list[dict], inputs: str, parameters: dict) -> str:
    text = "".join(token["text"] for token in tokens if not token["special"])  # skip_special_tokens
    return inputs + text if parameters.get("return_full_text") else text


def prefill(inputs: str) -> list[dict]:
    """The input tokens, as decoder_input_details returns them (the first has no logprob)."""
    return [{"id": 1 + index, "text": word, "logprob": None if index == 0 else -1.0}
            for index, word in enumerate(pieces(inputs))]


def generate_response(inputs: str, parameters: dict) -> dict:
    fail = failure(inputs)
    if fail:
        raise Failed(*FAILURES.get(fail, (int(fail), f"failed with {fail}", "generation")))
    tokens, finish_reason = generation(inputs, validated(parameters, inputs, streaming=False))
    answer = {"generated_text": generated_text(tokens, inputs, parameters)}
    if parameters.get("details"):
        answer["details"] = {
            "finish_reason": finish_reason, "generated_tokens": len(tokens), "seed": parameters.get("seed"),
            "prefill": prefill(inputs) if parameters.get("decoder_input_details") else [], "tokens": tokens}
    return answer


async def request_of(request: web.Request) -> tuple[str, dict, bool]:
    """(inputs, parameters, stream) or axum's Json rejection."""
    try:
        body = await request.json()
        inputs, parameters = body["inputs"], body.get("parameters") or {}
        if not isinstance(inputs, str) or not isinstance(parameters, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise web.HTTPUnprocessableEntity(
            text="Failed to deserialize the JSON body into the target type: missing field `inputs`") from None
    return inputs, parameters, body.get("stream") is True


async def generate(request: web.Request) -> web.Response:
    inputs, parameters, _ = await request_of(request)
    try:
        return web.json_response(generate_response(inputs, parameters))
    except Failed as failed:
        return web.json_response(failed.body, status=failed.status)


async def generate_stream(request: web.Request) -> web.StreamResponse:
    inputs, parameters, _ = await request_of(request)
    return await sse(request, inputs, parameters)


async def compat_generate(request: web.Request) -> web.StreamResponse:
    inputs, parameters, stream = await request_of(request)
    parameters = {"return_full_text": True} | {k: v for k, v in parameters.items() if v is not None}
    if stream:
        return await sse(request, inputs, parameters)
    try:
        return web.json_response([generate_response(inputs, parameters)])  # "a Vec to match api-inference"
    except Failed as failed:
        return web.json_response(failed.body, status=failed.status)


async def sse(request: web.Request, inputs: str, parameters: dict) -> web.StreamResponse:
    reply = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                        "X-Accel-Buffering": "no"})
    await reply.prepare(request)

    async def send(value: dict) -> None:
        await reply.write(b"data:" + json.dumps(value, ensure_ascii=False).encode() + b"\n\n")

    fail = failure(inputs)
    try:
        if fail and fail != "stream":
            raise Failed(*FAILURES.get(fail, (int(fail), f"failed with {fail}", "generation")))
        tokens, finish_reason = generation(inputs, validated(parameters, inputs, streaming=True))
        for index, token in enumerate(tokens[:2] if fail else tokens[:-1], start=1):
            await send({"index": index, "token": token, "generated_text": None, "details": None})
            await asyncio.sleep(TOKEN_SECONDS)
        if fail:  # a generation error after some tokens: one error event, the status stays 200
            raise Failed(*FAILURES["stream"])
        details = None
        if parameters.get("details"):
            details = {"finish_reason": finish_reason, "generated_tokens": len(tokens),
                       "seed": parameters.get("seed"), "input_length": len(pieces(inputs))}
        await send({"index": len(tokens), "token": tokens[-1],
                    "generated_text": generated_text(tokens, inputs, parameters), "details": details})
    except Failed as failed:
        await send(failed.body)
    await reply.write_eof()
    return reply


async def health(request: web.Request) -> web.Response:
    return web.Response()


async def info(request: web.Request) -> web.Response:
    return web.json_response({"model_id": "standin/echo-zephyr", "model_pipeline_tag": "text-generation",
                              "max_stop_sequences": MAX_STOP_SEQUENCES, "max_total_tokens": 4096,
                              "router": "text-generation-router", "version": "0.0.0-standin"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/info", info)
    app.router.add_post("/", compat_generate)
    app.router.add_post("/generate", generate)
    app.router.add_post("/generate_stream", generate_stream)
    return app


if __name__ == "__main__":
    serve(create_app(), __doc__.splitlines()[0])
