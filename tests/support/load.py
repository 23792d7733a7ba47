"""A steady load of non-stream chat calls from a few client threads, each outcome recorded with its times."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

import httpx


@dataclass
class Outcome:
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all (the client's exception in `body`)
    body: dict | str
    call_id: str | None  # x-litellm-call-id, the usage line's request_id
    target: str  # the base URL called
    key: str


class Load:
    """`threads` clients calling in turn each of `targets` (base URLs) with each of `keys` until stopped."""

    def __init__(self, targets: list[str], keys: list[str], threads: int = 3, model: str = "my-custom-model",
                 text: str = "load", timeout: float = 60):
        self.targets, self.keys, self.model, self.text, self.timeout = targets, keys, model, text, timeout
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(number,), daemon=True) for number in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)
        assert not any(thread.is_alive() for thread in self._threads), "a load thread is still waiting"
        return self.outcomes

    def since(self, moment: float) -> list[Outcome]:
        with self._lock:
            return [outcome for outcome in self.outcomes if outcome.started >= moment]

    def wait_for(self, count: int, since: float, seconds: float, status: int = 200) -> None:
        """Until `count` calls started after `since` got `status`; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while sum(outcome.status == status for outcome in self.since(since)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} calls got {status} within {seconds} s"
            time.sleep(0.1)

    def _run(self, number: int) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            for sequence in itertools.count():
                if self._stop.is_set():
                    return
                target, key = self._pick(number + sequence)
                self._call(client, target, key, f"{self.text} {number}.{sequence}")

    def _pick(self, turn: int) -> tuple[str, str]:
        return self.targets[turn % len(self.targets)], self.keys[(turn // len(self.targets)) % len(self.keys)]

    def _call(self, client: httpx.Client, target: str, key: str, text: str) -> None:
        started = time.monotonic()
        try:
            response = client.post(f"{target}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                   json={"model": self.model, "messages": [{"role": "user", "content": text}]})
            status, call_id = response.status_code, response.headers.get("x-litellm-call-id")
            try:
                body = response.json()
            except ValueError:
                body = response.text
        except httpx.HTTPError as error:
            status, call_id, body = 0, None, repr(error)
        with self._lock:
            self.outcomes.append(Outcome(started, time.monotonic(), status, body, call_id, target, key))
