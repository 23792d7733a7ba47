"""`python -m adapter.keys add|list|budget|disable|enable|remove`: manage the keys file (KEYS_FILE) by alias."""

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

from adapter.keys.budget import counter_name, dollars, utc_text
from adapter.keys.file import FieldError, Key, KeysError, hash_key, key_from_entry, load_keys, save_keys
from adapter.keys.window import DURATIONS_HELP, window
from adapter.metering.spend import NANO, SpendReader

SHOWN_HASH = 12  # characters of a hash `list` shows: enough to tell keys apart, too few to be the hash


class Refused(Exception):
    """A command that cannot be done; the message is the one line the user sees."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (--help for usage)\n")


def parser() -> Parser:
    top = Parser(prog="keys", description="Manage the API keys in the keys file (KEYS_FILE, default src/keys.yaml).")
    commands = top.add_subparsers(dest="command", required=True, metavar="{add,list,budget,disable,enable,remove}")
    add = commands.add_parser("add", help="create a key and print it (once)")
    add.add_argument("--alias", required=True, help="a unique name: letters, digits, '_', '.', '-'")
    add.add_argument("--models", help="comma-separated models the key may use (default: every model)")
    add.add_argument("--rpm", type=int, help="requests per minute")
    add.add_argument("--tpm", type=int, help="tokens per minute")
    add.add_argument("--max-parallel", type=int, help="requests in flight at once")
    add.add_argument("--max-budget", type=float, help="US dollars the key may spend per budget window")
    add.add_argument("--budget-duration", help=f"the budget window: {DURATIONS_HELP}")
    add.add_argument("--customer-id", help="the customer its usage is metered under")
    add.add_argument("--expires", help="a date (2027-01-01, the key stops at its start, UTC) or an ISO time")
    commands.add_parser("list", help="show the keys (never the keys, only the start of their hashes), their budgets "
                        "and spend")
    budget = commands.add_parser("budget", help="set, change or remove a key's money budget (the spend counted "
                                 "in the current window stays unless the window's length changes)")
    budget.add_argument("alias")
    budget.add_argument("--max-budget", type=float, help="US dollars per window")
    length = budget.add_mutually_exclusive_group()
    length.add_argument("--budget-duration", help=f"the window: {DURATIONS_HELP}")
    length.add_argument("--lifetime", action="store_true", help="one budget for the key's whole life (no reset)")
    length.add_argument("--remove", action="store_true", help="no budget any more")
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
             "tpm": args.tpm, "max_parallel": args.max_parallel, "max_budget": args.max_budget,
             "budget_duration": args.budget_duration, "customer_id": args.customer_id, "expires": args.expires}
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


def _budget_entry(key: Key, args: argparse.Namespace) -> dict:
    if args.remove:
        if args.max_budget is not None:
            raise Refused("--remove takes no --max-budget")
        return {"max_budget": None, "budget_duration": None}
    if args.max_budget is None and key.max_budget is None:
        raise Refused(f"{key.alias!r} has no budget yet: give --max-budget USD")
    duration = None if args.lifetime else args.budget_duration or key.budget_duration
    return {"max_budget": key.max_budget if args.max_budget is None else args.max_budget, "budget_duration": duration}


def set_budget(path: Path, keys: list[Key], args: argparse.Namespace) -> None:
    index = _by_alias(path, keys, args.alias)
    entry = {**_entry_fields(keys[index]), **_budget_entry(keys[index], args)}
    try:
        keys[index] = key_from_entry(entry)
    except FieldError as error:
        raise Refused(f"--{error.field.replace('_', '-')}: {error.reason}") from None
    save_keys(path, keys)
    print(f"{args.alias!r} in {path}: {_budget(keys[index])}")


def _entry_fields(key: Key) -> dict:
    fields = dataclasses.asdict(key)
    fields["models"] = None if key.models is None else sorted(key.models)
    return fields


def remove(path: Path, keys: list[Key], alias: str) -> None:
    del keys[_by_alias(path, keys, alias)]
    save_keys(path, keys)
    print(f"removed {alias!r} from {path}")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    moment = moment.astimezone(timezone.utc)
    return moment.date().isoformat() if moment.time() == time() else moment.isoformat().replace("+00:00", "Z")


def _budget(key: Key) -> str:
    if key.max_budget is None:
        return "no budget"
    return f"{dollars(key.max_budget)} per {key.budget_duration}" if key.budget_duration else \
        f"{dollars(key.max_budget)} lifetime"


def _spend_cells(key: Key, now: datetime, spend: SpendReader, notes: set[str]) -> list[str]:
    """BUDGET, SPENT (in the current window) and RESETS of a key."""
    if key.max_budget is None:
        return ["-", "-", "-"]
    current = window(key.budget_duration, now)
    nano, note = spend.read(counter_name(key), current.key)
    if note:
        notes.add(note)
    resets = "never" if current.end is None else utc_text(current.end)
    return [f"{dollars(key.max_budget)}/{key.budget_duration or 'lifetime'}", dollars(nano / NANO), resets]


def _row(key: Key, now: datetime, spend: SpendReader, notes: set[str]) -> list[str]:
    state = "disabled" if key.disabled else "expired" if key.expired(now) else "active"
    limit = lambda value: "-" if value is None else str(value)  # noqa: E731
    return [key.alias, key.hash[:SHOWN_HASH] + "…", "all" if key.models is None else ",".join(sorted(key.models)),
            limit(key.rpm), limit(key.tpm), limit(key.max_parallel), *_spend_cells(key, now, spend, notes),
            key.customer_id or "-", _when(key.expires), state]


def show(path: Path, keys: list[Key], settings: stack_settings.Settings) -> None:
    if not keys:
        print(f"no keys in {path}")
        return
    now = datetime.now(timezone.utc)
    notes: set[str] = set()
    rows = [["ALIAS", "HASH", "MODELS", "RPM", "TPM", "PARALLEL", "BUDGET", "SPENT", "RESETS", "CUSTOMER", "EXPIRES",
             "STATE"]]
    spend = SpendReader(settings.log_dir, settings.redis_url, timeout=2)  # one client for every row
    rows += [_row(key, now, spend, notes) for key in keys]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for note in sorted(notes):
        print(f"keys: SPENT: {note}", file=sys.stderr)


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
    settings = stack_settings.load()
    path = Path(settings.keys_file)
    if args.command == "list":
        show(path, list(load_keys(path).values()), settings)
        return
    with editing(path):
        keys = list(load_keys(path).values())  # a broken file stops every command: it is never overwritten
        if args.command == "add":
            add(path, keys, args)
        elif args.command == "remove":
            remove(path, keys, args.alias)
        elif args.command == "budget":
            set_budget(path, keys, args)
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
