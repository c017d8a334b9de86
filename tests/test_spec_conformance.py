"""`shared/spec/exports.md`, rule by rule (issue 19): for every "may", "any" and "or" of the spec, a variant of a
plain export (pipeline/sample/variants.py, the same variants the sample generator writes on request) is read
through the real reader and compared with the plain form. Each test id quotes the spec's phrase it pins, and,
where the spec allows two readings, the one the project chose."""

import datetime as dt
import unicodedata

import pandas as pd
import pytest

from assets.ingest.stage_in_sql import read_staged as read_file
from pipeline.lib.raw_layer import list_source_files
from pipeline.lib.tablespecs import SOURCES, TABLES_BY_NAME
from pipeline.sample.variants import VARIANTS, ExportFile, Variant
from pipeline.sample.writers import Sheet, write_file
from tests.sql_rules import agency_match, rules

D = dt.date
DOCUMENTS = Sheet("Sổ văn bản", ["Số ký hiệu", "Ngày văn bản", "Trích yếu", "Đơn vị ban hành", "Hình thức", "Ký số"], [
    ["12/STTTT-VP", D(2020, 4, 3), "Về việc triển khai Chính quyền điện tử", "Sở Thông tin và Truyền thông", "Điện tử", "Có"],
    ["45/UBND-KT", D(2020, 5, 12), "Kế hoạch hòa mạng thủy lợi", "Ủy ban nhân dân huyện Càng Long", "Giấy", "Không"],
    ["7/TCT-ĐL", D(2020, 6, 30), "Tổng công ty Điện lực báo cáo", "Tổng công ty Điện lực miền Nam", "Điện tử và giấy", "Có"],
    ["88/SYT-NV", D(2020, 4, 11), None, "Sở Y tế", "Điện tử", "Không"],
])
MEETINGS = Sheet("Cuộc họp", ["Ngày họp", "Nội dung", "Đơn vị chủ trì", "Số điểm cầu"], [
    [D(2020, 4, 2), "Họp trực tuyến với Chính phủ", "Văn phòng UBND tỉnh", 1626],
    [D(2020, 5, 8), "Giao ban trực tuyến", "Sở Y tế", 14],
    [D(2020, 6, 1), "Họp chuyên đề chuyển đổi số", "Sở Thông tin và Truyền thông", 9],
])
PLAIN = {"ioffice": DOCUMENTS, "videoconf": MEETINGS}


def _read(folder, source):
    """Every table read and staged from the files of `folder` (in name order), provenance left out, and the findings."""
    frames, findings = {}, []
    for path in sorted(folder.iterdir()):
        result = read_file(path, path.name, source, SOURCES[source])
        findings += result.findings
        assert result.outcome == "loaded", (path.name, result.reason, [f.text for f in result.findings])
        for table, frame in result.tables.items():
            frames.setdefault(table, []).append(frame)
    records = {}
    for table, parts in frames.items():
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[[c.name for c in TABLES_BY_NAME[table].columns]].astype(object)  # the typed cells, no provenance
        frame = frame.where(frame.notna(), None)
        records[table] = sorted(map(tuple, frame.itertuples(index=False, name=None)), key=repr)
    return records, findings


def _write(folder, files: list[ExportFile]):
    folder.mkdir(parents=True)
    for export in files:
        write_file(folder / export.name, export.fmt, export.sheets)


def _case(variant: Variant) -> str:
    """The plain table a variant is tried on: numbers on the meetings (their one numeric column), the rest on
    the documents register (dates, free text, agencies, fixed values, yes/no)."""
    return "videoconf" if variant.id.startswith("numbers-") else "ioffice"


def _id(variant: Variant) -> str:
    return variant.rule + (f" — chosen reading: {variant.reading}" if variant.reading else "")


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    read = {}
    for source, sheet in PLAIN.items():
        folder = tmp_path_factory.mktemp(f"plain_{source}") / "files"
        _write(folder, [ExportFile("export.xlsx", "xlsx", [sheet])])
        read[source] = _read(folder, source)
    return read


