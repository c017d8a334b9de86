"""The annex as it prints: rendered to PDF by LibreOffice headless and read back with poppler, so that what is
tested is what a person sees on paper (issue 16). Skipped only where LibreOffice is absent and CI is not set."""

import openpyxl
import pytest

from assets.indicators.definitions import INDICATORS, INDICATORS_BY_ID
from assets.outputs.annex import round_half_up
from pipeline.lib.wording import number
from tests.rendering import collapsed, overlapping, pdf_text, render_pdf, require_renderer, words

QUARTER = "2020-Q2"


@pytest.fixture(scope="module")
def annex_path(warehouse):
    return warehouse.parent / "outputs" / QUARTER / f"phu-luc-{QUARTER}.xlsx"


@pytest.fixture(scope="module")
def printed(annex_path, tmp_path_factory):
    require_renderer()
    return render_pdf(annex_path, tmp_path_factory.mktemp("annex_pdf"))


@pytest.fixture(scope="module")
def printed_words(printed):
    return words(printed)


def _pages_of(printed_words, subtitle: str) -> list[int]:
    """The pages of the sheet whose subtitle is `subtitle` (printed once, on its first page) up to the next sheet."""
    starts = sorted({w.page for w in printed_words if w.text == "PHỤ"})  # `PHỤ LỤC` opens every sheet
    text = {p: " ".join(w.text for w in printed_words if w.page == p) for p in starts}
    first = next(p for p in starts if subtitle in text[p])
    following = [p for p in starts if p > first]
    last = following[0] - 1 if following else max(w.page for w in printed_words)
    return list(range(first, last + 1))


def figure_text(value: float | None, indicator_id: str) -> str:
    """A figure as the annex prints it: 80.500, 91,9%."""
    indicator = INDICATORS_BY_ID[indicator_id]
    if value is None:
        return "Chưa có số liệu"
    if indicator.unit == "percent":
        return f"{round_half_up(value, indicator.decimals):.{indicator.decimals}f}".replace(".", ",") + "%"
    return number(int(value))


def change_text(current: float, previous: float, indicator_id: str) -> str:
    decimals = INDICATORS_BY_ID[indicator_id].decimals if INDICATORS_BY_ID[indicator_id].unit == "percent" else 0
    change = round_half_up(current, decimals) - round_half_up(previous, decimals) if decimals else current - previous
    if round(change, decimals) == 0:
        return "0"
    shown = f"{abs(change):.{decimals}f}".replace(".", ",") if decimals else number(int(abs(change)))
    return ("+" if change > 0 else "-") + shown


def test_no_two_words_of_any_page_are_printed_on_top_of_each_other(printed_words):
    assert _pages_of(printed_words, "CÁC VẤN ĐỀ PHÁT HIỆN") and _pages_of(printed_words, "NGUỒN VÀ CÁCH TÍNH")
    assert [(a.page, a.text, b.text) for a, b in overlapping(printed_words)] == []


def test_every_finding_is_printed_in_full(printed, db):
    text = collapsed(pdf_text(printed))
    messages = [m for m, in db.execute("SELECT message FROM findings WHERE quarter = ?", [QUARTER]).fetchall()]
    assert messages and [m for m in messages if collapsed(m) not in text] == []


def test_every_figure_is_printed_on_its_row_with_the_previous_quarter_and_the_change(printed_words, db):
    values = {q: dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [q]).fetchall())
              for q in ("2020-Q2", "2020-Q1")}
    pages = _pages_of(printed_words, "CÁC CHỈ TIÊU CỦA BÁO CÁO")
    on_pages = [w for w in printed_words if w.page in pages]
    for indicator in INDICATORS:
        anchor, = [w for w in on_pages if w.text == indicator.id]
        row = [w.text for w in sorted(on_pages, key=lambda w: w.x0)
               if w.page == anchor.page and w.x0 > anchor.x1 and abs(w.middle - anchor.middle) < 3]
        current, previous = values["2020-Q2"][indicator.id], values["2020-Q1"][indicator.id]
        expected = [figure_text(current, indicator.id), figure_text(previous, indicator.id),
                    change_text(current, previous, indicator.id)]
        assert row[-3:] == expected, (indicator.id, row)


def test_hashes_print_shortened_and_stay_whole_in_hidden_columns(annex_path, db):
    sheet = openpyxl.load_workbook(annex_path)["Nguồn số liệu"]
    header = [c.value for c in sheet[8]]
    short, full = header.index("SHA-256 của tệp (12 ký tự đầu)"), header.index("SHA-256 của tệp (đầy đủ)")
    known = {s for s, in db.execute("SELECT sha256 FROM raw_files WHERE quarter = ?", [QUARTER]).fetchall()}
    rows = [(r[short].value, r[full].value) for r in sheet.iter_rows(min_row=9) if r[full].value]
    assert rows and all(len(s) == 12 and f in known and f.startswith(s) for s, f in rows)
    hidden = {i for d in sheet.column_dimensions.values() if d.hidden for i in range(d.min, d.max + 1)}
    assert hidden == set(range(full + 1, len(header) + 1))  # 1-based: every column from the full hash on


def test_every_row_with_wrapped_text_states_its_height(annex_path):
    """Neither Excel nor LibreOffice grows a row for its wrapped text: the file must say how tall each row is."""
    book = openpyxl.load_workbook(annex_path)
    for name in ("Phát hiện đối soát", "Nguồn số liệu", "Chỉ tiêu"):
        sheet = book[name]
        wrapped = {c.row for row in sheet.iter_rows(min_row=9) for c in row
                   if isinstance(c.value, str) and c.alignment.wrap_text and len(c.value) > 20}
        assert wrapped and [r for r in sorted(wrapped) if not sheet.row_dimensions[r].height] == [], name
