"""KeyRing: the keys file as the proxy uses it — looked up by key, reloaded when the file changes."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from adapter.keys.file import Key, KeysError, hash_key, load_keys

logger = logging.getLogger("adapter")

Stamp = tuple[int, int, int] | None  # (mtime_ns, size, inode); None when the file does not exist


def _stamp(path: Path) -> Stamp:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_mtime_ns, status.st_size, status.st_ino)


class KeyRing:
    """The keys of one file. Construction loads it and lets KeysError through: a proxy refuses to start on it."""

    def __init__(self, path: str | Path, check_every: float = 1.0) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self._lock = threading.Lock()
        # The stamp is taken before the read: a change during the read is then seen, and loaded, next time.
        self._seen = _stamp(self.path)
        self._keys = load_keys(self.path)
        self._next_check = time.monotonic() + check_every

    def find(self, key: str) -> Key | None:
        """The entry for this key (disabled and expired ones included: the caller decides), or None."""
        self._refresh()
        return self._keys.get(hash_key(key))

    def by_hash(self, key_hash: str) -> Key | None:
        """The entry stored under this hash (what LiteLLM's logging payload names a key by), or None."""
        self._refresh()
        return self._keys.get(key_hash)

    def all(self) -> list[Key]:
        """Every entry of the file, as last loaded."""
        self._refresh()
        return list(self._keys.values())

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            if now < self._next_check:  # another thread checked while this one waited
                return
            self._next_check = now + self.check_every
            stamp = _stamp(self.path)
            if stamp == self._seen:
                return
            # Each version is tried once: a broken one is not re-read (nor warned about) on every request.
            self._seen = stamp
            try:
                keys = load_keys(self.path)
            except KeysError as error:
                # The message names the file and the field, never a key or a hash (see keys.file).
                logger.warning("keys file not reloaded, keeping the %d keys loaded before: %s", len(self._keys), error)
                return
            self._keys = keys
            logger.info("keys file %s reloaded: %d keys", self.path, len(keys))
