"""What the business path's mapping (src/backends/business.yaml) costs per request, measured in-process.

    .venv/bin/python scripts/benchmark_mapping.py

benchmark.py measures the same beside its stack and prints it as a share of path 3's CPU per request. Alone,
this needs no running service: it reads the settings as a fresh install has them (a temporary env file with new
secrets; nothing is sent), with the environment's CONFIG_FILE_PATH and BACKENDS_DIR when they are set.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import stack_settings
from bench.mapping_cost import PIECES, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-mapping-") as tmp:
        environ = {**os.environ, "ENV_FILE": str(Path(tmp) / ".env")}
        stack_settings.create_env_file(Path(environ["ENV_FILE"]))
        try:
            settings = stack_settings.load(environ)
        except stack_settings.SettingsError as error:
            print(f"configuration error: {error}", file=sys.stderr)
            return 2
        cost = measure(settings, environ)
    print(f"the business path's mapping, in-process: {cost.chat_us:.0f} µs per chat request; "
          f"{cost.stream_us:.0f} µs per stream of {PIECES} events ({cost.per_piece_us:.1f} µs per piece)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
