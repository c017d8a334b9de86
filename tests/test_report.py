"""The report draft (issue 17): every figure of the template filled in as the annex prints it, each with a Word
comment that traces it; changes since the previous quarter; NULL figures shown and explained; an edited
template changes the draft; the page follows Nghị định 30/2020/NĐ-CP; LibreOffice renders it."""

import re
import shutil

import duckdb
import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Mm

from assets.indicators.definitions import INDICATORS_BY_ID
from assets.outputs.report import NO_DATA, TEMPLATE, build_report
from pipeline.lib.wording import figure, number
from tests.rendering import collapsed, pdf_text, render_pdf, require_renderer, words

QUARTER = "2020-Q2"
TAG = re.compile(r"so\(\s*'([^']+)'\s*\)")


def _draft_path(warehouse, quarter=QUARTER):
    return warehouse.parent / "outputs" / quarter / f"bao-cao-{quarter}.docx"


@pytest.fixture(scope="module")
def draft(warehouse):
    return Document(_draft_path(warehouse))


def body_text(document) -> str:
    return collapsed(" ".join(p.text for p in _paragraphs(document)))


def _paragraphs(document):
    from docx.text.paragraph import Paragraph

    return [Paragraph(p, document) for p in document.element.body.iter(qn("w:p"))]


def commented(document) -> list[tuple[str, list[str]]]:
    """(the text a comment is anchored on, the comment's paragraphs), in document order."""
    comments = {c.comment_id: [p.text for p in c.paragraphs] for c in document.comments}
    open_ranges, anchored = {}, []
    for element in document.element.body.iter():
        if element.tag == qn("w:commentRangeStart"):
            open_ranges[int(element.get(qn("w:id")))] = []
        elif element.tag == qn("w:commentRangeEnd"):
            key = int(element.get(qn("w:id")))
            anchored.append(("".join(open_ranges.pop(key)), comments[key]))
        elif element.tag == qn("w:t"):
            for parts in open_ranges.values():
                parts.append(element.text or "")
    return anchored


def template_ids(template=TEMPLATE) -> list[str]:
    return TAG.findall(" ".join(p.text for p in _paragraphs(Document(template))))


def test_every_figure_the_template_uses_is_printed_as_the_annex_prints_it_with_its_comment(draft, db):
    values = dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [QUARTER]).fetchall())
    used = template_ids()
    assert len(set(used)) >= 50
    figures = [(text, lines) for text, lines in commented(draft) if " — " in lines[0]]
    assert [(lines[0].split(" — ")[0], text) for text, lines in figures] == [
        (i, figure(values[i], INDICATORS_BY_ID[i].unit, INDICATORS_BY_ID[i].decimals)) for i in used]


def test_each_comment_traces_its_figure_to_files_rows_and_the_command(draft, db):
    comment = next(lines for text, lines in commented(draft) if lines[0].startswith("ca.active — "))
    files = db.execute("SELECT DISTINCT _file, _sha256 FROM stg_certificates WHERE quarter = ?", [QUARTER]).fetchall()
    value = db.execute("SELECT value FROM indicators WHERE quarter = ? AND indicator_id = 'ca.active'", [QUARTER]).fetchone()[0]
    assert comment[0] == "ca.active — Tổng số chứng thư số đang hoạt động"
    assert comment[1] == f"Giá trị: {number(int(value))}; số dòng được đếm: {number(int(value))}"
    assert comment[2].startswith("Định nghĩa: SELECT 'stg_certificates'")
    assert [line for line in comment if line.startswith("Tệp nguồn: ")] == [
        f"Tệp nguồn: {f} (sha256 {s[:12]}, {number(int(value))} dòng)" for f, s in files]
    assert comment[-1] == f"Liệt kê các dòng: python -m pipeline explain {QUARTER} ca.active"
    rate = next(lines for text, lines in commented(draft) if lines[0].startswith("ioffice.documents.signed_rate — "))
    full = db.execute("SELECT value FROM indicators WHERE quarter = ? AND indicator_id = 'ioffice.documents.signed_rate'",
                      [QUARTER]).fetchone()[0]
    assert rate[1] == f"Giá trị đầy đủ: {f'{full:.6f}'.rstrip('0').replace('.', ',')}% (in ra 73,9%, làm tròn nửa lên)"
    assert rate[2] == "= 100 × ioffice.documents.signed / ioffice.documents.electronic"


