"""adapter.metering.usage_log: LiteLLM's logging payload → one usage line, appended whole."""

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from adapter.metering.usage_log import append_line, usage_file, usage_line

NOW = datetime(2026, 11, 23, 18, 5, 1, 250000, tzinfo=timezone.utc)
SUCCESS = {"id": "chatcmpl-1", "litellm_call_id": "call-1", "status": "success", "stream": True,
           "model": "business/my-custom-model", "model_group": "my-custom-model", "prompt_tokens": 9,
           "completion_tokens": 6, "total_tokens": 15, "response_time": 0.1234, "response_cost": 0.000021,
           "metadata": {"user_api_key_alias": "team-a", "user_api_key_auth_metadata": {"customer_id": "acme"}}}


def test_a_success_becomes_a_line_with_key_customer_model_tokens_and_latency():
    assert usage_line(SUCCESS, NOW) == {
        "time": "2026-11-23T18:05:01.250+00:00", "request_id": "call-1", "key_alias": "team-a", "customer_id": "acme",
        "model": "my-custom-model", "prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15, "cost": 0.000021,
        "status": 200, "latency_ms": 123.4, "stream": True}


def test_a_failure_carries_its_status_and_a_request_without_a_valid_key_no_alias():
    failure = {"status": "failure", "error_information": {"error_code": "401"}, "model_group": "m", "metadata": {}}
    line = usage_line(failure, NOW)
    assert (line["status"], line["key_alias"], line["customer_id"], line["total_tokens"], line["cost"]) == (
        401, None, None, 0, 0.0)
    assert usage_line({"status": "failure", "error_information": {"error_code": ""}}, NOW)["status"] == 500


def test_a_stream_that_failed_is_still_a_stream():
    broken = {"status": "failure", "error_information": {"error_code": "502"}, "stream": None,
              "model_parameters": {"stream": True}}
    assert usage_line(broken, NOW)["stream"] is True
    assert usage_line({**broken, "model_parameters": {"stream": False}}, NOW)["stream"] is False
    assert usage_line({**broken, "model_parameters": {}}, NOW)["stream"] is False
    assert usage_line({"status": "success", "stream": True}, NOW)["stream"] is True


