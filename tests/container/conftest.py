"""The image built once per session from the repository's Dockerfile (scripts/container.sh, buildah)."""

from __future__ import annotations

import pytest

from tests.support import container


@pytest.fixture(scope="session")
def image() -> str:
    return container.build()
