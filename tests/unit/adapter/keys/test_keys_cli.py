"""`python -m adapter.keys` and scripts/keys.sh, run as the user runs them: a subprocess on a keys file in tmp_path."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from adapter.keys import hash_key, load_keys

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def keys_file(tmp_path) -> Path:
    return tmp_path / "keys.yaml"


def environment(keys_file: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ("KEYS_FILE", "ENV_FILE", "PYTHONPATH")}
    # No env file: the developer's src/.env must not choose the keys file.
    return {**env, "KEYS_FILE": str(keys_file), "ENV_FILE": str(keys_file.parent / "absent.env"),
            "PYTHONPATH": str(ROOT / "src"), "LOG_DIR": str(keys_file.parent / "logs"), "REDIS_URL": ""}


def keys(keys_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapter.keys", *args], env=environment(keys_file),
                          capture_output=True, text=True, timeout=60)


def added(keys_file: Path, alias: str, *options: str) -> str:
    result = keys(keys_file, "add", "--alias", alias, *options)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def by_alias(keys_file: Path) -> dict:
    return {key.alias: key for key in load_keys(keys_file).values()}


def test_add_prints_a_new_key_once_and_stores_only_its_hash(keys_file) -> None:
    result = keys(keys_file, "add", "--alias", "team-a", "--models", "m1, m2", "--rpm", "60", "--tpm", "1000",
                  "--max-parallel", "4", "--customer-id", "cust-a", "--expires", "2027-01-01")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("sk-") and len(secret) > 40 and result.stdout == secret + "\n"
    assert "only" in result.stderr and "once" in result.stderr and len(result.stderr.splitlines()) == 1
    text = keys_file.read_text()
    assert secret not in text and hash_key(secret) in text
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    key = load_keys(keys_file)[hash_key(secret)]
    assert (key.alias, key.models, key.rpm, key.tpm, key.max_parallel, key.customer_id, key.disabled) == (
        "team-a", frozenset({"m1", "m2"}), 60, 1000, 4, "cust-a", False)
    assert key.expires.isoformat() == "2027-01-01T00:00:00+00:00"
    assert added(keys_file, "team-b") != secret  # every key is new
    assert list(by_alias(keys_file)) == ["team-a", "team-b"]


def test_add_refuses_a_duplicate_alias(keys_file) -> None:
    added(keys_file, "team-a")
    before = keys_file.read_bytes()
    result = keys(keys_file, "add", "--alias", "team-a")
    assert result.returncode != 0 and result.stdout == ""
    assert "team-a" in result.stderr and "exists" in result.stderr and len(result.stderr.splitlines()) == 1
    assert keys_file.read_bytes() == before


def test_list_shows_the_keys_but_no_key_and_no_full_hash(keys_file) -> None:
    assert "no keys" in keys(keys_file, "list").stdout
    secret = added(keys_file, "team-a", "--models", "m1", "--rpm", "60", "--customer-id", "cust-a")
    added(keys_file, "old", "--expires", "2020-01-01")
    keys(keys_file, "disable", "old")
    result = keys(keys_file, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ALIAS", "HASH", "MODELS", "RPM", "TPM", "PARALLEL", "BUDGET", "SPENT", "RESETS",
                                "CUSTOMER", "EXPIRES", "STATE"]
    assert lines[1].split() == ["team-a", hash_key(secret)[:12] + "…", "m1", "60", "-", "-", "-", "-", "-", "cust-a",
                                "never", "active"]
    assert lines[2].split()[0] == "old" and lines[2].split()[-2:] == ["2020-01-01", "disabled"]
    assert secret not in result.stdout and hash_key(secret)[:13] not in result.stdout
    keys(keys_file, "enable", "old")
    assert keys(keys_file, "list").stdout.splitlines()[2].split()[-1] == "expired"


def test_disable_enable_remove(keys_file) -> None:
    added(keys_file, "team-a")
    added(keys_file, "team-b")
    assert keys(keys_file, "disable", "team-a").returncode == 0
    assert by_alias(keys_file)["team-a"].disabled and not by_alias(keys_file)["team-b"].disabled
    assert keys(keys_file, "enable", "team-a").returncode == 0
    assert not by_alias(keys_file)["team-a"].disabled
    assert keys(keys_file, "remove", "team-a").returncode == 0
    assert list(by_alias(keys_file)) == ["team-b"]
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("args", [
    [],
    ["rotate"],
    ["add"],
    ["add", "--alias", "a", "--rpm", "many"],
    ["add", "--alias", "a", "--rpm", "0"],
    ["add", "--alias", "a b"],
    ["add", "--alias", "a", "--models", ","],
    ["add", "--alias", "a", "--expires", "someday"],
    ["add", "--alias", "a", "--max-budget", "0"],
    ["add", "--alias", "a", "--max-budget", "five"],
    ["add", "--alias", "a", "--max-budget", "5", "--budget-duration", "2d"],
    ["add", "--alias", "a", "--budget-duration", "1d"],
    ["budget", "team-a"],
    ["budget", "team-a", "--budget-duration", "1d"],
    ["budget", "team-a", "--max-budget", "5", "--budget-duration", "7s"],
    ["budget", "team-a", "--remove", "--lifetime"],
    ["budget", "nobody", "--max-budget", "5"],
    ["disable"],
    ["disable", "nobody"],
    ["enable", "nobody"],
    ["remove", "nobody"],
])
def test_bad_arguments_fail_in_one_line(keys_file, args) -> None:
    added(keys_file, "team-a")
    before = keys_file.read_bytes()
    result = keys(keys_file, *args)
    assert result.returncode != 0
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert keys_file.read_bytes() == before


def test_a_broken_file_is_reported_and_never_overwritten(keys_file) -> None:
    keys_file.write_text("keys:\n  - alias: a\n    hash: sha256:abc\n")
    before = keys_file.read_bytes()
    for args in (["list"], ["add", "--alias", "b"], ["remove", "a"]):
        result = keys(keys_file, *args)
        assert result.returncode != 0 and len(result.stderr.splitlines()) == 1
        assert f"{keys_file}: keys[0].hash" in result.stderr
    assert keys_file.read_bytes() == before


def test_unwritable_directory_fails_in_one_line(tmp_path) -> None:
    keys_file = tmp_path / "missing-dir" / "keys.yaml"
    result = keys(keys_file, "add", "--alias", "a")
    assert result.returncode != 0 and result.stdout == "" and len(result.stderr.splitlines()) == 1


def test_scripts_keys_sh_runs_the_command(keys_file) -> None:
    env = {**environment(keys_file), "VENV": str(Path(sys.executable).parent.parent)}
    run = lambda *args: subprocess.run([str(ROOT / "scripts" / "keys.sh"), *args], env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    result = run("add", "--alias", "team-a", "--rpm", "5")
    assert result.returncode == 0, result.stderr
    assert load_keys(keys_file)[hash_key(result.stdout.strip())].rpm == 5
    assert run("add", "--alias", "team-a").returncode != 0


def test_scripts_keys_sh_without_a_venv_says_what_to_do(keys_file, tmp_path) -> None:
    env = {**environment(keys_file), "VENV": str(tmp_path / "no-venv")}
    result = subprocess.run([str(ROOT / "scripts" / "keys.sh"), "list"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "run ./start_services.sh first" in result.stderr
    assert not (tmp_path / "no-venv").exists()


def test_adds_at_the_same_time_keep_every_key(keys_file) -> None:
    processes = [subprocess.Popen([sys.executable, "-m", "adapter.keys", "add", "--alias", f"team-{n}"],
                                  env=environment(keys_file), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in range(6)]
    assert all(process.wait(timeout=60) == 0 for process in processes)
    assert sorted(by_alias(keys_file)) == [f"team-{n}" for n in range(6)]
    assert sorted(os.listdir(keys_file.parent)) == ["keys.yaml"]  # no lock or temp file left behind
