"""`python -m adapter.mapping check FILE`: validate one mapping file the way the proxy will at start-up."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import stack_settings
from adapter.mapping.load import MappingError, load_file


def variables() -> dict[str, str]:
    """What ${VAR} may name: src/.env (or ENV_FILE) overridden by the environment, as the proxy reads them."""
    env_file = Path(os.environ.get("ENV_FILE") or stack_settings.DEFAULT_ENV_FILE)
    return stack_settings._merged(os.environ, env_file)


def check(path: str) -> int:
    try:
        mapping = load_file(path, variables())
    except MappingError as error:
        print(error, file=sys.stderr)
        return 1
    extras = [f"stream {mapping.stream.format}" if mapping.stream else "no stream (the full answer in pieces)"]
    if mapping.embeddings:
        extras.append("embeddings")
    # No URL or header values: they are expanded and may carry a secret.
    print(f"{path}: ok: backend {mapping.name!r}, chat, {', '.join(extras)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapter.mapping", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check_command = commands.add_parser("check", help="validate a mapping file; exit 1 with the reason")
    check_command.add_argument("file")
    args = parser.parse_args(argv)
    return check(args.file)


if __name__ == "__main__":
    sys.exit(main())
