"""The streaming benchmark's load generator, a process of its own started by bench/streams.py (bench.streamload)."""

import sys

from bench.streamload import main

if __name__ == "__main__":
    sys.exit(main())
