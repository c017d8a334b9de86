"""Every entry point refuses bad input with one clear line and a non-zero exit, never a traceback; and
`python -m pipeline check` tells a data-team member what a file would give before it goes into raw/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, isolated_env
from tests.hostile_files import write_hostile

DAGSTER = Path(sys.executable).with_name("dagster")
UNWRITABLE = "/proc/pipeline-test/warehouse.duckdb"  # no one may create a folder there, not even root


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory) -> Path:
    from tests.constructed import build_constructed

    raw = tmp_path_factory.mktemp("entry_raw")
    build_constructed(raw)
    return raw


def _pipeline(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _in_process(env, monkeypatch, capsys, *args):
    """The command through `main` in this process (what `python -m pipeline` runs, without its start-up)."""
    from pipeline.__main__ import main

    for name in ("RAW_DIR", "WAREHOUSE_PATH", "DAGSTER_HOME", *(k for k in env if k.startswith(("READER_", "FIGURE_", "DUCKDB_",
                                                                                                "ORGANIZATION_")))):
        monkeypatch.setenv(name, env[name])
    code = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def _one_clear_line(done, fragment, code=2):
    assert done.returncode == code, (done.returncode, done.stdout[-1000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lỗi: ") and fragment in lines[0], done.stderr


@pytest.fixture()
def env(small_raw, tmp_path):
    return isolated_env(tmp_path, small_raw)


def _not_duckdb(tmp_path) -> str:
    path = tmp_path / "notes.duckdb"
    path.write_text("ghi chú của phòng, không phải cơ sở dữ liệu\n" * 50, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("args, fragment", [
    (["explain", "2020-Q9", "ca.active"], "không phải mã quý (dạng YYYY-Qn, ví dụ 2020-Q2): “2020-Q9”"),
    (["run", "2020-Q5"], "không phải mã quý"),
    (["backfill", "2020-Q5", "2020-Q6"], "không phải mã quý"),
    (["backfill", "2020-Q2", "2020-Q1"], "2020-Q2 ở sau 2020-Q1: hãy ghi quý sớm hơn trước"),
    (["run", "2099-Q1"], "2099-Q1 không phải quý mà pipeline chạy được"),
    (["run", "2020-Q2", "--amend", " "], "cần ghi lý do sau --amend"),
    (["run", "--amend", "sửa số liệu"], "--amend cần ghi QUÝ được sửa đổi"),
    (["sample", "--only", "ioffice"], "--only “ioffice”: cần có --variant"),
    (["run", "2019-Q3"], "2019-Q3 không tồn tại (các thư mục quý trong "),
    (["history", "2020-Q5"], "không phải mã quý"),
    (["check", "no/such/file.xlsx"], "no/such/file.xlsx: không có tệp hay thư mục nào như vậy"),
])
def test_a_bad_argument_is_one_clear_line(env, monkeypatch, capsys, args, fragment):
    _one_clear_line(_in_process(env, monkeypatch, capsys, *args), fragment)


COMMANDS = ["sample", "run", "backfill", "explain", "history", "sign", "sql", "check", "upgrade-warehouse",
            "latest-quarter", "users", "serve", "release-stale-runs"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS), ["users", "add"]])
def test_every_help_is_worded_in_vietnamese(command, capsys):
    from pipeline.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and out.startswith("cách dùng: python -m pipeline")
    assert "in hướng dẫn này rồi thoát" in out and "tùy chọn:" in out
    for english in ("usage:", "options:", "positional arguments", "show this help", "default:"):
        assert english not in out, english
    if not command:
        assert all(name in out for name in COMMANDS)


@pytest.mark.parametrize("args, refusal", [
    (["sign", "2020-Q2"], "lỗi: thiếu tham số bắt buộc: --by"),
    (["sign", "2020-Q2", "--by"], "lỗi: tham số --by: cần một giá trị"),
    (["serve", "--port", "x"], "lỗi: tham số --port: giá trị không hợp lệ: 'x'"),
    (["nope"], "lỗi: tham số LỆNH: lựa chọn không hợp lệ: 'nope' (chọn một trong: 'sample', 'run', "),
    (["run", "2020-Q2", "extra"], "lỗi: không hiểu các tham số: extra"),
    (["history", "2020-Q2", "--diff", "1"], "lỗi: tham số --diff: cần 2 giá trị"),
    ([], "lỗi: thiếu tham số bắt buộc: LỆNH"),
])
def test_a_command_line_argparse_cannot_read_is_refused_in_vietnamese_after_the_usage(args, refusal, capsys):
    from pipeline.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and err[0].startswith("cách dùng: python -m pipeline") and err[-1].startswith(refusal)


def test_a_bad_argument_is_one_clear_line_from_the_real_command(env):
    _one_clear_line(_pipeline(env, "explain", "2020-Q9", "ca.active"), "không phải mã quý")


@pytest.mark.parametrize("setting, value, fragment", [
    ("RAW_DIR", "/no/such/raw", "vùng tiếp nhận /no/such/raw (RAW_DIR) không tồn tại hoặc chưa được gắn (mount)"),
    ("WAREHOUSE_PATH", UNWRITABLE, "không ghi được vào thư mục kho dữ liệu /proc/pipeline-test (WAREHOUSE_PATH=" + UNWRITABLE + ")"),
    ("WAREHOUSE_PATH", "not-duckdb", "không phải cơ sở dữ liệu DuckDB"),
    ("READER_MEMORY_LIMIT", "lots", "READER_MEMORY_LIMIT=“lots” không phải một dung lượng"),
    ("FIGURE_CHANGE_ALERT", "half", "FIGURE_CHANGE_ALERT=“half” không phải một tỷ lệ dương"),
    ("DUCKDB_MEMORY_LIMIT", "plenty", "DUCKDB_MEMORY_LIMIT=“plenty” không phải một dung lượng bộ nhớ"),
    ("ORGANIZATION_PROFILE", "/no/such/profile.toml", "không đọc được hồ sơ cơ quan /no/such/profile.toml"),
])
def test_run_refuses_a_bad_setting_in_one_line_before_dagster_starts(env, tmp_path, monkeypatch, capsys, setting,
                                                                    value, fragment):
    env[setting] = _not_duckdb(tmp_path) if value == "not-duckdb" else value
    done = _in_process(env, monkeypatch, capsys, "run", "2020-Q2")
    _one_clear_line(done, fragment)
    assert "đang chạy" not in done.stdout


def test_explain_and_history_name_a_warehouse_that_is_not_duckdb_or_missing(env, tmp_path, monkeypatch, capsys):
    _one_clear_line(_in_process(env, monkeypatch, capsys, "explain", "2020-Q2", "ca.active"), "không có kho dữ liệu tại ")
    _one_clear_line(_in_process(env, monkeypatch, capsys, "history", "2020-Q2"), "không có kho dữ liệu tại ")
    env["WAREHOUSE_PATH"] = _not_duckdb(tmp_path)
    _one_clear_line(_in_process(env, monkeypatch, capsys, "explain", "2020-Q2", "ca.active"), "không phải cơ sở dữ liệu DuckDB")
    _one_clear_line(_in_process(env, monkeypatch, capsys, "history", "2020-Q2"), "không phải cơ sở dữ liệu DuckDB")


def test_an_unexpected_error_is_one_line_naming_the_file_with_its_details(env, monkeypatch, capsys):
    import pipeline.cli.history

    monkeypatch.setattr(pipeline.cli.history, "history", lambda *a: 1 / 0)
    done = _in_process(env, monkeypatch, capsys, "history", "2020-Q2")
    _one_clear_line(done, "lệnh `history` dừng vì một lỗi không lường trước: ZeroDivisionError: division by zero (chi tiết trong ", code=1)
    report = Path(done.stderr.split("(chi tiết trong ")[1].rstrip(")\n"))
    assert "ZeroDivisionError" in report.read_text() and "Traceback" in report.read_text()


def test_make_run_refuses_a_quarter_that_does_not_exist(env):
    done = subprocess.run(["make", "--no-print-directory", "run", "QUARTER=2020-Q5"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert "lỗi: không phải mã quý (dạng YYYY-Qn, ví dụ 2020-Q2): “2020-Q5”" in done.stderr.splitlines()[0]


@pytest.mark.parametrize("setting, fragment", [
    ("RAW_DIR", "(RAW_DIR) không tồn tại hoặc chưa được gắn (mount); không đọc hay ghi gì cả"),
    ("WAREHOUSE_PATH", "không phải cơ sở dữ liệu DuckDB"),
])
def test_the_assets_fail_with_a_plain_reason_when_dagster_launches_them(env, tmp_path, setting, fragment):
    env[setting] = "/no/such/raw" if setting == "RAW_DIR" else _not_duckdb(tmp_path)
    done = subprocess.run([str(DAGSTER), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*",
                           "--partition", "2020-Q2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    # Dagster's own CLI prints the step's stack after the reason (its format); the reason reads plainly
    reasons = {line for line in done.stderr.splitlines() if line.startswith("dagster._core.definitions.events.Failure: ")}
    assert len(reasons) == 1 and fragment in reasons.pop(), done.stderr[-3000:]


# --- python -m pipeline check -------------------------------------------------------------------------------


def test_check_tells_format_sheets_tables_rows_and_findings_per_file(env, small_raw):
    done = _pipeline(env, "check", str(small_raw / "2020-Q2" / "mail"), str(small_raw / "2020-Q2" / "ioffice"))
    assert done.returncode == 1, done.stderr  # `thieu cot.xlsx` lacks a required column
    out = done.stdout
    assert "mail/mail.xlsx\n  định dạng: xlsx;" in out and "trang tính: “HT”" in out
    assert "trang tính “HT”: bảng mailboxes (Danh sách hộp thư công vụ), đọc được 4 dòng\n  => sẽ được nạp\n" in out
    assert "dòng tiêu đề giống bảng “Danh sách hộp thư công vụ” nhưng thiếu cột bắt buộc “Ngày tạo”" in out
    assert "mail/hong.xlsx\n  định dạng: xlsx; 23 byte" in out and "tệp xlsx bị hỏng" in out
    assert "trang tính “Hướng dẫn”: không chứa bảng nào của đặc tả (bỏ qua)" in out
    assert "CẢNH BÁO  outside_quarter trang tính “VB” dòng 3" in out  # dated 30/03/2020, under 2020-Q2
    assert ("LỖI       invalid_row trang tính “VB” dòng 6: bảng “Sổ văn bản”: cột “Ngày văn bản”: “31/02/2020” không phải là "
            "ngày") in out
    assert "=> sẽ được nạp, nhưng có dòng hoặc trang tính bị TỪ CHỐI" in out
    assert out.rstrip().endswith("đã kiểm tra 4 tệp, 3 tệp có phần bị từ chối")


def test_check_of_good_files_exits_zero(env, small_raw):
    done = _pipeline(env, "check", str(small_raw / "2020-Q1"))
    assert done.returncode == 0, done.stdout
    assert "đã kiểm tra 3 tệp, 0 tệp có phần bị từ chối" in done.stdout


def test_check_survives_every_hostile_file_and_names_its_reason(env, tmp_path):
    paths = write_hostile(tmp_path / "hostile")
    done = _pipeline(env, "check", *map(str, paths), timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    blocks = done.stdout.split("\n/")
    assert len(blocks) == len(paths)
    for path, block in zip(paths, blocks):
        assert path.name in block.splitlines()[0]
        assert "=> sẽ bị TỪ CHỐI" in block or "=> sẽ bị bỏ qua" in block, block
    assert "việc đọc cần nhiều bộ nhớ hơn giới hạn" in done.stdout


# --- make run: every quarter without figures, oldest first, then the latest; a summary each ---------------------


def test_run_materializes_each_new_quarter_oldest_first_and_summarizes_it(env, small_raw):
    first = _pipeline(env, "run", timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert " - DEBUG - " not in out and out.index("[1/2] đang chạy 2020-Q1 …") < out.index("[2/2] đang chạy 2020-Q2 …")
    assert "[2/2] 2020-Q2: xong" in out
    q2 = out[out.index("2020-Q2: xong trong "):]
    import duckdb

    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    nulls = conn.execute("SELECT count(*) FROM indicators WHERE quarter = '2020-Q2' AND value IS NULL").fetchone()[0]
    counts = dict(conn.execute("SELECT severity, count(*) FROM findings WHERE quarter = '2020-Q2' GROUP BY 1").fetchall())
    most = conn.execute("SELECT check_id FROM findings WHERE quarter = '2020-Q2' ORDER BY CASE severity WHEN 'error' "
                        "THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, source, file, sheet, row LIMIT 3").fetchall()
    conn.close()
    assert f"  số liệu: 57 đã tính, {nulls} để trống (NULL) (ioffice." in q2
    assert (f"  phát hiện: {counts['error']} lỗi, {counts['warning']} cảnh báo, {counts.get('info', 0)} thông tin"
            in q2)
    shown = [line.split(":")[0].split()[-1] for line in q2.splitlines() if line.startswith("    ")][:3]
    assert shown == [c for (c,) in most] and q2.splitlines()[3].split()[0] == "LỖI"
    assert "  phụ lục:  " in q2 and "phu-luc-2020-Q2.xlsx" in q2
    report = Path(q2.split("báo cáo:  ")[1].split(" (bản dự thảo")[0])
    assert report.name == "bao-cao-2020-Q2.docx" and report.is_file()
    log = Path(q2.split("nhật ký Dagster: ")[1].splitlines()[0])
    assert log.is_file() and " - DEBUG - " in log.read_text()
    again = _pipeline(env, "run", timeout=900)  # 2020-Q1 has figures now: only the latest runs again
    assert again.returncode == 0 and "[1/1] đang chạy 2020-Q2 …" in again.stdout and "2020-Q1" not in again.stdout
    assert "  v2: không số liệu nào thay đổi so với phiên bản trước" in again.stdout


def test_a_warehouse_path_that_is_a_folder_is_refused_before_dagster_starts(env, tmp_path):
    env["WAREHOUSE_PATH"] = str(tmp_path / "wh" / "w.duckdb")
    Path(env["WAREHOUSE_PATH"]).mkdir(parents=True)
    done = _pipeline(env, "run", "2020-Q1", timeout=600)
    _one_clear_line(done, "là một thư mục, không phải tệp cơ sở dữ liệu")


def test_a_failed_run_shows_its_errors_in_full_without_the_debug_lines(tmp_path):
    from pipeline.cli.runner import failure_text

    log = tmp_path / "run.log"
    log.write_text("\n".join([
        "2026-12-03 - dagster - DEBUG - __ASSET_JOB - 1 - RUN_START - Started execution of run",
        "2026-12-03 - dagster - ERROR - __ASSET_JOB - 1 - ingest_mail - STEP_FAILURE - Execution of step failed.",
        "", "dagster._core.definitions.events.Failure: the landing zone x (RAW_DIR) does not exist", "",
        "Stack Trace:", '  File "assets/ingest/assets.py", line 139, in ingest',
        "2026-12-03 - dagster - DEBUG - __ASSET_JOB - 1 - ENGINE_EVENT - Finished steps",
        "2026-12-03 - dagster - ERROR - __ASSET_JOB - 1 - RUN_FAILURE - Execution of run failed.",
    ]), encoding="utf-8")
    shown = failure_text(log).splitlines()
    assert shown[0].endswith("STEP_FAILURE - Execution of step failed.") and shown[-1].endswith("Execution of run failed.")
    assert "dagster._core.definitions.events.Failure: the landing zone x (RAW_DIR) does not exist" in shown
    assert not [line for line in shown if " - DEBUG - " in line] and len(shown) == 7
