"""No file can crash, exhaust or stall a run: each is read in a child with limits, and what goes wrong in
it becomes the file's finding (pipeline.lib.isolation)."""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.isolation import LimitsError, ReaderLimits, ReadJob, read_file_isolated, read_isolated
from pipeline.lib.tablespecs import SOURCES
from tests.conftest import materialize_quarter
from tests.hostile_files import HOSTILE, write_hostile

LIMITS = ReaderLimits(memory_bytes=4 * 1024**3, timeout_seconds=120, processes=2)


@pytest.fixture(scope="module")
def hostile_outcomes(tmp_path_factory):
    paths = write_hostile(tmp_path_factory.mktemp("hostile"))
    jobs = [ReadJob(p, f"mail/{p.name}", "mail", SOURCES["mail"]) for p in paths]
    return {o.job.path.name: o.result for o in read_isolated(jobs, LIMITS)}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_is_a_finding_naming_it_and_the_reason(hostile_outcomes, name):
    result = hostile_outcomes[name]
    assert result.outcome in ("rejected", "ignored"), result.outcome
    assert result.findings and all(f.file == f"mail/{name}" for f in result.findings)
    if result.outcome == "rejected":
        assert result.findings[0].check_id == "unreadable_file" and result.findings[0].severity == "error"
        assert HOSTILE[name][1] in result.findings[0].message.lower(), result.findings[0].message
    else:  # read without harm and found to hold no table
        assert {f.check_id for f in result.findings} == {"sheet_ignored"}


def test_a_native_abort_names_the_allocation_it_attempted(hostile_outcomes):
    message = hostile_outcomes["far_cell_no_dimension.xlsx"].findings[0].message
    assert "cần nhiều bộ nhớ hơn giới hạn 4 GB của trình đọc" in message and "một lần xin 512 GB" in message


def test_a_file_past_the_time_limit_is_stopped_and_named(tmp_path):
    path = HOSTILE["far_cell.xls"][0](tmp_path / "slow.xls")  # about a second of dense-range building
    result = read_file_isolated(path, "mail/slow.xls", "mail", SOURCES["mail"],
                                ReaderLimits(4 * 1024**3, timeout_seconds=0.2, processes=1))
    assert result.outcome == "rejected"
    assert "không xong trong 0,2 giây (READER_TIMEOUT_SECONDS)" in result.findings[0].message


def test_a_file_past_the_memory_cap_is_stopped_and_named(tmp_path):
    path = HOSTILE["far_cell.xls"][0](tmp_path / "big.xls")  # 16.7 M cells: over half a gigabyte
    result = read_file_isolated(path, "mail/big.xls", "mail", SOURCES["mail"],
                                ReaderLimits(600 * 1024**2, timeout_seconds=60, processes=1))
    assert result.outcome == "rejected"
    assert "nhiều bộ nhớ hơn giới hạn 600 MB của trình đọc (READER_MEMORY_LIMIT)" in result.findings[0].message


def test_results_come_back_in_the_order_of_the_jobs_whatever_finishes_first(sample_raw):
    folder = sample_raw / "2020-Q2"
    paths = [folder / "dvc" / "bao cao thang 4.xls", folder / "iso" / "ISO dien tu.xlsx",
             folder / "mail" / "Danh sach hop thu 03072020.xlsx"]
    jobs = [ReadJob(p, p.name, p.parent.name, SOURCES[p.parent.name]) for p in paths]
    outcomes = list(read_isolated(jobs, LIMITS))
    assert [o.job.path for o in outcomes] == paths
    assert all(o.result.outcome == "loaded" and o.result.rows_read for o in outcomes)


@pytest.mark.parametrize("variable, value, message", [
    ("READER_MEMORY_LIMIT", "lots", "không phải một dung lượng"),
    ("READER_MEMORY_LIMIT", "10MB", "nhỏ hơn 64MB"),
    ("READER_TIMEOUT_SECONDS", "-1", "không phải một số giây dương"),
    ("READER_PROCESSES", "two", "không phải một số nguyên dương"),
])
def test_a_bad_reader_limit_in_the_environment_is_one_clear_error(variable, value, message):
    with pytest.raises(LimitsError, match=f"{variable}=“{value}” .*{message}"):
        ReaderLimits.from_env({variable: value})


