"""Provider `laas`: OpenAI chat → Wanted's LaaS preset API (POST {LAAS_API_BASE}/chat/completions).

The translation is plain data in, plain data out (it checks images and PDFs against LaaS's limits, which a mapping
file cannot); the provider is thin glue around it and the HTTP client. LaaS cannot stream: a stream is the whole
answer handed out as one chunk (openai/shapes.py, pseudo_stream).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litellm import ModelResponse

import laas_limits

from ..openai import params
from ..openai.messages import check_messages, has_attachments
from ..openai.shapes import finish_reason_from, openai_completion, pseudo_stream, usage_from
from ..upstream import client
from ..upstream.errors import AdapterError, bad_answer, invalid_request
from . import tool_emulation
from .base import Provider, drops_unknown

BACKEND = "LaaS"
PDF_DATA_URL = "data:application/pdf"
PDF_PREFIX_LENGTH = len(PDF_DATA_URL)


def _url_of(part: dict, key: str, param: str) -> str:
    """The URL of an image_url / document_url part, given as {"url": ...} or as a bare string."""
    holder = part.get(key)
    url = holder.get("url") if isinstance(holder, dict) else holder
    if not isinstance(url, str) or not url:
        raise invalid_request(f"'{param}.{key}.url' must be a non-empty string", f"{param}.{key}")
    return url


def _document(url: str) -> dict:
    return {"type": "document", "document_url": {"url": url}}


def _image_or_document(url: str) -> dict:
    """An image_url part; a PDF data URL in one is a document (LiteLLM's Messages bridge turns a `document` block
    into such an image_url), so LaaS gets it as the document it is."""
    if url[:PDF_PREFIX_LENGTH].lower() == PDF_DATA_URL:  # only the prefix: a data URL can be megabytes
        return _document(url)
    return {"type": "image_url", "image_url": {"url": url}}


def laas_content(content: Any, param: str) -> list[dict]:
    """OpenAI content (string or parts) → LaaS typed parts."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise invalid_request(f"'{param}' must be a string or a non-empty list of content parts", param)
    parts = []
    for index, part in enumerate(content):
        part_param = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            parts.append(_image_or_document(_url_of(part, "image_url", part_param)))
        elif kind == "document":
            parts.append(_document(_url_of(part, "document_url", part_param)))
        elif kind == "file" and isinstance(part.get("file"), dict) and isinstance(part["file"].get("file_data"), str):
            parts.append(_document(part["file"]["file_data"]))  # OpenAI's file part, as its SDKs send a PDF
        else:
            raise invalid_request(
                f"'{part_param}' must be a text, image_url, file (with file_data) or document part; got {kind!r}",
                part_param,
            )
    try:
        laas_limits.check_parts(parts, param)
    except laas_limits.LimitError as error:
        raise invalid_request(error.message, error.param) from None
    return parts


def transform_request(
    messages: Any, optional_params: dict, preset_hash: str, drop_unknown: bool = False
) -> dict:
    """OpenAI messages + params → the LaaS body; `params` (client extra body) becomes LaaS params.

    A model that emulates tools passes what tool_emulation.prepare left: tool turns written as text, no tool
    parameters; otherwise tools and tool turns are refused here, as LaaS has no tool calling.
    """
    checked = check_messages(messages, BACKEND)
    generation = params.split_params(optional_params, params.LAAS, drop_unknown)
    variables = generation.pop("params", {})
    if not isinstance(variables, dict):
        raise invalid_request("'params' must be a JSON object of preset variables", "params")
    laas_messages = [
        {"role": m["role"], "content": laas_content(m.get("content"), f"messages[{i}].content")}
        for i, m in enumerate(checked)
    ]
    return {"hash": preset_hash, "messages": laas_messages, "params": variables, **generation}


def transform_response(body: Any, model: str, created: int,
                       plan: tool_emulation.Plan = tool_emulation.Plan()) -> dict:
    """LaaS answer (OpenAI-shaped) → OpenAI chat.completion (plain data); with `plan`, the calls in its text."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise bad_answer(BACKEND, "'choices' is missing or empty")
    message = choices[0].get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        raise bad_answer(BACKEND, "'choices[0].message.content' is missing or not a string")
    completion_id = body.get("id")
    completion_id = completion_id if isinstance(completion_id, str) and completion_id else "chatcmpl-laas"
    text, calls = tool_emulation.parse_answer(text, plan, seed=completion_id)
    return openai_completion(
        completion_id=completion_id,
        created=body["created"] if isinstance(body.get("created"), int) else created,
        model=model,
        text=text,
        finish_reason=finish_reason_from(choices[0].get("finish_reason")),
        usage=usage_from(body.get("usage"), BACKEND),
        tool_calls=calls,
    )


def emulates_tools(litellm_params: Any) -> bool:
    """Whether the deployment's model_info (config.yaml, never the client's body) says `tool_emulation: true`.

    LiteLLM's router copies the chosen deployment's model_info into litellm_params["model_info"] of every call.
    """
    model_info = litellm_params.get("model_info") if isinstance(litellm_params, dict) else None
    return isinstance(model_info, dict) and model_info.get("tool_emulation") is True


class LaasProvider(Provider):
    """Provider `laas`: project/apiKey headers and the preset hash from the settings, never from the request."""

    provider, backend, kind = "laas", BACKEND, "chat"

    def _call(self, messages: list, optional_params: dict | None, api_base: str | None,
              emulate: bool) -> tuple[client.BackendCall, tool_emulation.Plan]:
        """One backend call and how to read its answer; `api_base` is a deployment's own (config.yaml)."""
        sent = optional_params or {}
        plan = tool_emulation.Plan()
        if emulate:
            messages, sent, plan = tool_emulation.prepare(messages, sent)
        body = transform_request(messages, sent, self.settings.laas_preset_hash, drops_unknown(optional_params or {}))
        headers = {"project": self.settings.laas_project_code, "apiKey": self.settings.laas_api_key}
        base = (api_base or self.settings.laas_api_base).rstrip("/")
        return client.BackendCall(BACKEND, f"{base}/chat/completions", headers, body,
                                  self.settings.business_api_timeout), plan

    async def _answer(self, model: str, messages: list, optional_params: dict | None, api_base: str | None,
                      litellm_params: Any) -> dict:
        emulate = emulates_tools(litellm_params)
        # Images and PDFs are decoded and checked: worth a worker thread, off the event loop.
        if has_attachments(messages):
            call, plan = await asyncio.to_thread(self._call, messages, optional_params, api_base, emulate)
        else:
            call, plan = self._call(messages, optional_params, api_base, emulate)
        return transform_response(await client.apost_json(call), model, int(time.time()), plan)

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None,
                          api_base: str | None = None, litellm_params: Any = None, **_: Any) -> ModelResponse:
        try:
            return ModelResponse(**await self._answer(model, messages, optional_params, api_base, litellm_params))
        except AdapterError as error:
            raise self._failed(model, error) from error

    async def astreaming(self, model: str, messages: list, optional_params: dict | None = None,
                         api_base: str | None = None, litellm_params: Any = None, **_: Any):
        # An async generator, as the proxy needs: nothing runs until the first chunk is asked for, so request
        # errors and backend errors before the first chunk still become HTTP errors. Emulated tool calls ride
        # as tool_use chunks (pseudo_stream), as a whole answer's calls would.
        try:
            answer = await self._answer(model, messages, optional_params, api_base, litellm_params)
            for chunk in pseudo_stream(answer):
                yield chunk
        except AdapterError as error:
            raise self._failed(model, error) from error