def test_lines_go_to_the_days_file_appended_whole_and_private(tmp_path):
    path = usage_file(tmp_path, NOW)
    assert path.name == "usage_2026-11-23.jsonl"
    append_line(path, {"a": 1})
    append_line(path, {"a": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"a": 1}, {"a": 2}]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_summary_groups_by_day_key_customer_and_model(tmp_path):
    from adapter.metering.__main__ import read_lines, summarise, table

    for line in (usage_line(SUCCESS, NOW), usage_line(SUCCESS, NOW),
                 usage_line({**SUCCESS, "status": "failure", "error_information": {"error_code": "400"},
                             "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "response_cost": None}, NOW),
                 usage_line({**SUCCESS, "metadata": {"user_api_key_alias": "master"}}, NOW.replace(day=24))):
        append_line(usage_file(tmp_path, datetime.fromisoformat(line["time"])), line)
    rows = summarise(read_lines(tmp_path))
    assert [(r["day"], r["key_alias"], r["requests"], r["errors"], r["total_tokens"], r["cost"]) for r in rows] == [
        ("2026-11-23", "team-a", 3, 1, 30, 0.000042), ("2026-11-24", "master", 1, 0, 15, 0.000021)]
    assert [r["day"] for r in summarise(read_lines(tmp_path, "2026-11-24"))] == ["2026-11-24"]
    assert table(rows).splitlines()[0].split() == ["day", "key_alias", "customer_id", "model", "requests", "errors",
                                                   "prompt_tokens", "completion_tokens", "total_tokens", "cost"]


def test_lines_written_before_cost_was_recorded_count_as_no_cost():
    from adapter.metering.__main__ import summarise

    old = {k: v for k, v in usage_line(SUCCESS, NOW).items() if k != "cost"}
    assert summarise([old, usage_line(SUCCESS, NOW)])[0]["cost"] == 0.000021


def test_a_refusal_at_the_door_is_a_line_with_its_status_and_for_a_budget_the_keys_alias(tmp_path):
    from adapter.metering.usage_log import UsageLog

    log = UsageLog(str(tmp_path))
    log.refused(401, None)
    log.refused(429, "priced-model", "team-a")
    lines = [json.loads(line) for path in tmp_path.glob("usage_*.jsonl") for line in path.read_text().splitlines()]
    assert [(line["status"], line["key_alias"], line["model"], line["cost"]) for line in lines] == [
        (401, None, None, 0.0), (429, "team-a", "priced-model", 0.0)]


# LOG_DIR failing: real failures from the kernel, as root too (root ignores permissions, so none is made by chmod).

def lost_lines_kept(stderr: int):
    """A LostLines whose counts are kept in lists, and whose stderr copy goes to `stderr` (a pipe or a file)."""
    from adapter.metering.usage_log import LostLines

    counted, unrecorded = [], []
    return LostLines(counted.append, lambda: unrecorded.append(1), stderr), counted, unrecorded


def copies(read_end: int) -> list[dict]:
    from adapter.metering.usage_log import LOST_PREFIX

    text = os.read(read_end, 1 << 16).decode()
    assert all(line.startswith(LOST_PREFIX) for line in text.splitlines()), text
    return [json.loads(line[len(LOST_PREFIX):]) for line in text.splitlines()]


def test_a_full_disk_counts_each_line_copies_it_whole_to_stderr_and_says_so_once_then_once_when_it_ends(tmp_path,
                                                                                                    caplog):
    from adapter.metering.usage_log import UsageLog

    read_end, write_end = os.pipe()
    lost, counted, unrecorded = lost_lines_kept(write_end)
    log = UsageLog(str(tmp_path), lost)
    path = usage_file(tmp_path, datetime.now(timezone.utc))
    path.symlink_to("/dev/full")  # every write: ENOSPC, "No space left on device"
    try:
        with caplog.at_level("WARNING", logger="adapter"):
            for status in (401, 403, 429):
                log.refused(status, "m", "team-a")
        assert counted == ["no_space"] * 3 and not unrecorded
        assert [line["status"] for line in copies(read_end)] == [401, 403, 429]
        errors = [record for record in caplog.records if record.levelname == "ERROR"]
        assert len(errors) == 1, caplog.text
        assert "No space left on device" in errors[0].getMessage() and str(path) in errors[0].getMessage()

        caplog.clear()
        path.unlink()  # space again
        with caplog.at_level("WARNING", logger="adapter"):
            log.refused(401, "m")
            log.refused(401, "m")
        assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == [401, 401]
        assert [record.getMessage() for record in caplog.records if "again" in record.getMessage()] == [
            "usage lines are written to LOG_DIR again; 3 line(s) were copied to this log instead in the meantime "
            "(docs/operations.md: When LOG_DIR is full or unwritable)"]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_log_dir_gone_or_replaced_by_a_file_or_a_day_file_that_is_a_directory_is_counted_by_its_reason(tmp_path):
    from adapter.metering.usage_log import UsageLog

    read_end, write_end = os.pipe()
    lost, counted, _ = lost_lines_kept(write_end)
    try:
        UsageLog(str(tmp_path / "missing"), lost).refused(401, None)
        (tmp_path / "a-file").write_text("")
        UsageLog(str(tmp_path / "a-file"), lost).refused(401, None)
        usage_file(tmp_path, datetime.now(timezone.utc)).mkdir()
        UsageLog(str(tmp_path), lost).refused(401, None)
        assert counted == ["no_directory", "no_directory", "other"]
        assert len(copies(read_end)) == 3
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_line_lost_when_stderr_fails_too_is_counted_as_unrecorded(tmp_path):
    from adapter.metering.usage_log import UsageLog

    full = os.open("/dev/full", os.O_WRONLY)
    lost, counted, unrecorded = lost_lines_kept(full)
    try:
        UsageLog(str(tmp_path / "missing"), lost).refused(401, None)
    finally:
        os.close(full)
    assert counted == ["no_directory"] and unrecorded == [1]


def test_reasons_are_a_few_fixed_labels():
    import errno

    from adapter.metering.usage_log import REASONS, reason

    assert [reason(OSError(code, "x")) for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES,
                                                     errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                                                     errno.EIO, errno.EISDIR)] == [
        "no_space", "no_space", "file_too_large", "not_writable", "not_writable", "not_writable", "no_directory",
        "no_directory", "other", "other"]
    assert set(REASONS) == {"no_space", "file_too_large", "not_writable", "no_directory", "other"}


SHORT_WRITE = """
import errno, json, resource, signal, sys
from pathlib import Path
from adapter.metering.usage_log import append_line
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # CPython ignores it at start already (else the limit kills)
path = Path(sys.argv[1])
append_line(path, {"n": 1})
size = path.stat().st_size
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))  # room for 10 bytes of the next line only
outcome = []
for n in (2, 3):
    try:
        append_line(path, {"n": n, "pad": "x" * 40})
        outcome.append("written")
    except OSError as error:
        outcome.append(errno.errorcode[error.errno])
outcome.append(path.stat().st_size == size)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
append_line(path, {"n": 4})
print(json.dumps(outcome))
"""


def test_a_line_cut_short_by_the_file_size_limit_is_removed_so_the_next_line_starts_on_its_own(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "usage.jsonl"
    source = str(Path(__file__).resolve().parents[4] / "src")
    result = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(path)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": source})
    assert result.returncode == 0, result.stderr
    # The first line over the limit is a short write (10 bytes), undone; the next one cannot start at all.
    assert json.loads(result.stdout) == ["EFBIG", "EFBIG", True]
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 4]


APPENDER = """
import sys, time
from pathlib import Path
from adapter.metering.usage_log import append_line
path, writer, lines = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(path.parent / f"ready-{writer}").touch()
while not (path.parent / "go").exists():  # all writers start together, so that their lines meet
    time.sleep(0.01)
for n in range(lines):
    append_line(path, {"writer": writer, "n": n, "pad": "x" * (n * 37 % 600)})
"""


def test_lines_appended_by_several_processes_at_once_are_each_whole(tmp_path):
    import subprocess
    import sys
    import time

    path, writers, lines = tmp_path / "usage.jsonl", 2, 20000
    source = str(Path(__file__).resolve().parents[4] / "src")
    processes = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(writer), str(lines)],
                                  env={**os.environ, "PYTHONPATH": source}) for writer in range(writers)]
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("ready-*"))) < writers and time.monotonic() < deadline:
            time.sleep(0.05)
        (tmp_path / "go").touch()
        assert [process.wait(timeout=120) for process in processes] == [0] * writers
    finally:
        for process in processes:
            process.kill()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((record["writer"], record["n"]) for record in records) == sorted(
        (str(writer), n) for writer in range(writers) for n in range(lines))
    # The writers took turns: their lines are mixed in the file, not one block after the other.
    turns = sum(before["writer"] != after["writer"] for before, after in zip(records, records[1:]))
    assert turns > writers, "the writers did not meet: start them closer together"