def test_changes_compare_levels_for_stocks_counts_for_flows_and_points_for_rates(draft, db):
    values = {q: dict(db.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [q]).fetchall())
              for q in ("2020-Q1", "2020-Q2")}

    def delta(indicator_id):
        return values["2020-Q2"][indicator_id] - values["2020-Q1"][indicator_id]

    def phrase(indicator_id, since):
        d = delta(indicator_id)
        return f"{'tăng' if d > 0 else 'giảm'} {number(int(abs(d)))} so với {since}"

    text = body_text(draft)
    assert f"1.626 chứng thư số ({phrase('ca.active', 'cuối quý I năm 2020')})" in text  # a stock: levels
    assert f"cấp mới 145 chứng thư số ({phrase('ca.issued', 'quý I năm 2020')})" in text  # a flow: counts
    assert "(tỷ lệ 73,9%, tăng 9,0 điểm phần trăm so với quý I năm 2020)" in text  # a rate, rounded as printed
    changes = [(text, lines) for text, lines in commented(draft) if ": thay đổi so với " in lines[0]]
    assert len(changes) == len(re.findall(r"thay_doi\(", " ".join(p.text for p in _paragraphs(Document(TEMPLATE)))))
    assert changes[0][1][1:3] == ["quý II năm 2020: 74.019 (đầy đủ 74.019)", "quý I năm 2020: 68.919 (đầy đủ 68.919)"]


def test_without_the_previous_quarter_no_change_is_written(warehouse, tmp_path):
    conn = duckdb.connect(str(warehouse), read_only=True)
    summary = build_report(conn, "2020-Q1", tmp_path / "q1.docx")  # 2019-Q4 is not in the warehouse
    conn.close()
    document = Document(tmp_path / "q1.docx")
    assert summary["changes"] == 0 and summary["compared_with"] == "none" and summary["figures"] == len(template_ids())
    assert "so với" not in body_text(document) and "quý I năm 2020" in body_text(document)


def test_a_null_figure_is_highlighted_and_its_comment_names_the_missing_source(constructed_warehouse):
    document = Document(_draft_path(constructed_warehouse))
    runs = [r for p in _paragraphs(document) for r in p.runs if r.text == NO_DATA]
    assert runs and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in runs)
    meetings = next(lines for text, lines in commented(document) if lines[0].startswith("vcon.meetings — "))
    assert meetings[1] == ("Chưa có số liệu: không nạp được trang tính nào của bảng “Cuộc họp trực tuyến” từ "
                           "raw/2020-Q2/videoconf/ (không tệp nào chứa bảng này)")
    assert meetings[2].startswith("Phát hiện indicator_unavailable: Chỉ tiêu vcon.meetings (Số cuộc họp trực tuyến")
    assert "(tăng" not in next(p.text for p in _paragraphs(document) if "cuộc họp" in p.text and NO_DATA in p.text)


def test_an_edited_template_rewords_and_moves_figures_in_the_next_draft(warehouse, tmp_path):
    edited = tmp_path / "bao-cao.docx"
    shutil.copy(TEMPLATE, edited)
    document = Document(edited)
    paragraphs = _paragraphs(document)
    iso = next(p for p in paragraphs if p.text.startswith("- Phần mềm ISO điện tử"))
    iso.runs[0].text = iso.runs[0].text.replace("- Phần mềm ISO điện tử được", "- Phần mềm Quản lý chất lượng ISO điện tử được")
    ioffice = next(p for p in paragraphs if p.text.startswith("Hệ thống Quản lý văn bản"))
    ioffice.runs[0].text = ioffice.runs[0].text.replace(" với {{ so('ioffice.users') }} người dùng", "")
    closing = next(p for p in paragraphs if p.text.startswith("Trên đây là báo cáo"))
    # as Word saves a tag the team typed: split over runs, with typographic quotes
    closing.add_run(" Số người dùng iOffice: {{ so(‘ioffice.")
    closing.add_run("users’) }}.")
    document.save(edited)
    conn = duckdb.connect(str(warehouse), read_only=True)
    build_report(conn, QUARTER, tmp_path / "draft.docx", template=edited)
    users = conn.execute("SELECT value FROM indicators WHERE quarter = ? AND indicator_id = 'ioffice.users'", [QUARTER]).fetchone()[0]
    conn.close()
    draft = Document(tmp_path / "draft.docx")
    text = body_text(draft)
    assert "Phần mềm Quản lý chất lượng ISO điện tử được kết nối" in text and "- Phần mềm ISO điện tử được" not in text
    assert "người dùng phục vụ" not in text
    assert f"gửi Sở Kế hoạch và Đầu tư tổng hợp./. Số người dùng iOffice: {number(int(users))}." in text
    moved = [lines for t, lines in commented(draft) if lines[0].startswith("ioffice.users — ")]
    assert len(moved) == 1 and [t for t, lines in commented(draft) if lines[0].startswith("ioffice.users — ")] == [number(int(users))]


def test_a_template_naming_an_unknown_indicator_is_one_clear_error(warehouse, tmp_path):
    from assets.outputs.report import TemplateError

    edited = tmp_path / "bao-cao.docx"
    document = Document(TEMPLATE)
    document.add_paragraph("{{ so('ca.nonexistent') }}")
    document.save(edited)
    conn = duckdb.connect(str(warehouse), read_only=True)
    with pytest.raises(TemplateError, match="dùng chỉ tiêu 'ca.nonexistent', không có trong bảng indicators của 2020-Q2"):
        build_report(conn, QUARTER, tmp_path / "draft.docx", template=edited)
    conn.close()


