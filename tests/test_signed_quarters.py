"""Signed means signed: a signed quarter is locked, amended only on purpose, and every version of it stays
traceable to its rows and files (the lake, the archive), whatever happens to raw/ afterwards.

The story an auditor lives, on the constructed quarters (small: every step runs in seconds): 2020-Q2 is run
and signed; an agency re-sends its document register with one record changed and another file is withdrawn;
the quarter is amended from the command line; the signed version is still explained row by row, the diff
names exactly what changed, the signed annex and draft are untouched, and all of that survives deleting the
quarter's raw folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import openpyxl
import pytest

from pipeline.__main__ import main
from pipeline.lib import lake
from pipeline.lib.archive import archived
from pipeline.lib.reader import sha256_of
from tests.conftest import ROOT, isolated_env, materialize_quarter, snapshot

QUARTER = "2020-Q2"
SIGNER = "Nguyễn Văn Thành"


def cli(monkeypatch, capsys, env: dict, *argv: str) -> tuple[int, str, str]:
    """`python -m pipeline ARGV` in this process (the CLI's own entry point), with `env`'s paths."""
    for name in ("WAREHOUSE_PATH", "RAW_DIR", "DAGSTER_HOME"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("OUTPUTS_DIR", raising=False)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def resend_document_register(raw: Path) -> None:
    """The agency re-sends ioffice/vb.xlsx with document 1/SYT now unsigned ("Ký số": Không)."""
    path = raw / QUARTER / "ioffice" / "vb.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["VB"]
    row = next(r for r in sheet.iter_rows() if r[0].value == "1/SYT")
    assert row[4].value == "Có"
    row[4].value = "Không"
    book.save(path)


@pytest.fixture(scope="module")
def story(tmp_path_factory, request):
    """Run both constructed quarters, then 2020-Q2 is signed; returns the environment and what each step saw."""
    from tests.constructed import build_constructed

    root = tmp_path_factory.mktemp("signed")
    build_constructed(root / "raw")
    env = isolated_env(root, root / "raw")
    warehouse = Path(env["WAREHOUSE_PATH"])
    for quarter in ("2020-Q1", QUARTER):
        assert materialize_quarter(root / "raw", warehouse, quarter).success
    return {"root": root, "env": env, "warehouse": warehouse, "raw": root / "raw", "outputs": warehouse.parent / "outputs"}


@pytest.fixture(scope="module")
def signed(story):
    """2020-Q2 signed over its ERROR findings (the constructed quarter has some, on purpose)."""
    from pipeline.cli.sign import sign

    refused = None
    try:
        sign(str(story["warehouse"]), str(story["outputs"]), QUARTER, SIGNER, "ký gửi UBND tỉnh", accept_errors=False)
    except Exception as exc:  # noqa: BLE001 - kept to assert on
        refused = exc
    text = sign(str(story["warehouse"]), str(story["outputs"]), QUARTER, SIGNER, "ký gửi UBND tỉnh", accept_errors=True)
    with lake.reading(story["warehouse"]) as conn:
        signoff = lake.current_signoff(conn, QUARTER)
    return {**story, "refused": refused, "text": text, "signoff": signoff}


def test_signing_over_error_findings_is_refused_without_accept_errors(signed):
    from pipeline.cli.sign import SignError

    assert isinstance(signed["refused"], SignError)
    assert "phát hiện LỖI" in str(signed["refused"]) and "--accept-errors" in str(signed["refused"])


def test_a_sign_off_records_who_when_the_note_the_version_and_the_outputs_it_signs(signed):
    signoff = signed["signoff"]
    assert signoff["quarter"] == QUARTER and signoff["version"] == 1 and signoff["signed_by"] == SIGNER
    assert signoff["note"] == "ký gửi UBND tỉnh"
    assert abs(signoff["signed_at"] - dt.datetime.now()) < dt.timedelta(minutes=30)
    assert signoff["accepted_errors"] is True and signoff["error_findings"] > 0
    kept = signed["outputs"] / QUARTER / "signed" / "v1"
    for kind, name in (("annex", f"phu-luc-{QUARTER}.xlsx"), ("draft", f"bao-cao-{QUARTER}.docx")):
        assert Path(signoff[f"{kind}_file"]) == kept / name
        assert sha256_of(kept / name) == signoff[f"{kind}_sha256"]
        assert not (kept / name).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with lake.reading(signed["warehouse"]) as conn:
        published = lake.published_versions(conn, QUARTER)[0]
    assert (published["annex_sha256"], published["draft_sha256"]) == (signoff["annex_sha256"], signoff["draft_sha256"])


def test_sign_refuses_bad_input_in_one_line_with_exit_status_two(signed, monkeypatch, capsys):
    env = signed["env"]
    for argv, words in ((["sign", "2020-Q5", "--by", "A"], "không phải mã quý"),
                        (["sign", "2021-Q1", "--by", "A"], "2021-Q1 chưa từng được chạy"),
                        (["sign", QUARTER, "--by", "A"], f"{QUARTER} đã được ký rồi: phiên bản 1 của {QUARTER}"),
                        (["sign", "2020-Q1", "--by", "  "], "--by cần tên người ký")):
        code, out, err = cli(monkeypatch, capsys, env, *argv)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, argv


def test_history_rows_without_diff_is_refused_in_one_line(signed, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, signed["env"], "history", QUARTER, "--rows", "x.csv")
    assert code == 2 and "--rows đi cùng --diff" in err and len(err.strip().splitlines()) == 1


def test_history_shows_which_version_is_signed(signed, monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, signed["env"], "history", QUARTER)
    assert code == 0
    assert f"ĐÃ KÝ: phiên bản 1 của {QUARTER} đã được {SIGNER} ký lúc " in out
    assert any(line.strip().startswith("v1 ") and f"[ĐÃ KÝ: {SIGNER}, " in line for line in out.splitlines())


def test_history_finds_the_signed_files_where_the_outputs_folder_now_is(signed, tmp_path):
    """The sign-off records the folder the signed annex and draft were kept in; after the outputs were moved or
    restored elsewhere, history names where they are now (and the recorded folder), or says they are not found."""
    from pipeline.cli.history import signed_folder

    signoff, kept = signed["signoff"], Path("signed") / "v1"
    assert signed_folder(signoff, str(signed["outputs"]), QUARTER) == str(signed["outputs"] / QUARTER / kept)
    moved = tmp_path / "restored" / "outputs"
    shutil.copytree(signed["outputs"], moved)
    recorded = tmp_path / "gone" / QUARTER / kept
    elsewhere = {**signoff, "annex_file": str(recorded / Path(signoff["annex_file"]).name)}
    assert signed_folder(elsewhere, str(moved), QUARTER) == f"{moved / QUARTER / kept} (hồ sơ ký ghi {recorded})"
    assert signed_folder(elsewhere, str(tmp_path / "empty"), QUARTER) == (
        f"{recorded} (không có ở đó, cũng không có trong {tmp_path / 'empty' / QUARTER / kept})")


def test_the_outputs_name_the_version_they_were_made_from(signed):
    annex = openpyxl.load_workbook(signed["outputs"] / QUARTER / f"phu-luc-{QUARTER}.xlsx")
    for sheet in annex.worksheets:
        assert sheet["A5"].value.endswith("; số liệu quý II năm 2020, phiên bản 1)"), sheet.title
    from docx import Document

    paragraphs = [p.text for p in Document(signed["outputs"] / QUARTER / f"bao-cao-{QUARTER}.docx").paragraphs]
    assert "(số liệu quý II năm 2020, phiên bản 1)" in paragraphs[:4]


@pytest.fixture(scope="module")
def locked(signed):
    """What each way of launching a run of the signed quarter does, and what it leaves."""
    before = snapshot(signed["warehouse"], QUARTER)
    with lake.reading(signed["warehouse"]) as conn:
        snapshots = conn.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
    in_process = materialize_quarter(signed["raw"], signed["warehouse"], QUARTER, raise_on_error=False)
    contract = subprocess.run([str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m",
                               "pipeline.definitions", "--select", "*", "--partition", QUARTER],
                              cwd=ROOT, env=signed["env"], capture_output=True, text=True, timeout=300)
    with lake.reading(signed["warehouse"]) as conn:
        snapshots_after = conn.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
    return {**signed, "in_process": in_process, "contract": contract, "unchanged": before == snapshot(signed["warehouse"], QUARTER),
            "snapshots": (snapshots, snapshots_after)}


def test_a_run_of_a_signed_quarter_fails_at_its_first_step_before_anything_is_written(locked):
    run = locked["in_process"]
    assert not run.success
    failures = [e for e in run.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["ingest_agencies"]  # the first step; every other step was skipped
    message = failures[0].step_failure_data.user_failure_data.description
    assert f"đã được {SIGNER} ký" in message and "--amend" in message and "amend_reason" in message
    assert not [e for e in run.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    assert locked["unchanged"] and locked["snapshots"][0] == locked["snapshots"][1]


def test_the_contract_command_on_a_signed_quarter_fails_with_who_signed_and_how_to_amend(locked):
    contract = locked["contract"]
    assert contract.returncode != 0
    assert f"{QUARTER} đã được ký: phiên bản 1 của {QUARTER} đã được {SIGNER} ký" in contract.stdout + contract.stderr


def test_the_command_line_refuses_a_signed_quarter_in_one_line_and_make_run_leaves_it(locked, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, locked["env"], "run", QUARTER)
    assert code == 2 and f"đã được {SIGNER} ký" in err and "--amend" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(monkeypatch, capsys, locked["env"], "run", "2020-Q1", "--amend", "x")
    assert code == 2 and "2020-Q1 chưa được ký nên không có gì để sửa đổi" in err
    from pipeline.cli.preflight import unsigned

    assert unsigned(["2020-Q1", QUARTER], str(locked["warehouse"])) == ["2020-Q1"]
    assert f"{QUARTER}: để nguyên vì đã ký (phiên bản 1" in capsys.readouterr().out


def test_the_schedule_skips_a_signed_quarter(locked):
    from zoneinfo import ZoneInfo

    from pipeline.orchestration.resources import WarehouseResource
    from pipeline.orchestration.schedules import TIMEZONE, quarterly_report_schedule

    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2020, 7, 10, 8, tzinfo=ZoneInfo(TIMEZONE)),
                                        resources={"duckdb": WarehouseResource(database=str(locked["warehouse"]))})
    result = quarterly_report_schedule(context)
    assert isinstance(result, dg.SkipReason) and f"{QUARTER} đã được ký (phiên bản 1" in result.skip_message


@pytest.fixture(scope="module")
def amended(locked):
    """The sensor's view of the re-sent files, then the amendment from the command line (`run --amend`)."""
    from pipeline.orchestration.resources import PipelinePaths, WarehouseResource
    from pipeline.orchestration.schedules import raw_exports_sensor

    resources = {"paths": PipelinePaths(raw_dir=str(locked["raw"]), outputs_dir=str(locked["outputs"])),
                 "duckdb": WarehouseResource(database=str(locked["warehouse"]))}
    first = dg.build_sensor_context(resources=resources)
    raw_exports_sensor(first)
    resend_document_register(locked["raw"])
    (locked["raw"] / QUARTER / "dvc" / "t5.xls").unlink()
    tick = dg.build_sensor_context(cursor=first.cursor, resources=resources)
    sensed = raw_exports_sensor(tick)
    reason = "Sở Y tế gửi lại sổ văn bản; bỏ tệp t5.xls gửi nhầm"
    amend = subprocess.run([sys.executable, "-m", "pipeline", "run", QUARTER, "--amend", reason], cwd=ROOT,
                           env=locked["env"], capture_output=True, text=True, timeout=600)
    return {**locked, "sensed": sensed, "amend": amend, "reason": reason}


def test_the_sensor_names_the_files_changed_under_a_signed_quarter_and_skips_it(amended):
    sensed = amended["sensed"]
    assert isinstance(sensed, dg.SkipReason)
    assert f"{QUARTER} đã được ký (phiên bản 1" in sensed.skip_message
    assert "ioffice/vb.xlsx (thay)" in sensed.skip_message and "dvc/t5.xls (bỏ)" in sensed.skip_message


def test_an_amendment_is_a_new_version_linked_to_the_signed_one_and_not_signed(amended, monkeypatch, capsys):
    assert amended["amend"].returncode == 0, amended["amend"].stderr
    assert "dưới dạng sửa đổi" in amended["amend"].stdout and f"ĐÃ KÝ: phiên bản 1 của {QUARTER}" in amended["amend"].stdout
    with lake.reading(amended["warehouse"]) as conn:
        versions = lake.published_versions(conn, QUARTER)
        signoff = lake.current_signoff(conn, QUARTER)
    assert [v["version"] for v in versions] == [1, 2]
    assert (versions[1]["amendment_of"], versions[1]["amend_reason"]) == (1, amended["reason"])
    assert signoff["version"] == 1
    code, out, _ = cli(monkeypatch, capsys, amended["env"], "history", QUARTER)
    assert code == 0 and f"[sửa đổi bản đã ký v1: {amended['reason']}]" in out
    annex = openpyxl.load_workbook(amended["outputs"] / QUARTER / f"phu-luc-{QUARTER}.xlsx")
    assert annex.worksheets[0]["A5"].value.endswith(
        f"phiên bản 2, sửa đổi phiên bản 1 đã ký (lý do: {amended['reason']}))")
    from docx import Document

    paragraphs = [p.text for p in Document(amended["outputs"] / QUARTER / f"bao-cao-{QUARTER}.docx").paragraphs]
    assert f"(số liệu quý II năm 2020, phiên bản 2, sửa đổi phiên bản 1 đã ký (lý do: {amended['reason']}))" in paragraphs[:4]


def test_the_signed_annex_and_draft_are_unchanged_on_disk(amended):
    signoff = amended["signoff"]
    for kind in ("annex", "draft"):
        assert sha256_of(Path(signoff[f"{kind}_file"])) == signoff[f"{kind}_sha256"]
    current = amended["outputs"] / QUARTER / f"phu-luc-{QUARTER}.xlsx"
    assert sha256_of(current) != signoff["annex_sha256"]


def _explained_rows(monkeypatch, capsys, env, tmp_path, *version) -> list[dict]:
    target = tmp_path / "rows.csv"
    code, out, err = cli(monkeypatch, capsys, env, "explain", QUARTER, "ioffice.documents.signed", *version, "--rows", str(target))
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig")))), out


def test_explaining_the_signed_version_lists_the_signed_rows_with_their_cells(amended, monkeypatch, capsys, tmp_path):
    rows, out = _explained_rows(monkeypatch, capsys, amended["env"], tmp_path, "--version", "signed")
    assert "phiên bản:  1 của 2020-Q2 (ảnh chụp " in out and f"; {SIGNER} ký lúc " in out
    assert [(r["Số ký hiệu"], r["Ký số"], r["row"]) for r in rows] == [("1/SYT", "Có", "2")]
    current, _ = _explained_rows(monkeypatch, capsys, amended["env"], tmp_path)
    assert current == []


def test_the_diff_names_exactly_the_changed_rows_and_files(amended):
    from pipeline.cli.history import version_diff

    text, rows = version_diff(str(amended["warehouse"]), QUARTER, "signed", "2")
    lines = text.splitlines()
    vb = amended["signoff"]  # the files' hashes: the signed version's from its snapshot, the new one on disk
    with lake.reading(amended["warehouse"], vb["snapshot_id"]) as conn:
        signed_files = dict(conn.execute("SELECT path, sha256 FROM raw_files WHERE quarter = ?", [QUARTER]).fetchall())
    new_vb = sha256_of(amended["raw"] / QUARTER / "ioffice" / "vb.xlsx")
    assert f"    thay     ioffice/vb.xlsx  sha256 {signed_files['ioffice/vb.xlsx']} -> {new_vb}" in lines
    assert f"    bỏ       dvc/t5.xls  sha256 {signed_files['dvc/t5.xls']}" in lines
    assert "  tệp: 2 tệp thay đổi:" in lines
    listed = rows[["indicator_id", "change", "Số ký hiệu", "Ký số", "file", "sheet", "row", "sha256"]].to_dict("records")
    assert listed == [{"indicator_id": "ioffice.documents.signed", "change": "removed", "Số ký hiệu": "1/SYT", "Ký số": "Có",
                       "file": "ioffice/vb.xlsx", "sheet": "VB", "row": 2, "sha256": signed_files["ioffice/vb.xlsx"]}]
    assert "  số liệu: 2 số liệu thay đổi:" in lines  # the count and its rate; the total, whose rows are the same, did not change
    assert "    ioffice.documents.signed: 1 -> 0" in lines and "    ioffice.documents.signed_rate: 100 -> 0" in lines


def test_every_table_of_each_version_is_kept_by_the_lake(amended):
    signed = amended["signoff"]["snapshot_id"]
    with lake.reading(amended["warehouse"]) as conn:
        latest = lake.published_versions(conn, QUARTER)[-1]["snapshot_id"]
        for table in ("raw_documents", "stg_documents", "indicator_lineage", "findings", "indicators", "raw_files",
                      "indicator_definitions", "table_loads"):
            for snapshot_id in (signed, latest):
                assert conn.execute(f"SELECT count(*) FROM {table} AT (VERSION => {snapshot_id}) WHERE quarter = ?",
                                    [QUARTER]).fetchone()[0] > 0, (table, snapshot_id)
        cells = conn.execute(f"SELECT signed.text FROM raw_documents AT (VERSION => {signed}) WHERE quarter = ? "
                             "AND number.text = '1/SYT'", [QUARTER]).fetchall()
        assert cells == [("Có",)]


def test_inputs_are_archived_once_by_content_read_only_and_outside_raw(amended):
    with lake.reading(amended["warehouse"], amended["signoff"]["snapshot_id"]) as conn:
        files = conn.execute("SELECT path, sha256 FROM raw_files WHERE quarter = ?", [QUARTER]).fetchall()
    for path, sha256 in files:
        copy = archived(amended["warehouse"], sha256)
        assert copy is not None and sha256_of(copy) == sha256, path
        assert not copy.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert amended["raw"] not in copy.parents
    names = [p.name for p in (amended["warehouse"].parent / "archive").rglob("*") if p.is_file()]
    assert len(names) == len(set(n[:64] for n in names))  # one copy per content


def test_the_signed_version_is_explained_after_the_raw_folder_is_deleted(amended, monkeypatch, capsys, tmp_path):
    shutil.rmtree(amended["raw"] / QUARTER)
    rows, out = _explained_rows(monkeypatch, capsys, amended["env"], tmp_path, "--version", "signed")
    assert [(r["Số ký hiệu"], r["Ký số"]) for r in rows] == [("1/SYT", "Có")]
    assert "không còn trong RAW_DIR; bản lưu: " in out
    copy = Path(out.split("bản lưu: ")[1].split("]")[0])
    assert copy.is_file() and openpyxl.load_workbook(copy)["VB"]["A2"].value == "1/SYT"


def test_sql_reads_any_version_as_csv_and_refuses_to_write(amended, monkeypatch, capsys):
    env = amended["env"]
    code, out, _ = cli(monkeypatch, capsys, env, "sql", "--quarter", QUARTER, "--version", "signed",
                       "SELECT value FROM indicators WHERE quarter = '2020-Q2' AND indicator_id = 'ioffice.documents.signed'")
    assert (code, out.splitlines()) == (0, ["value", "1.0"])
    code, out, _ = cli(monkeypatch, capsys, env, "sql",
                       "SELECT value FROM indicators WHERE quarter = '2020-Q2' AND indicator_id = 'ioffice.documents.signed'")
    assert (code, out.splitlines()) == (0, ["value", "0.0"])
    for query in ("DELETE FROM indicators", "COPY (SELECT 1) TO 'x.csv'", "ATTACH 'x.duckdb'", "SELECT 1; DROP TABLE findings"):
        code, out, err = cli(monkeypatch, capsys, env, "sql", query)
        assert code == 2 and err.startswith("lỗi: bị từ chối: `sql` chỉ đọc") and len(err.strip().splitlines()) == 1, query
    code, _, err = cli(monkeypatch, capsys, env, "sql", "--version", "1", "SELECT 1")
    assert code == 2 and "--quarter" in err
    shell = subprocess.run([sys.executable, "-m", "pipeline", "sql"], cwd=ROOT, env=env, capture_output=True, text=True,
                           input="SELECT count(*) AS versions FROM ducklake_snapshots('lake')\n"
                                 "WHERE json_extract_string(commit_extra_info, '$.kind') = 'version' AND commit_message LIKE '2020-Q2%';\n"
                                 "DROP TABLE findings;\nSELECT 'still here' AS answer;\n", timeout=120)
    assert shell.returncode == 0 and shell.stdout.splitlines() == ["versions", "2", "answer", "still here"]
    assert "lỗi: bị từ chối" in shell.stderr and "SQL chỉ đọc trên " in shell.stderr


READER = """
import sys, time
from pipeline.lib import lake
conn = lake.open_lake(sys.argv[1])
conn.execute("BEGIN TRANSACTION")
count = "SELECT count(*) FROM ducklake_snapshots('lake')"
print(conn.execute(count).fetchone()[0], flush=True)
sys.stdin.readline()
print(conn.execute(count).fetchone()[0], flush=True)
conn.execute("COMMIT")
print(conn.execute(count).fetchone()[0], flush=True)
"""


def test_a_reader_holding_the_warehouse_open_does_not_delay_a_run(amended, tmp_path):
    """An auditor's connection, in a transaction, held through a whole run of another quarter: the run never waits
    on it (no lock, no retry), and the reader keeps its snapshot until it starts a new transaction."""
    reader = subprocess.Popen([sys.executable, "-c", READER, str(amended["warehouse"])], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        before = int(reader.stdout.readline())
        run = materialize_quarter(amended["raw"], amended["warehouse"], "2020-Q1")
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert run.success and reader.returncode == 0, err
    assert not [e for e in run.all_events if "locked" in (e.message or "") or "retry" in (e.message or "")]
    still, after = (int(n) for n in out.split())
    assert still == before < after
