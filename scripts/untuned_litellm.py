"""uvicorn, run the way a plain `pip install 'litellm[proxy]'` would run it: without the packages we add for speed.

The benchmark's reference is an untuned LiteLLM. This project installs `opentelemetry-sdk` because LiteLLM
1.106.2 retries a failing import of it on every request (docs/dependencies.md); a plain install lacks it, so
this runner makes those imports fail as they would there. It fails them faster than a real missing package
(0.5 ms against 1.1 ms per request, measured), so if anything it flatters the reference.
Usage: the same arguments as `uvicorn`.
"""

from __future__ import annotations

import importlib.abc
import sys

ADDED_FOR_SPEED = ("opentelemetry.sdk",)


class HideAddedPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == hidden or name.startswith(hidden + ".") for hidden in ADDED_FOR_SPEED):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, HideAddedPackages())
    from uvicorn.main import main

    sys.exit(main())