@pytest.mark.parametrize("variant", VARIANTS, ids=[_id(v) for v in VARIANTS])
def test_a_variant_the_spec_allows_reads_as_the_plain_form(variant, plain, tmp_path):
    source = _case(variant)
    _write(tmp_path / "files", variant(ExportFile("export.xlsx", "xlsx", [PLAIN[source]])))
    records, findings = _read(tmp_path / "files", source)
    expected, _ = plain[source]
    assert records == expected
    assert [f.text for f in findings if f.severity != "info"] == []
    legacy = [f for f in findings if f.check_id == "legacy_encoding"]
    assert bool(legacy) == variant.id.startswith("legacy-")  # Unicode variants are never converted
    if variant.id.startswith("sheet-"):  # the sheet that holds no table is listed, as info
        assert [f.check_id for f in findings] == ["sheet_ignored"]


def test_the_plain_forms_hold_what_the_variants_are_compared_with(plain):
    documents = plain["ioffice"][0]["documents"]
    assert ("12/STTTT-VP", D(2020, 4, 3), "Về việc triển khai Chính quyền điện tử", "Sở Thông tin và Truyền thông",
            "electronic", True) in documents  # 03/04 is 3 April: day first
    assert len(documents) == 4 and any(r[0] == "7/TCT-ĐL" for r in documents)  # `Tổng công ty …` is data
    assert sorted(r[-1] for r in plain["videoconf"][0]["meetings"]) == [9, 14, 1626]


SUMMARY = Sheet("Tổng hợp", [], [["Sở Y tế", 12, 5, 2, 3, 1, 10], ["UBND huyện Càng Long", 8, 2, 0, 4, 2, 8]],
                two_row_header=[("Đơn vị", []), ("Tổng số hồ sơ tiếp nhận", []), ("Mức độ 3", ["Tổng số", "Trực tuyến"]),
                                ("Mức độ 4", ["Tổng số", "Trực tuyến"]), ("Đã giải quyết", [])],
                total_row=["Tổng cộng", 20, 7, 2, 7, 3, 18], title=["BÁO CÁO TỔNG HỢP", ""])


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "html"])
def test_a_header_may_span_two_rows_with_merged_parent_cells_in_every_format(fmt, tmp_path):
    """`A header may span two rows with merged parent cells (only the iGate summary does this)`; its hand-typed
    `Tổng cộng` row is kept, marked as the total, for reconciliation."""
    _write(tmp_path / "files", [ExportFile(f"tong hop.{fmt}", fmt, [SUMMARY])])
    records, findings = _read(tmp_path / "files", "dvc")
    assert records["dossier_summary"] == sorted([("Sở Y tế", 12, 5, 2, 3, 1, 10), ("UBND huyện Càng Long", 8, 2, 0, 4, 2, 8),
                                                 (None, 20, 7, 2, 7, 3, 18)], key=repr)  # `Tổng cộng` is no agency
    assert findings == []


def test_excel_lock_files_and_hidden_files_are_ignored(tmp_path):
    """`Files named ~$* (Excel lock files) and hidden files are ignored.`"""
    folder = tmp_path / "ioffice"
    _write(folder, [ExportFile(name, "xlsx", [DOCUMENTS]) for name in ("so van ban.xlsx", "~$so van ban.xlsx", ".an.xlsx")])
    files, ignored = list_source_files(folder)
    assert [p.name for p in files] == ["so van ban.xlsx"] and sorted(p.name for p in ignored) == [".an.xlsx", "~$so van ban.xlsx"]


def test_every_variant_names_its_rule_and_every_rule_of_the_spec_has_a_variant():
    phrases = ["The format is detected from the bytes", "A title block of 0–10 rows", "Labels match after",
               "line breaks in header cells", "column-number row: (1)", "or 1 2 3", "Columns may come in any order",
               "extra columns may be present", "total row (first cell or the name cell", "blank rows",
               "a signature block", "Numbers: real numbers, or text with Vietnamese separators", "Dates: real dates",
               "Text: NFC or NFD", "non-breaking and repeated spaces", "both tone-mark placements", "Yes/no columns",
               "instructions", "hidden helper sheets", "empty sheets", "split over several files or sheets",
               "Text in a legacy 8-bit Vietnamese encoding", "one sheet may mix them with Unicode"]
    assert [p for p in phrases if not any(p in v.rule for v in VARIANTS)] == []
    formats = {v.id for v in VARIANTS if v.id.split("-named-")[0] in ("xlsx", "xls", "html")}
    assert len(formats) == 8  # each format under each name, but the plain form itself


