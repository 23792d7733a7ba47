"""`python -m adapter.keys add|list|disable|enable|remove`: manage the keys file (KEYS_FILE) by alias."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import os
import secrets
import sys
from datetime import datetime, time, timezone
from pathlib import Path
from typing import NoReturn

import stack_settings

from adapter.keys.file import FieldError, Key, KeysError, hash_key, key_from_entry, load_keys, save_keys

SHOWN_HASH = 12  # characters of a hash `list` shows: enough to tell keys apart, too few to be the hash


class Refused(Exception):
    """A command that cannot be done; the message is the one line the user sees."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (--help for usage)\n")


def parser() -> Parser:
    top = Parser(prog="keys", description="Manage the API keys in the keys file (KEYS_FILE, default src/keys.yaml).")
    commands = top.add_subparsers(dest="command", required=True, metavar="{add,list,disable,enable,remove}")
    add = commands.add_parser("add", help="create a key and print it (once)")
    add.add_argument("--alias", required=True, help="a unique name: letters, digits, '_', '.', '-'")
    add.add_argument("--models", help="comma-separated models the key may use (default: every model)")
    add.add_argument("--rpm", type=int, help="requests per minute")
    add.add_argument("--tpm", type=int, help="tokens per minute")
    add.add_argument("--max-parallel", type=int, help="requests in flight at once")
    add.add_argument("--customer-id", help="the customer its usage is metered under")
    add.add_argument("--expires", help="a date (2027-01-01, the key stops at its start, UTC) or an ISO time")
    commands.add_parser("list", help="show the keys (never the keys, only the start of their hashes)")
    for name, text in (("disable", "stop a key, keeping it"), ("enable", "start a disabled key again"),
                       ("remove", "delete a key")):
        commands.add_parser(name, help=text).add_argument("alias")
    return top


def _models(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def add(path: Path, keys: list[Key], args: argparse.Namespace) -> None:
    if any(key.alias == args.alias for key in keys):
        raise Refused(f"{path}: a key with alias {args.alias!r} exists already")
    secret = "sk-" + secrets.token_urlsafe(32)
    entry = {"alias": args.alias, "hash": hash_key(secret), "models": _models(args.models), "rpm": args.rpm,
             "tpm": args.tpm, "max_parallel": args.max_parallel, "customer_id": args.customer_id,
             "expires": args.expires}
    try:
        key = key_from_entry(entry)
    except FieldError as error:
        raise Refused(f"--{error.field.replace('_', '-')}: {error.reason}") from None
    save_keys(path, [*keys, key])
    print(secret)
    print(f"added {key.alias!r} to {path}; the key above is shown only this once: store it now", file=sys.stderr)


def _by_alias(path: Path, keys: list[Key], alias: str) -> int:
    for index, key in enumerate(keys):
        if key.alias == alias:
            return index
    raise Refused(f"{path}: no key with alias {alias!r}")


def set_disabled(path: Path, keys: list[Key], alias: str, disabled: bool) -> None:
    index = _by_alias(path, keys, alias)
    keys[index] = dataclasses.replace(keys[index], disabled=disabled)
    save_keys(path, keys)
    print(f"{'disabled' if disabled else 'enabled'} {alias!r} in {path}")


def remove(path: Path, keys: list[Key], alias: str) -> None:
    del keys[_by_alias(path, keys, alias)]
    save_keys(path, keys)
    print(f"removed {alias!r} from {path}")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    moment = moment.astimezone(timezone.utc)
    return moment.date().isoformat() if moment.time() == time() else moment.isoformat().replace("+00:00", "Z")


def _row(key: Key, now: datetime) -> list[str]:
    state = "disabled" if key.disabled else "expired" if key.expired(now) else "active"
    limit = lambda value: "-" if value is None else str(value)  # noqa: E731
    return [key.alias, key.hash[:SHOWN_HASH] + "…", "all" if key.models is None else ",".join(sorted(key.models)),
            limit(key.rpm), limit(key.tpm), limit(key.max_parallel), key.customer_id or "-", _when(key.expires),
            state]


def show(path: Path, keys: list[Key]) -> None:
    if not keys:
        print(f"no keys in {path}")
        return
    now = datetime.now(timezone.utc)
    rows = [["ALIAS", "HASH", "MODELS", "RPM", "TPM", "PARALLEL", "CUSTOMER", "EXPIRES", "STATE"]]
    rows += [_row(key, now) for key in keys]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@contextlib.contextmanager
def editing(path: Path):
    """Hold a lock while the file is read, changed and written: two `add`s at once keep both keys.

    The lock is on the directory: the file itself is replaced by every write, and a lock file would be litter.
    """
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def run(args: argparse.Namespace) -> None:
    path = Path(stack_settings.load().keys_file)
    if args.command == "list":
        show(path, list(load_keys(path).values()))
        return
    with editing(path):
        keys = list(load_keys(path).values())  # a broken file stops every command: it is never overwritten
        if args.command == "add":
            add(path, keys, args)
        elif args.command == "remove":
            remove(path, keys, args.alias)
        else:
            set_disabled(path, keys, args.alias, args.command == "disable")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except (Refused, KeysError) as error:
        print(f"keys: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"keys: cannot write {error.filename or 'the keys file'}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