def test_reader_limits_accept_the_usual_spellings():
    assert ReaderLimits.from_env({"READER_MEMORY_LIMIT": "1.5 GiB"}).memory_bytes == int(1.5 * 1024**3)
    assert ReaderLimits.from_env({"READER_MEMORY_LIMIT": "512MB", "READER_PROCESSES": "1"}) == ReaderLimits(
        512 * 1024**2, 300.0, 1)


# --- a whole quarter with hostile files beside the agencies' exports --------------------------------------


@pytest.fixture(scope="module")
def hostile_quarter(sample_raw, tmp_path_factory):
    raw = tmp_path_factory.mktemp("hostile_raw")
    shutil.copytree(sample_raw / "2020-Q2", raw / "2020-Q2")
    planted = [f"mail/{p.name}" for p in write_hostile(raw / "2020-Q2" / "mail")]
    for source in ("ioffice", "dvc", "certificates"):  # several at once, in folders whose figures matter most
        planted += [f"{source}/{p.name}" for p in write_hostile(raw / "2020-Q2" / source, {
            "far_cell_no_dimension.xlsx", "shared_string_count_bomb.xlsx", "far_cell_second_sheet.xlsx", "far_cell.xls"})]
    warehouse = tmp_path_factory.mktemp("hostile_wh") / "warehouse.duckdb"
    assert materialize_quarter(raw, warehouse, "2020-Q2").success
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn, planted
    conn.close()


def test_hostile_files_beside_the_exports_leave_every_figure_exact(hostile_quarter, truth):
    conn, _ = hostile_quarter
    values = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert set(values) == set(truth["2020-Q2"]["indicators"])
    for indicator_id, expected in truth["2020-Q2"]["indicators"].items():
        assert values[indicator_id] is not None and math.isclose(values[indicator_id], expected), indicator_id


def test_each_hostile_file_of_the_quarter_has_its_finding(hostile_quarter):
    conn, planted = hostile_quarter
    found = dict(conn.execute("SELECT file, string_agg(DISTINCT severity) FROM findings WHERE quarter = '2020-Q2' "
                              "GROUP BY file").fetchall())
    outcomes = dict(conn.execute("SELECT path, outcome FROM raw_files WHERE quarter = '2020-Q2'").fetchall())
    for path in planted:
        assert path in found, f"{path}: no finding"
        assert outcomes[path] in ("rejected", "ignored"), path
        assert (outcomes[path] == "rejected") == ("error" in found[path]), path


# --- mutation: sample files damaged at random ------------------------------------------------------------