END_TO_END = [
    ("xls-named-xlsx", "title-10", "columns-rotated", "signature-another-place-and-a-deputy", "dates-Excel-serial-numbers"),
    ("html-named-xlsx", "header-old-tones", "text-nfd", "total-1-upper-in-name-cell-text", "yes-no-x-blank"),
    ("split-files-later-first", "column-numbers-plain", "sheet-hidden-helper", "header-line-breaks", "text-spaces"),
    ("legacy-tcvn3-xls",),
    ("legacy-vni-html",),
]


@pytest.mark.parametrize("ids", END_TO_END, ids=[" + ".join(i) for i in END_TO_END])
def test_a_whole_quarter_written_in_variants_gives_the_same_figures_end_to_end(ids, constructed, tmp_path):
    """The constructed quarter (every defect once) written as several rules at once, through every asset."""
    import duckdb

    from pipeline.sample.variants import compose
    from tests.conftest import materialize_quarter
    from tests.constructed import build_constructed

    build_constructed(tmp_path / "raw", compose(*ids))
    warehouse = tmp_path / "wh" / "w.duckdb"
    assert materialize_quarter(tmp_path / "raw", warehouse, "2020-Q2").success
    conn = duckdb.connect(str(warehouse), read_only=True)
    figures = conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2' ORDER BY 1").fetchall()
    kinds = conn.execute("SELECT DISTINCT check_id FROM findings WHERE quarter = '2020-Q2' AND severity <> 'info' "
                         "AND check_id NOT LIKE '%continuity' ORDER BY 1").fetchall()  # no 2020-Q1 here
    legacy_cells = conn.execute("SELECT count(*), count(DISTINCT _file) FROM raw_legacy_text WHERE quarter = '2020-Q2' "
                                "AND held <> text").fetchone()
    conn.close()
    assert figures == constructed.execute(
        "SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2' ORDER BY 1").fetchall()
    # the raw layer keeps each legacy cell as the file held it beside the text read: in every file written so
    assert (legacy_cells[1] > 5) if ids[0].startswith("legacy-") else legacy_cells == (0, 0)
    # the same defects are found (a sheet lacking a label, split in two, is two findings of that kind)
    assert kinds == constructed.execute("SELECT DISTINCT check_id FROM findings WHERE quarter = '2020-Q2' "
                                        "AND severity <> 'info' AND check_id NOT LIKE '%continuity' ORDER BY 1").fetchall()


# --- "Agencies and how names match" ------------------------------------------------------------------------------
REGISTRY = [("TP", "Ủy ban nhân dân thành phố Trà Vinh", None), ("TX", "UBND thị xã Duyên Hải", None),
            ("TT", "Ủy ban nhân dân thị trấn Càng Long", None), ("H", "Ủy ban nhân dân huyện Cầu Kè", None),
            ("P", "Ủy ban nhân dân phường 1", None), ("STTTT", "Sở Thông tin và Truyền thông", "Sở TT&TT; STTTT"),
            ("SYT", "Sở Y tế", None)]
NAME_RULES = [
    ("it equals the official name", "Sở Y tế", "SYT"),
    ("… or one of its other names", "Sở TT&TT", "STTTT"),
    ("… or one of its other names (separated by `;`)", "STTTT", "STTTT"),
    ("after text normalization (case folding included)", "SỞ Y TẾ", "SYT"),
    ("after text normalization (NFD)", unicodedata.normalize("NFD", "Sở Thông tin và Truyền thông"), "STTTT"),
    ("after text normalization (spaces)", "  Sở   Y\u00a0tế ", "SYT"),
    ("ignoring a leading `Ủy ban nhân dân`/`UBND` on either side: UBND for Ủy ban nhân dân", "UBND thành phố Trà Vinh", "TP"),
    ("… on either side: Ủy ban nhân dân for UBND", "Ủy ban nhân dân thị xã Duyên Hải", "TX"),
    ("… on either side: no prefix at all", "huyện Cầu Kè", "H"),
    ("… both tone-mark placements (`Ủy`/`Uỷ`)", "Uỷ ban nhân dân huyện Cầu Kè", "H"),
    ("reading `TP.` = `Thành phố`", "TP. Trà Vinh", "TP"),
    ("reading `TX.` = `Thị xã` (without a space after the dot)", "TX.Duyên Hải", "TX"),
    ("reading `TT.` = `Thị trấn` right after the prefix", "UBND TT. Càng Long", "TT"),
    ("reading `H.` = `Huyện`", "H. Cầu Kè", "H"),
    ("reading `P.` = `Phường`", "UBND P.1", "P"),
]


