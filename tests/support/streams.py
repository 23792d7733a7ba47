"""A chat stream read by a real HTTP client in a thread of its own, recording what the client saw of it."""

from __future__ import annotations

import json
import threading
import time

import httpx

from .processes import client_port

READ_TIMEOUT = 30  # a stream silent this long counts as hung (ReadTimeout in `broken`)


class StreamCall:
    """One streamed chat completion on a connection of its own: its events, how it ended, which connection."""

    def __init__(self, base_url: str, key: str, text: str, model: str = "my-custom-model"):
        self.base_url, self.key, self.text, self.model = base_url, key, text, model
        self.status: int | None = None
        self.call_id: str | None = None  # LiteLLM's call id (x-litellm-call-id), the usage line's request_id
        self.port: int | None = None  # the client's end of the connection
        self.pieces: list[str] = []
        self.finish_reason: str | None = None
        self.error_event: dict | None = None  # a `data: {"error": ...}` event
        self.done = False  # `data: [DONE]` seen
        self.broken: BaseException | None = None  # the client's exception: the connection ended without an end
        self.ended_at: float | None = None
        self.opened = threading.Event()  # the first piece arrived
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StreamCall:
        self.thread.start()
        return self

    def join(self, seconds: float) -> None:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), f"stream {self.call_id} still open after {seconds} s"

    @property
    def answer(self) -> str:
        return "".join(self.pieces)

    def _run(self) -> None:
        body = {"model": self.model, "stream": True, "messages": [{"role": "user", "content": self.text}]}
        try:
            with httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT, connect=10)) as client, client.stream(
                    "POST", f"{self.base_url}/v1/chat/completions", json=body,
                    headers={"Authorization": f"Bearer {self.key}"}) as response:
                self.status, self.call_id = response.status_code, response.headers.get("x-litellm-call-id")
                self.port = client_port(response)
                for line in response.iter_lines():
                    self._event(line)
        except httpx.HTTPError as error:
            self.broken = error
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()  # whoever waits for the first piece stops waiting

    def _event(self, line: str) -> None:
        if not line.startswith("data: "):
            return
        data = line.removeprefix("data: ")
        if data == "[DONE]":
            self.done = True
            return
        event = json.loads(data)
        if "error" in event:
            self.error_event = event["error"]
            return
        for choice in event.get("choices") or []:
            self.pieces.append((choice.get("delta") or {}).get("content") or "")
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            self.opened.set()