def _mutants(originals: list[Path], out: Path, count: int, seed: int = 20200630) -> list[Path]:
    """`count` damaged copies: truncated, bytes flipped in the file and inside a sheet's XML, a cell
    moved far away, a declared count or size inflated."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        original = rng.choice(originals)
        data = bytearray(original.read_bytes())
        kind = rng.choice(["truncate", "flip", "xml_flip", "far_cell", "inflate"])
        if kind in ("xml_flip", "far_cell", "inflate") and data[:2] == b"PK":
            data = _mutate_zip_member(bytes(data), kind, rng)
        elif kind in ("far_cell", "inflate") and data[:1] == b"<":
            text = data.decode("utf-8", "replace")
            text = re.sub(r"<td", lambda m: m[0] + (f" rowspan={rng.choice([10**6, 2**31, -5])} colspan={rng.choice([300, 10**9])}"
                                                      if rng.random() < 0.05 else ""), text)
            data = bytearray(text.encode("utf-8"))
        elif kind == "truncate":
            data = data[:rng.randrange(1, len(data))]
        else:
            for _ in range(rng.randint(1, 50)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = out / f"{n:04d}-{kind}{original.suffix}"
        path.write_bytes(bytes(data))
        made.append(path)
    return made


def _mutate_zip_member(data: bytes, kind: str, rng: random.Random) -> bytes:
    import io

    source = zipfile.ZipFile(io.BytesIO(data))
    members = {info.filename: source.read(info) for info in source.infolist()}
    sheets = [n for n in members if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"]
    name = rng.choice(sheets)
    xml = bytearray(members[name])
    if kind == "xml_flip":
        for _ in range(rng.randint(1, 20)):
            xml[rng.randrange(len(xml))] = rng.randrange(256)
    elif kind == "far_cell":
        refs = [m.span(1) for m in re.finditer(rb'r="([A-Z]+[0-9]+)"', xml)]
        if refs:
            start, end = rng.choice(refs)
            xml[start:end] = rng.choice([b"XFD1048576", b"XFA1048000", b"A1048576", b"ZZZZ99999999"])
    else:
        xml = bytearray(re.sub(rb'(count|uniqueCount)="\d+"', lambda m: m[1] + b'="2147483647"', bytes(xml)))
        xml = bytearray(re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', bytes(xml)))
    members[name] = bytes(xml)
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return target.getvalue()


def test_mutated_exports_never_crash_or_hang_the_reader(tmp_path):
    """600 mutants, about 12 s here; MUTATION_CASES=20000 for a longer run."""
    from tests.constructed import build_constructed

    build_constructed(tmp_path / "raw")
    broken = {"hong.xlsx", "ghi chu.txt"}  # already damaged, and not a spreadsheet: not worth mutating
    originals = [p for p in sorted((tmp_path / "raw" / "2020-Q2").rglob("*")) if p.is_file() and p.name not in broken]
    assert {p.suffix for p in originals} == {".xlsx", ".xls"} and any(p.read_bytes()[:1] == b"<" for p in originals)
    mutants = _mutants(originals, tmp_path / "mutants", int(os.environ.get("MUTATION_CASES", "600")))
    source_of = {p.name: p.parent.name for p in originals}
    jobs = [ReadJob(m, m.name, "dvc", SOURCES["dvc"] + SOURCES["mail"] + SOURCES["certificates"]) for m in mutants]
    outcomes = list(read_isolated(jobs, ReaderLimits(2 * 1024**3, timeout_seconds=60, processes=2)))
    assert len(outcomes) == len(mutants) and source_of
    kinds = {"loaded": 0, "ignored": 0, "rejected": 0}
    for outcome in outcomes:
        result = outcome.result
        kinds[result.outcome] += 1
        assert "không xong trong" not in (result.reason or ""), f"{outcome.job.path.name} hung the reader"
        if result.outcome == "rejected":
            assert result.reason and any(f.severity == "error" and f.file == outcome.job.relative for f in result.findings)
        elif result.outcome == "loaded":
            assert result.tables and result.rows_read >= 0
    assert kinds["rejected"] and kinds["loaded"], kinds  # the damage both spares and breaks files


def test_a_reading_server_killed_from_outside_is_replaced(sample_raw):
    import signal
    import threading

    from pipeline.lib import isolation

    path = sample_raw / "2020-Q2" / "iso" / "ISO dien tu.xlsx"
    limits = ReaderLimits(4 * 1024**3, 60, 1)
    assert read_file_isolated(path, "iso/a.xlsx", "iso", SOURCES["iso"], limits).outcome == "loaded"
    isolation._pool(1)[0].process.kill()  # between two reads
    assert read_file_isolated(path, "iso/a.xlsx", "iso", SOURCES["iso"], limits).outcome == "loaded"
    slow = HOSTILE["far_cell.xls"][0](path.parent.parent.parent / "slow-far-cell.xls")
    try:
        server = isolation._pool(1)[0]
        threading.Timer(0.2, lambda: os.kill(server.process.pid, signal.SIGKILL)).start()  # during a read
        result = read_file_isolated(slow, "mail/slow.xls", "mail", SOURCES["mail"], limits)
    finally:
        slow.unlink()
    assert isolation._pool(1)[0] is not server  # replaced, and the file read again from the start
    assert result.outcome == "rejected" and "trải trên 65535 dòng x 255 cột" in result.reason
    assert read_file_isolated(path, "iso/a.xlsx", "iso", SOURCES["iso"], limits).outcome == "loaded"