def test_lines_copied_to_a_service_log_are_put_back_into_their_days_file_once(tmp_path, monkeypatch, capsys):
    from adapter.metering.__main__ import main
    from adapter.metering.usage_log import LOST_PREFIX

    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    written, lost, next_day = (usage_line({**SUCCESS, "litellm_call_id": name}, when) for name, when in (
        ("written", NOW), ("lost", NOW), ("next-day", NOW.replace(day=24))))
    append_line(usage_file(log_dir, NOW), written)
    service_log = tmp_path / "litellm_proxy.log"
    service_log.write_text(
        "INFO: started\n"
        f"Dec 07 13:00:00 host python[41]: {LOST_PREFIX}{json.dumps(lost)}\n"  # journald's stamp before it
        f"{LOST_PREFIX}{json.dumps(next_day)}\n"
        f"{LOST_PREFIX}{json.dumps(written)}\n")  # copied, yet written after all: not twice
    monkeypatch.setenv("LOG_DIR", str(log_dir))
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "no.env"))

    assert main(["recover", str(service_log)]) == 0
    assert capsys.readouterr().out == f"2 usage line(s) added to {log_dir}, 1 already there\n"
    assert main(["recover", str(service_log)]) == 0  # run again: nothing more
    assert capsys.readouterr().out == f"0 usage line(s) added to {log_dir}, 3 already there\n"
    assert [json.loads(line)["request_id"] for line in usage_file(log_dir, NOW).read_text().splitlines()] == [
        "written", "lost"]
    assert [json.loads(line) for line in usage_file(log_dir, NOW.replace(day=24)).read_text().splitlines()] == [
        next_day]

    service_log.write_text(f"{LOST_PREFIX}{json.dumps(lost)[:40]}\n")  # cut short by the log's collector
    assert main(["recover", str(service_log)]) == 1
    assert "1 unreadable" in capsys.readouterr().out
    assert main(["recover", str(tmp_path / "missing.log")]) == 2
    assert "cannot read or write" in capsys.readouterr().err


def test_the_summary_leaves_out_a_line_that_is_not_whole_and_says_where(tmp_path, capsys):
    from adapter.metering.__main__ import read_lines

    path = usage_file(tmp_path, NOW)
    append_line(path, usage_line(SUCCESS, NOW))
    with path.open("a") as handle:
        handle.write('{"time":"2026-11-23T18:05:02.000+00:00","request_id":"cut-sh\n\n')
    append_line(path, usage_line(SUCCESS, NOW))
    assert len(read_lines(tmp_path)) == 2
    assert capsys.readouterr().err == f"{path}:2: not a usage line (a torn write?), left out\n"
