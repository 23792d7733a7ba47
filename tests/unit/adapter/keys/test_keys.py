"""adapter.keys: hashing, the file's validation, atomic writing, and the KeyRing's reload on change."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from adapter import keys as keys_module
from adapter.keys import HASH_PREFIX, Key, KeyRing, KeysError, hash_key, load_keys, save_keys

SECRET = "sk-test-secret"
HASH = hash_key(SECRET)
OTHER = hash_key("sk-other")


def write(path, text: str) -> None:
    # Like an editor that saves through a temp file: a new inode, so the change is seen however fast the test is.
    temp = path.with_name(path.name + ".new")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def entry(alias: str = "team-a", hash_: str = HASH, extra: str = "") -> str:
    return f"  - alias: {alias}\n    hash: \"{hash_}\"\n{extra}"


# ---------------------------------------------------------------- hashing


def test_hash_key_is_prefixed_sha256_of_utf8() -> None:
    assert hash_key("sk-é") == "sha256:" + hashlib.sha256("sk-é".encode()).hexdigest()
    assert HASH.startswith(HASH_PREFIX) and len(HASH) == len(HASH_PREFIX) + 64
    assert hash_key("a") != hash_key("b")


# ---------------------------------------------------------------- loading


def test_missing_file_is_no_keys(tmp_path) -> None:
    assert load_keys(tmp_path / "absent.yaml") == {}


def test_good_file_loads_every_field(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry(extra=(
        "    models: [m1, m2]\n    rpm: 60\n    tpm: 100000\n    max_parallel: 4\n"
        "    max_budget: 200\n    budget_duration: 1mo\n"
        "    customer_id: cust-a\n    expires: 2027-01-01\n    disabled: true\n"
    )) + entry("team-b", OTHER, "    expires: 2027-02-03T04:05:06+02:00\n    max_budget: 0.25\n"))
    keys = load_keys(path)
    assert list(keys) == [HASH, OTHER]
    assert keys[HASH] == Key(
        alias="team-a", hash=HASH, models=frozenset({"m1", "m2"}), rpm=60, tpm=100000, max_parallel=4,
        max_budget=200.0, budget_duration="30d", customer_id="cust-a", expires=datetime(2027, 1, 1, tzinfo=timezone.utc), disabled=True,
    )
    other = keys[OTHER]
    assert (other.models, other.rpm, other.tpm, other.max_parallel, other.customer_id, other.disabled) == (
        None, None, None, None, None, False)
    assert other.expires == datetime(2027, 2, 3, 2, 5, 6, tzinfo=timezone.utc)
    assert (other.max_budget, other.budget_duration) == (0.25, None)  # a lifetime budget


@pytest.mark.parametrize("value, expected", [
    ("2027-01-01", datetime(2027, 1, 1, tzinfo=timezone.utc)),
    ("2027-01-01 12:30:00", datetime(2027, 1, 1, 12, 30, tzinfo=timezone.utc)),  # naive: UTC
    ("'2027-01-01T12:30:00Z'", datetime(2027, 1, 1, 12, 30, tzinfo=timezone.utc)),
    ("'2027-01-01T12:30:00'", datetime(2027, 1, 1, 12, 30, tzinfo=timezone.utc)),
])
def test_expires_is_timezone_aware(tmp_path, value, expected) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry(extra=f"    expires: {value}\n"))
    expires = load_keys(path)[HASH].expires
    assert expires == expected and expires.tzinfo is not None


@pytest.mark.parametrize("extra, field, reason", [
    ("    colour: red\n", "colour", "unknown field"),
    ("    models: []\n", "models", "non-empty list"),
    ("    models: m1\n", "models", "non-empty list"),
    ("    models: [m1, 3]\n", "models", "model name"),
    ("    rpm: 0\n", "rpm", "positive whole number"),
    ("    tpm: -5\n", "tpm", "positive whole number"),
    ("    max_parallel: 1.5\n", "max_parallel", "positive whole number"),
    ("    rpm: true\n", "rpm", "positive whole number"),
    ("    rpm: '60'\n", "rpm", "positive whole number"),
    ("    customer_id: 42\n", "customer_id", "text"),
    ("    customer_id: ''\n", "customer_id", "text"),
    ("    expires: soon\n", "expires", "date"),
    ("    expires: 5\n", "expires", "date"),
    ("    disabled: 'yes please'\n", "disabled", "true or false"),
    ("    max_budget: 0\n", "max_budget", "positive amount of US dollars"),
    ("    max_budget: -5\n", "max_budget", "positive amount of US dollars"),
    ("    max_budget: '5'\n", "max_budget", "positive amount of US dollars"),
    ("    max_budget: true\n", "max_budget", "positive amount of US dollars"),
    ("    max_budget: .inf\n", "max_budget", "positive amount of US dollars"),
    ("    budget_duration: 1d\n", "budget_duration", "needs max_budget"),
    ("    max_budget: 5\n    budget_duration: 2d\n", "budget_duration", "cannot be aligned to the calendar"),
    ("    max_budget: 5\n    budget_duration: soon\n", "budget_duration", "not a duration"),
    ("    max_budget: 5\n    budget_duration: 30\n", "budget_duration", "not a duration"),
])
def test_each_bad_field_names_file_entry_and_field(tmp_path, extra, field, reason) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry("ok", OTHER) + entry(extra=extra))
    with pytest.raises(KeysError) as caught:
        load_keys(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: keys[1].{field}: ")
    assert reason in message


@pytest.mark.parametrize("text, field", [
    ("keys:\n  - hash: \"" + HASH + "\"\n", "alias"),
    ("keys:\n" + entry("has space"), "alias"),
    ("keys:\n" + entry("2024"), "alias"),  # YAML reads a number: the alias must be quoted
    ("keys:\n" + entry("a/b"), "alias"),
    ("keys:\n  - alias: team-a\n", "hash"),
    ("keys:\n" + entry(hash_=SECRET), "hash"),
    ("keys:\n" + entry(hash_=HASH.upper().replace("SHA256", "sha256")), "hash"),
    ("keys:\n" + entry(hash_="sha256:abc"), "hash"),
    ("keys:\n" + entry(hash_="md5:" + HASH[7:]), "hash"),
])
def test_alias_and_hash_are_required_and_checked(tmp_path, text, field) -> None:
    path = tmp_path / "keys.yaml"
    write(path, text)
    with pytest.raises(KeysError, match=rf"^{path}: keys\[0\]\.{field}: "):
        load_keys(path)


def test_a_bad_hash_is_never_repeated(tmp_path) -> None:
    # A key pasted where its hash belongs must not end up in an error message (and so in a log).
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry(hash_=SECRET))
    with pytest.raises(KeysError) as caught:
        load_keys(path)
    assert SECRET not in str(caught.value)


def test_aliases_and_hashes_are_unique(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry("a") + entry("b", OTHER) + entry("a", hash_key("third")))
    with pytest.raises(KeysError, match=rf"^{path}: keys\[2\]\.alias: 'a' is used by keys\[0\] too$"):
        load_keys(path)
    write(path, "keys:\n" + entry("a") + entry("b", OTHER) + entry("c", OTHER))
    with pytest.raises(KeysError, match=rf"^{path}: keys\[2\]\.hash: the same as keys\[1\]'s$"):
        load_keys(path)


@pytest.mark.parametrize("text, needle", [
    ("", "mapping with a `keys` list"),
    ("- alias: a\n", "mapping with a `keys` list"),
    ("other: 1\n", "mapping with a `keys` list"),
    ("keys: []\nextra: 1\n", "extra: unknown field"),
    ("keys: {alias: a}\n", "keys: must be a list"),
    ("keys:\n  - just-text\n", "keys[0]: must be a mapping"),
    ("keys: [\n", "not valid YAML (line"),
])
def test_file_shape_is_checked(tmp_path, text, needle) -> None:
    path = tmp_path / "keys.yaml"
    write(path, text)
    with pytest.raises(KeysError) as caught:
        load_keys(path)
    assert str(caught.value).startswith(f"{path}: ") and needle in str(caught.value)


def test_yaml_error_does_not_quote_the_file(tmp_path) -> None:
    # PyYAML quotes the offending line; that line may carry a hash.
    path = tmp_path / "keys.yaml"
    write(path, f"keys:\n  - alias: a\n    hash: \"{HASH}\"\n   bad: [\n")
    with pytest.raises(KeysError) as caught:
        load_keys(path)
    assert HASH[7:] not in str(caught.value) and "\n" not in str(caught.value)


def test_empty_key_list_is_no_keys(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys: []\n")
    assert load_keys(path) == {}
    write(path, "keys:\n")
    assert load_keys(path) == {}


# ---------------------------------------------------------------- expiry


def test_expired_from_the_instant_on() -> None:
    expires = datetime(2027, 1, 1, tzinfo=timezone.utc)
    key = Key(alias="a", hash=HASH, expires=expires)
    assert not key.expired(expires - timedelta(microseconds=1))
    assert key.expired(expires)
    assert key.expired(expires + timedelta(days=1))
    assert not key.expired(datetime(2026, 12, 31, 23, 59))  # naive: taken as UTC
    assert key.expired(datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))) + timedelta(seconds=1))
    assert not Key(alias="b", hash=OTHER).expired(datetime(9999, 1, 1, tzinfo=timezone.utc))


# ---------------------------------------------------------------- writing


def test_save_round_trips_and_is_private(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    keys = [
        Key(alias="full", hash=HASH, models=frozenset({"m2", "m1"}), rpm=1, tpm=2, max_parallel=3, max_budget=5.0,
            budget_duration="7d", customer_id="c", expires=datetime(2027, 1, 1, tzinfo=timezone.utc), disabled=True),
        Key(alias="at-noon", hash=OTHER, expires=datetime(2027, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))),
        Key(alias="2024", hash=hash_key("third")),  # YAML would read it as a number unless quoted
        Key(alias="lifetime", hash=hash_key("fourth"), max_budget=0.125),
    ]
    save_keys(path, keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(load_keys(path).values()) == keys
    assert "expires: 2027-01-01\n" in path.read_text()
    save_keys(path, load_keys(path))  # a dict by hash, as load_keys returns, works too
    assert list(load_keys(path).values()) == keys


def test_save_replaces_a_readable_file_with_a_private_one(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys: []\n")
    path.chmod(0o644)
    save_keys(path, [Key(alias="a", hash=HASH)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_is_atomic(tmp_path, monkeypatch) -> None:
    path = tmp_path / "keys.yaml"
    save_keys(path, [Key(alias="old", hash=HASH)])
    before = path.stat().st_ino

    def broken_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_keys(path, [Key(alias="new", hash=OTHER)])
    monkeypatch.undo()
    # The old file is untouched and no temp file is left behind.
    assert [key.alias for key in load_keys(path).values()] == ["old"]
    assert os.listdir(tmp_path) == ["keys.yaml"]
    save_keys(path, [Key(alias="new", hash=OTHER)])
    assert path.stat().st_ino != before  # a new file moved into place, not the old one rewritten


# ---------------------------------------------------------------- KeyRing


def test_ring_finds_by_key_and_reloads_on_change(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry("a"))
    ring = KeyRing(path, check_every=0)
    assert ring.find(SECRET).alias == "a"
    assert ring.find("sk-other") is None
    write(path, "keys:\n" + entry("b", OTHER))
    assert ring.find(SECRET) is None  # revoked
    assert ring.find("sk-other").alias == "b"
    path.unlink()
    assert ring.find("sk-other") is None  # no file: no keys


def test_ring_sees_an_in_place_edit(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("keys:\n" + entry("a", extra="    rpm: 10\n"))
    ring = KeyRing(path, check_every=0)
    path.write_text("keys:\n" + entry("a", extra="    rpm: 20\n"))  # same size, same inode
    stamp = path.stat()
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))  # a coarse clock still ticks
    assert ring.find(SECRET).rpm == 20


def test_ring_looks_at_most_every_check_every(tmp_path, monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(keys_module.ring.time, "monotonic", lambda: clock[0])
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry("a"))
    ring = KeyRing(path, check_every=5)
    write(path, "keys:\n" + entry("b"))
    clock[0] += 4.9
    assert ring.find(SECRET).alias == "a"  # not looked at yet
    clock[0] += 0.1
    assert ring.find(SECRET).alias == "b"


def test_ring_refuses_to_start_on_a_broken_file(tmp_path) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry(extra="    rpm: 0\n"))
    with pytest.raises(KeysError, match=r"keys\[0\]\.rpm"):
        KeyRing(path)


def test_ring_keeps_the_last_good_keys_and_warns_once_per_broken_version(tmp_path, caplog) -> None:
    path = tmp_path / "keys.yaml"
    write(path, "keys:\n" + entry("a"))
    ring = KeyRing(path, check_every=0)
    caplog.set_level(logging.INFO, logger="adapter")

    write(path, "keys:\n" + entry("a", hash_=SECRET))  # broken: the key itself where its hash belongs
    for _ in range(3):
        assert ring.find(SECRET).alias == "a"
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "adapter"
    message = warnings[0].getMessage()
    assert str(path) in message and "keys[0].hash" in message
    assert SECRET not in message and HASH[7:] not in message

    write(path, "keys:\n" + entry("a", extra="    colour: red\n"))  # another broken version: one more warning
    assert ring.find(SECRET).alias == "a"
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2

    write(path, "keys:\n" + entry("fixed"))
    assert ring.find(SECRET).alias == "fixed"
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
    assert not any(SECRET in r.getMessage() or HASH[7:] in r.getMessage() for r in caplog.records)
