"""scripts/container.sh's settings: one that names a file that is not there stops the build at once, saying which."""

from __future__ import annotations

import os
import subprocess

from tests.support.deploy_files import ROOT

NEVER_BUILT = "localhost/adapter-stack:never-built"


def test_a_build_ca_file_that_is_not_a_file_stops_the_build_instead_of_falling_back(tmp_path):
    missing = tmp_path / "corp-bundle.crt"
    result = subprocess.run([str(ROOT / "scripts" / "container.sh"), "build"], capture_output=True, text=True,
                            env={**os.environ, "BUILD_CA_FILE": str(missing), "IMAGE": NEVER_BUILT}, timeout=60)
    assert result.returncode != 0
    assert f"BUILD_CA_FILE={missing} is not a file" in result.stderr
    assert "building" not in result.stdout + result.stderr  # stopped before the base and the build
    inspected = subprocess.run(["buildah", "inspect", "--type", "image", NEVER_BUILT], capture_output=True)
    assert inspected.returncode != 0
