"""The keys file (KEYS_FILE): API keys by hash with their limits — read, validate, write atomically."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import yaml

from adapter.keys.window import canonical

HASH_PREFIX = "sha256:"
ALIAS_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
HASH_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
FIELDS = ("alias", "hash", "models", "rpm", "tpm", "max_parallel", "max_budget", "budget_duration", "customer_id",
          "expires", "disabled")
LIMITS = ("rpm", "tpm", "max_parallel")
HEADER = "# API keys by hash, never the keys themselves. Written by scripts/keys.sh; see docs/operations.md.\n"


def hash_key(key: str) -> str:
    """What the file stores for a key: "sha256:" + the hex sha256 of its UTF-8 bytes."""
    return HASH_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Key:
    """One key's entry; None for a limit means no limit, for models every model."""

    alias: str
    hash: str
    models: frozenset[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None
    max_budget: float | None = None  # USD per budget window (LiteLLM's field name); None: no budget
    budget_duration: str | None = None  # canonical (keys/window.py); None with a budget: a lifetime budget
    customer_id: str | None = None
    expires: datetime | None = None  # timezone-aware; the key stops working at this instant
    disabled: bool = False

    def expired(self, now: datetime) -> bool:
        if self.expires is None:
            return False
        return _aware(now) >= self.expires


class KeysError(ValueError):
    """A keys file that cannot be used; the message names the file and the entry's field."""


class FieldError(ValueError):
    """One field of one entry is wrong (load_keys turns it into a KeysError naming the file and entry)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _aware(moment: datetime) -> datetime:
    # A time without a zone is taken as UTC, so that every comparison is between aware datetimes.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _text(entry: Mapping[str, Any], field: str) -> str | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "must be non-empty text (quote it if YAML reads it as a number or date)")
    return value


def _alias(entry: Mapping[str, Any]) -> str:
    alias = _text(entry, "alias")
    if alias is None:
        raise FieldError("alias", "is required")
    if not ALIAS_PATTERN.fullmatch(alias):
        raise FieldError("alias", f"{alias!r} may only hold letters, digits, '_', '.' and '-'")
    return alias


def _hash(entry: Mapping[str, Any]) -> str:
    # The value is never repeated in a message: a key pasted here by mistake must not reach a log.
    value = entry.get("hash")
    if value is None:
        raise FieldError("hash", "is required")
    if not isinstance(value, str) or not HASH_PATTERN.fullmatch(value):
        raise FieldError("hash", "must be 'sha256:' followed by 64 lowercase hex digits (the key's hash, not the key)")
    return value


def _models(entry: Mapping[str, Any]) -> frozenset[str] | None:
    value = entry.get("models")
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise FieldError("models", "must be a non-empty list of model names (leave it out for every model)")
    if not all(isinstance(name, str) and name.strip() for name in value):
        raise FieldError("models", "every model name must be non-empty text")
    return frozenset(value)


def _limit(entry: Mapping[str, Any], field: str) -> int | None:
    value = entry.get(field)
    if value is None:
        return None
    # bool is an int in Python: `rpm: true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FieldError(field, f"must be a positive whole number, got {value!r}")
    return value


def _max_budget(entry: Mapping[str, Any]) -> float | None:
    value = entry.get("max_budget")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise FieldError("max_budget", f"must be a positive amount of US dollars (5 or 0.25), got {value!r}")
    return float(value)


def _budget_duration(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("budget_duration")
    if value is None:
        return None
    if entry.get("max_budget") is None:
        raise FieldError("budget_duration", "needs max_budget (the dollars each window may spend)")
    try:
        return canonical(value)
    except ValueError as error:
        raise FieldError("budget_duration", str(error)) from None


def _expires(entry: Mapping[str, Any]) -> datetime | None:
    value = entry.get("expires")
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):  # a day: the key works until that day begins (UTC)
        return datetime.combine(value, time(), tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise FieldError("expires", f"must be a date (2027-01-01) or an ISO time (2027-01-01T12:00:00Z), got {value!r}")


def _disabled(entry: Mapping[str, Any]) -> bool:
    value = entry.get("disabled", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FieldError("disabled", f"must be true or false, got {value!r}")
    return value


def key_from_entry(entry: Mapping[str, Any]) -> Key:
    """One entry of the file (or of `keys add`) as a Key; FieldError names the first wrong field."""
    unknown = sorted(str(field) for field in entry if field not in FIELDS)
    if unknown:
        raise FieldError(unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    return Key(
        alias=_alias(entry),
        hash=_hash(entry),
        models=_models(entry),
        rpm=_limit(entry, "rpm"),
        tpm=_limit(entry, "tpm"),
        max_parallel=_limit(entry, "max_parallel"),
        max_budget=_max_budget(entry),
        budget_duration=_budget_duration(entry),
        customer_id=_text(entry, "customer_id"),
        expires=_expires(entry),
        disabled=_disabled(entry),
    )


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KeysError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise KeysError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        # Only the problem and its place: PyYAML's full message quotes the line, which may hold a hash.
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise KeysError(f"{path}: not valid YAML{where}: {problem}") from None


def _entries(path: Path, document: Any) -> list[Any]:
    if not isinstance(document, dict) or "keys" not in document:
        raise KeysError(f"{path}: must be a mapping with a `keys` list (keys: [] for none)")
    unknown = sorted(str(field) for field in document if field != "keys")
    if unknown:
        raise KeysError(f"{path}: {unknown[0]}: unknown field (only `keys` belongs at the top level)")
    entries = document["keys"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise KeysError(f"{path}: keys: must be a list of entries")
    return entries


def load_keys(path: str | Path) -> dict[str, Key]:
    """The keys by hash, in file order; {} when the file does not exist; KeysError on any fault."""
    path = Path(path)
    if not path.exists():
        return {}
    keys: dict[str, Key] = {}
    aliases: dict[str, int] = {}
    for index, entry in enumerate(_entries(path, _read(path))):
        if not isinstance(entry, dict):
            raise KeysError(f"{path}: keys[{index}]: must be a mapping (alias: …, hash: …)")
        try:
            key = key_from_entry(entry)
        except FieldError as error:
            raise KeysError(f"{path}: keys[{index}].{error.field}: {error.reason}") from None
        if key.alias in aliases:
            raise KeysError(f"{path}: keys[{index}].alias: {key.alias!r} is used by keys[{aliases[key.alias]}] too")
        if key.hash in keys:
            other = aliases[keys[key.hash].alias]
            raise KeysError(f"{path}: keys[{index}].hash: the same as keys[{other}]'s")
        aliases[key.alias] = index
        keys[key.hash] = key
    return keys


def _entry(key: Key) -> dict[str, Any]:
    # Only what differs from the defaults, so that the file stays as short as one written by hand.
    entry: dict[str, Any] = {"alias": key.alias, "hash": key.hash}
    if key.models is not None:
        entry["models"] = sorted(key.models)
    for field in LIMITS:
        if getattr(key, field) is not None:
            entry[field] = getattr(key, field)
    if key.max_budget is not None:
        entry["max_budget"] = int(key.max_budget) if key.max_budget.is_integer() else key.max_budget
    if key.budget_duration is not None:
        entry["budget_duration"] = key.budget_duration
    if key.customer_id is not None:
        entry["customer_id"] = key.customer_id
    if key.expires is not None:
        expires = key.expires.astimezone(timezone.utc)
        entry["expires"] = expires.date() if expires.time() == time() else expires.isoformat()
    if key.disabled:
        entry["disabled"] = True
    return entry


def save_keys(path: str | Path, keys: Iterable[Key] | Mapping[str, Key]) -> None:
    """Write the file atomically (a temp file in the same directory, then os.replace), mode 0600.

    Readers (the proxy's KeyRing) see the old file or the new one, never half of one.
    """
    path = Path(path)
    if isinstance(keys, Mapping):
        keys = keys.values()
    text = HEADER + yaml.safe_dump(
        {"keys": [_entry(key) for key in keys]}, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