def test_page_layout_follows_decree_30(draft):
    section = draft.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    for margin, low, high in ((section.top_margin, 20, 25), (section.bottom_margin, 20, 25),
                              (section.left_margin, 30, 35), (section.right_margin, 15, 20)):
        assert low - 0.1 <= margin.mm <= high + 0.1  # Word keeps margins in twentieths of a point
    body = [r for p in _paragraphs(draft) for r in p.runs if len(r.text) > 40]
    assert body and all((r.font.name or draft.styles["Normal"].font.name) == "Times New Roman" for r in body)
    assert all(Pt_between(r.font.size or draft.styles["Normal"].font.size, 13, 14) for r in body)
    assert section.different_first_page_header_footer and not section.first_page_header.paragraphs[0].text
    assert "PAGE" in section.header._element.xml and section.header.paragraphs[0].alignment == 1  # centred


def Pt_between(size, low, high) -> bool:
    return low <= size.pt <= high


def test_the_draft_renders_with_libreoffice_its_figures_in_the_text_and_pages_numbered_from_the_second(
        warehouse, draft, tmp_path):
    require_renderer()
    pdf = render_pdf(_draft_path(warehouse), tmp_path)
    text = collapsed(pdf_text(pdf))
    figures = [t for t, lines in commented(draft) if " — " in lines[0]]
    assert figures and [f for f in figures if f not in text] == []
    printed = words(pdf)
    last = max(w.page for w in printed)
    assert last >= 2
    for page in range(1, last + 1):
        top = [w.text for w in printed if w.page == page and w.y1 < 50 and 250 < (w.x0 + w.x1) / 2 < 350]
        assert top == ([] if page == 1 else [str(page)]), (page, top)


REFERENCE_SENTENCES = [
    # the reference report's sentences that carry figures, with the corrections the spec documents
    ("triển khai đến 510 cơ quan (cấp tỉnh: 96, cấp huyện: 308, cấp xã: 106) với 6.758 người dùng phục vụ công tác chỉ "
     "đạo, điều hành", []),
    ("ký số 54.665 văn bản (tỷ lệ 73,8%", [("73,8%", "73,9%")]),  # rounded half-up, as the annex
    ("Trong quý II năm 2020 đã cấp mới 145 chứng thư số", []),
    ("Đến nay đã thiết lập 7.079 hộp thư điện tử công vụ", []),
    ("Cung cấp 1.949 dịch vụ công (trong đó mức 3: 605 dịch vụ, tỷ lệ 31,04%; mức 4: 539 dịch vụ, tỷ lệ 27,66%)", []),
    ("Trong đó tiếp nhận 41.012 hồ sơ đối với dịch vụ công mức độ 3,4, cụ thể: 29.655 hồ sơ mức 3 (28.752 trực tiếp, "
     "903 trực tuyến (tỷ lệ 3,04%)); 11.375 hồ sơ mức 4 (8.923 trực tiếp, 2434 trực tuyến (tỷ lệ 21,4%))",
     [("mức độ 3,4", "mức độ 3, 4"), ("3,04%", "3,05%"), ("11.375", "11.357"), ("2434", "2.434"), ("21,4%", "21,43%")]),
    ("đã triển khai áp dụng đến 18 cơ quan cấp tỉnh", []),
    ("đăng 191 tin, bài thông tin tuyên truyền về hoạt động của lãnh đạo tỉnh", []),
    ("Chuyển đăng 11 lịch làm việc của lãnh đạo tỉnh, 3 lịch tiếp công dân, 82 văn bản chỉ đạo điều hành, 30 văn bản "
     "quy phạm pháp luật, 16 dự thảo", []),
]


@pytest.mark.parametrize("sentence, corrections", REFERENCE_SENTENCES, ids=[s[:40] for s, _ in REFERENCE_SENTENCES])
def test_the_q2_sample_draft_reads_like_the_reference_with_its_figures_corrected(draft, sentence, corrections):
    for wrong, right in corrections:
        sentence = sentence.replace(wrong, right)
    assert sentence in body_text(draft)


def test_an_unchanged_draft_keeps_no_earlier_version_and_an_edited_template_keeps_one(warehouse, tmp_path):
    conn = duckdb.connect(str(warehouse), read_only=True)
    target = tmp_path / "out" / "bao-cao-2020-Q2.docx"
    build_report(conn, QUARTER, target)
    assert build_report(conn, QUARTER, target)["previous_version_kept"] == "none"  # comment times differ, nothing else
    edited = tmp_path / "bao-cao.docx"
    document = Document(TEMPLATE)
    document.add_paragraph("Thêm một câu.")
    document.save(edited)
    kept = build_report(conn, QUARTER, target, template=edited)["previous_version_kept"]
    conn.close()
    assert kept != "none" and "Thêm một câu." not in body_text(Document(kept)) and "Thêm một câu." in body_text(Document(target))