@pytest.mark.parametrize("rule, written, code", NAME_RULES, ids=[f"A free-text agency name matches … when {r}" for r, _, _ in NAME_RULES])
def test_a_free_text_agency_name_matches_the_registry(rule, written, code):
    assert agency_match(rules(), REGISTRY, written)[0] == code


def test_a_name_that_still_matches_nothing_is_unmatched():
    assert agency_match(rules(), REGISTRY, "Sở Ngoại vụ") == (None, [])


# --- each table's "also" -----------------------------------------------------------------------------------------
ALSO = [  # (source, table, label, as written, as read): the alternatives each table of the spec lists
    ("agencies", "agencies", "Cấp", "Cấp tỉnh", "Tỉnh"), ("agencies", "agencies", "Cấp", "cấp huyện", "Huyện"),
    ("ioffice", "accounts", "Trạng thái", "Đang hoạt động", "active"), ("ioffice", "accounts", "Trạng thái", "Đã khóa", "locked"),
    ("ioffice", "accounts", "Trạng thái", "Khóa", "locked"), ("ioffice", "documents", "Hình thức", "Điện tử và giấy", "both"),
    ("certificates", "certificates", "Thiết bị", "Token", "usb_token"),
    ("certificates", "certificates", "Thiết bị", "SIM", "sim_pki"),
    ("portal", "sites", "Ngôn ngữ", "Tiếng Việt, Tiếng Anh; Tiếng Khmer", "en,km,vi"),
    ("portal", "sites", "Ngôn ngữ", "vi; en", "en,vi"),
    ("portal", "posts", "Chuyên mục", "Lấy ý kiến dự thảo", "draft_consultations"),
    ("portal", "posts", "Chuyên mục", "Thể thao", "other"),
    ("dvc", "procedures", "Mức độ", "Mức độ 3", 3), ("dvc", "procedures", "Mức độ", "Mức 4", 4),
    ("dvc", "procedures", "Mức độ", "DVC mức độ 4", 4), ("dvc", "procedures", "Mức độ", 2, 2),
    ("dvc", "procedures", "Mã thủ tục", "1.004220", "1.004220"),
    ("dvc", "dossiers", "Kênh nộp", "Bưu chính công ích", "postal"),
    ("dvc", "dossiers", "Hình thức trả kết quả", "Qua bưu chính", "postal"),
]


def _row_for(spec, label, value):
    """A row of `spec` with every required column filled plainly and `value` under `label`."""
    plain = {"text": "x1", "code": "1.000001", "date": D(2020, 4, 1), "bool": "Có", "integer": 1, "number": 1,
             "level": 3, "languages": "vi"}
    headers, row = [], []
    for column in spec.columns:
        if column.required or column.labels[0] == label:
            headers.append(column.labels[0])
            if column.labels[0] == label:
                row.append(value)
            elif column.type == "choice":
                row.append(next(iter(column.choices.values()))[0])
            else:
                row.append("Sở Y tế" if column.agency else plain[column.type])
    return headers, row


@pytest.mark.parametrize("source, table, label, written, expected", ALSO,
                         ids=[f"{t}: `{label}` may read {w!r}" for _, t, label, w, _ in ALSO])
def test_each_alternative_a_table_lists_reads_as_its_value(source, table, label, written, expected, tmp_path):
    spec = next(s for s in SOURCES[source] if s.name == table)
    headers, row = _row_for(spec, label, written)
    _write(tmp_path / "files", [ExportFile("x.xlsx", "xlsx", [Sheet("S", headers, [row])])])
    result = read_file(tmp_path / "files" / "x.xlsx", "x.xlsx", source, SOURCES[source])
    column = next(c for c in spec.columns if c.labels[0] == label)
    value = result.tables[table][column.name].iloc[0]
    if column.type == "languages":
        value = ",".join(sorted(str(value).replace(";", ",").split(",")))
    assert value == expected and [f.text for f in result.findings] == []
