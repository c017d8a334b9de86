"""Write the first version of the report template, `assets/outputs/templates/bao-cao.docx`.

Run once, to start: from then on the .docx is the source, edited in Word or LibreOffice by the data team,
and this script refuses to overwrite it (`--force` to start again, losing their edits).

The layout follows Nghị định 30/2020/NĐ-CP: A4 portrait; margins 20 mm top and bottom, 30 mm left, 15 mm
right; Times New Roman 14 pt; the page number centred at the top from the second page. The wording is the
reference report of quarter II 2020, each figure replaced by a tag naming its indicator:
`{{ so('ca.issued') }}` prints the figure as the annex does, `{{ thay_doi('ca.issued') }}` the change since
the previous quarter in brackets, `{{ thay_doi('ca.issued', ngoac=False) }}` after a comma (nothing at all
when the warehouse lacks that quarter).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

TARGET = Path(__file__).resolve().parents[1] / "assets" / "outputs" / "templates" / "bao-cao.docx"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "bao-cao-q2-2020.txt"
TYPOS = [("trực liên thông", "trục liên thông"), ("đầu đủ", "đầy đủ"), ("danh nghiệp", "doanh nghiệp"),
         ("hai các nhiệm vụ", "các nhiệm vụ"), ("Lẫy", "Lấy"), ("kèm chữ ký số.", "kèm chữ ký số còn hạn chế.")]
NQ = ("Nghị quyết số 02/NQ-CP ngày 01/01/{{ nam }} của Chính phủ về tiếp tục thực hiện những nhiệm vụ, giải pháp "
      "chủ yếu cải thiện môi trường kinh doanh, nâng cao năng lực cạnh tranh quốc gia")

PORTAL = ("Hệ thống Cổng thông tin điện tử có {{ so('portal.main') }} cổng chính với {{ so('portal.languages') }} "
          "ngôn ngữ: Tiếng Việt, tiếng Anh và tiếng Khmer và {{ so('portal.component_sites') }} trang thông tin thành "
          "phần, cung cấp thông tin cơ bản theo quy định theo Nghị định số 43/2011/NĐ-CP ngày 13/06/2011 của Chính "
          "phủ quy định về việc cung cấp thông tin và dịch vụ công trực tuyến trên trang thông tin điện tử hoặc cổng "
          "thông tin điện tử của cơ quan nhà nước.")

# (style, text): "h" a heading, "p" a body paragraph, "-" a body paragraph starting with a dash, "n" (style,
# number) a paragraph of narrative no export holds: the reference report's paragraph of that number, shaded
# grey for the team to rewrite each quarter
BODY = [
    ("p", "Thực hiện Quyết định số 390/QĐ-UBND ngày 04/03/2020 của UBND tỉnh về việc ban hành Kế hoạch hành động "
          "triển khai thực hiện " + NQ + " năm {{ nam }}, {{ co_quan.department_name }} báo cáo kết quả triển khai "
          "thực hiện {{ quy }} như sau:"),
    ("h", "I. Kết quả thực hiện Quyết định số 1308/QĐ-UBND ngày 27/6/2018 của UBND tỉnh về việc ban hành Kế hoạch "
          "hành động triển khai thực hiện Nghị quyết số 19-2018/NQ-CP ngày 15/5/2018 của Chính phủ"),
    ("h", "1. Công tác tham mưu chỉ đạo triển khai Chính quyền điện tử"),
    ("n", 7),
    ("h", "2. Công tác tuyên truyền"),
    ("n", 9),
    ("h", "3. Công tác triển khai và ứng dụng CNTT"),
    ("p", "Hệ thống Quản lý văn bản và điều hành (iOffice): triển khai đến {{ so('ioffice.agencies') }} cơ quan (cấp "
          "tỉnh: {{ so('ioffice.agencies.province') }}, cấp huyện: {{ so('ioffice.agencies.district') }}, cấp xã: "
          "{{ so('ioffice.agencies.commune') }}) với {{ so('ioffice.users') }} người dùng phục vụ công tác chỉ đạo, "
          "điều hành. Hệ thống đã tích hợp giải pháp ký số; tích hợp liên thông với trục liên thông văn bản quốc gia. "
          "Tỷ lệ trao đổi văn bản điện tử đạt {{ so('ioffice.documents.electronic_rate') }}, tổng số văn bản được "
          "trao đổi trên môi trường mạng {{ quy }} là {{ so('ioffice.documents.electronic') }}"
          "{{ thay_doi('ioffice.documents.electronic') }}, ký số {{ so('ioffice.documents.signed') }} văn bản (tỷ lệ "
          "{{ so('ioffice.documents.signed_rate') }}{{ thay_doi('ioffice.documents.signed_rate', ngoac=False) }})."),
    ("-", "Ứng dụng chứng thư số: Trong {{ quy }} đã cấp mới {{ so('ca.issued') }} chứng thư số"
          "{{ thay_doi('ca.issued') }}, nâng tổng số chứng thư số đang hoạt động lên {{ so('ca.active') }} chứng "
          "thư số{{ thay_doi('ca.active') }}, trong đó: theo thiết bị lưu khóa, {{ so('ca.active.usb_token') }} USB "
          "Token và {{ so('ca.active.sim_pki') }} SIM PKI; theo loại thuê bao, {{ so('ca.active.organization') }} "
          "của tổ chức và {{ so('ca.active.individual') }} của cá nhân; phục vụ ký số văn bản điện tử, hồ sơ giao "
          "dịch bảo hiểm xã hội, thuế, dịch vụ công trực tuyến Kho bạc Nhà nước."),
    ("-", "Hệ thống thư điện tử công vụ: Trong {{ quy }} đã tạo {{ so('mail.created') }} tài khoản hộp thư điện tử "
          "công vụ{{ thay_doi('mail.created') }}. Đến nay đã thiết lập {{ so('mail.mailboxes') }} hộp thư điện tử "
          "công vụ{{ thay_doi('mail.mailboxes') }} cho cán bộ, công chức, viên chức phục vụ trao đổi thông tin "
          "công vụ."),
    ("-", "Hệ thống hội nghị truyền hình: Năng lực đáp ứng {{ so('vcon.endpoints') }} điểm cầu họp đồng thời. Trong "
          "{{ quy }} đã tổ chức phục vụ {{ so('vcon.meetings') }} cuộc họp{{ thay_doi('vcon.meetings') }}, phục vụ "
          "các cuộc họp định kỳ hằng tháng, đột xuất của địa phương, giữa địa phương và Trung ương."),
    ("-", PORTAL),
    ("-", "Hệ thống Cổng dịch vụ công của tỉnh (VNPT-iGate) triển khai cho tất cả các cơ quan hành chính nhà nước "
          "các cấp của tỉnh (cấp tỉnh {{ so('dvc.agencies.province') }}, huyện {{ so('dvc.agencies.district') }}, "
          "xã {{ so('dvc.agencies.commune') }}) phục vụ tiếp nhận, xử lý, trả kết quả giải quyết hồ sơ hành chính "
          "đối với tất cả các thủ tục hành chính (TTHC) thuộc thẩm quyền giải quyết của tỉnh. Cung cấp "
          "{{ so('dvc.services') }} dịch vụ công (trong đó mức 3: {{ so('dvc.services.level3') }} dịch vụ, tỷ lệ "
          "{{ so('dvc.services.level3_rate') }}; mức 4: {{ so('dvc.services.level4') }} dịch vụ, tỷ lệ "
          "{{ so('dvc.services.level4_rate') }}). Trong {{ quy }} hệ thống đã tiếp nhận "
          "{{ so('dvc.dossiers.received') }} hồ sơ{{ thay_doi('dvc.dossiers.received') }}, giải quyết "
          "{{ so('dvc.dossiers.resolved') }} hồ sơ{{ thay_doi('dvc.dossiers.resolved') }}, các hồ sơ còn lại trong "
          "quá trình giải quyết. Trong đó tiếp nhận {{ so('dvc.dossiers.level34') }} hồ sơ đối với dịch vụ công "
          "mức độ 3, 4, cụ thể: {{ so('dvc.dossiers.level3') }} hồ sơ mức 3 ({{ so('dvc.dossiers.level3.in_person') }} "
          "trực tiếp, {{ so('dvc.dossiers.level3.online') }} trực tuyến (tỷ lệ "
          "{{ so('dvc.dossiers.level3.online_rate') }})); {{ so('dvc.dossiers.level4') }} hồ sơ mức 4 "
          "({{ so('dvc.dossiers.level4.in_person') }} trực tiếp, {{ so('dvc.dossiers.level4.online') }} trực tuyến "
          "(tỷ lệ {{ so('dvc.dossiers.level4.online_rate') }}))."),
    ("-", "Phần mềm ISO điện tử được kết nối liên thông với hệ thống một cửa điện tử, đã triển khai áp dụng đến "
          "{{ so('iso.agencies.province') }} cơ quan cấp tỉnh, {{ so('iso.agencies.district') }} UBND cấp huyện, "
          "{{ so('iso.agencies.commune') }} xã, phường, thị trấn."),
    ("n", 18),
    ("n", 19),
    ("n", 20),
    ("h", "4. Công tác cải cách chỉ số hạ tầng viễn thông"),
    ("n", 22),
    ("n", 23),
    ("h", "5. Công tác công khai, minh bạch, nâng cao chất lượng thông tin"),
    ("p", "Thường xuyên cải tiến nội dung và hình thức các chuyên trang, chuyên mục trên Cổng thông tin điện tử tỉnh. "
          "Trong {{ quy }} đã đăng tải các thông tin và văn bản lên Cổng thông tin điện tử: đăng "
          "{{ so('portal.posts.leadership_news') }} tin, bài thông tin tuyên truyền về hoạt động của lãnh đạo tỉnh; "
          "biên dịch {{ so('portal.translations.en') }} tin, bài từ tiếng Việt sang tiếng Anh; biên dịch "
          "{{ so('portal.translations.km') }} tin, bài từ tiếng Việt sang tiếng Khmer. Chuyển đăng "
          "{{ so('portal.posts.leader_schedules') }} lịch làm việc của lãnh đạo tỉnh, "
          "{{ so('portal.posts.citizen_reception') }} lịch tiếp công dân, {{ so('portal.posts.direction_documents') }} "
          "văn bản chỉ đạo điều hành, {{ so('portal.posts.legal_documents') }} văn bản quy phạm pháp luật, "
          "{{ so('portal.posts.draft_consultations') }} dự thảo lấy ý kiến nhân dân, "
          "{{ so('portal.posts.tthc_decisions') }} quyết định công bố mới, bãi bỏ TTHC của các đơn vị trên Cổng "
          "thông tin điện tử tỉnh."),
    ("h", "6. Về triển khai thực hiện các dự án ứng dụng công nghệ thông tin"),
    ("n", 27),
    ("h", "II. Kết quả thực hiện Quyết định số 316/QĐ-UBND ngày 27/02/2019 của UBND tỉnh về việc ban hành Kế hoạch "
          "hành động triển khai thực hiện Nghị quyết số 02/NQ-CP ngày 01/01/2019 của Chính phủ"),
    ("h", "1. Công tác xây dựng kế hoạch"),
    ("n", 30),
    ("h", "2. Trách nhiệm của người đứng đầu trong giải quyết TTHC"),
    ("n", 32),
    ("h", "3. Công tác công khai các TTHC về điều kiện kinh doanh, danh mục mặt hàng kiểm tra chuyên ngành trên Cổng "
          "thông tin điện tử tỉnh"),
    ("p", PORTAL + " Liên kết Cổng dịch vụ công của tỉnh cung cấp thông tin các TTHC về điều kiện kinh doanh. Chưa "
          "cung cấp các mặt hàng kiểm tra chuyên ngành trên Cổng Thông tin điện tử tỉnh."),
    ("n", 35),
    ("h", "5. Về kết nối liên thông với Cổng thông tin điện tử quốc gia, các cơ sở dữ liệu quốc gia để phục vụ cho "
          "việc cung cấp dịch vụ công trực tuyến"),
    ("n", 37),
    ("h", "6. Đẩy mạnh công tác tiếp nhận và trả kết quả giải quyết TTHC qua dịch vụ bưu chính công ích"),
    ("n", 39),
    ("-", "Trong {{ quy }}, số hồ sơ trả kết quả qua dịch vụ bưu chính công ích: "
          "{{ so('dvc.dossiers.returned_by_post') }} hồ sơ{{ thay_doi('dvc.dossiers.returned_by_post') }}."),
    ("h", "III. KHÓ KHĂN, HẠN CHẾ"),
    ("n", 42),
    ("n", 44),
    ("n", 45),
    ("h", "IV. KẾ HOẠCH THỰC HIỆN TRONG THỜI GIAN TỚI"),
    *[("n", n) for n in range(47, 54)],
    ("p", "Trên đây là báo cáo kết quả triển khai thực hiện " + NQ + " {{ quy }}, {{ co_quan.department_name }} "
          "gửi Sở Kế hoạch và Đầu tư tổng hợp./."),
]


def _font(run, size: float, bold=False, italic=False, underline=False):
    run.font.name, run.font.size = "Times New Roman", Pt(size)
    run.font.bold, run.font.italic, run.font.underline = bold, italic, underline


def _para(container, text: str, size=14, bold=False, italic=False, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True,
          before=0, after=6, underline=False):
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before, paragraph.paragraph_format.space_after = Pt(before), Pt(after)
    paragraph.paragraph_format.first_line_indent = Cm(1) if indent else None
    _font(paragraph.add_run(text), size, bold, italic, underline)
    return paragraph


def _no_borders(table):
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _page_number_header(section):
    """The page number, centred at the top, from the second page on (Nghị định 30/2020/NĐ-CP)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    _font(run, 14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def narrative_paragraphs(reference: Path) -> list[str]:
    """The reference report's paragraphs, a paragraph broken by a page in the source joined, typos mended."""
    paragraphs = [" ".join(p.split()) for p in reference.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    paragraphs[42] += " " + paragraphs[43]
    return [p for p in (_mend(p) for p in paragraphs)]


def _mend(text: str) -> str:
    for wrong, right in TYPOS:
        text = text.replace(wrong, right)
    return text


def build(target: Path, reference: Path) -> None:
    narrative = narrative_paragraphs(reference)
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    _page_number_header(section)

    header = document.add_table(rows=1, cols=2)
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(header)
    header.autofit = False
    left, right = header.rows[0].cells
    for column, cell, width in ((header.columns[0], left, Cm(6.3)), (header.columns[1], right, Cm(10.2))):
        column.width = cell.width = width
    center = WD_ALIGN_PARAGRAPH.CENTER
    left.paragraphs[0].alignment = center
    _font(left.paragraphs[0].add_run("{{ co_quan.governing_body }}"), 13)
    _para(left, "{{ co_quan.department }}", 13, bold=True, align=center, indent=False, after=6)
    _para(left, "Số:        /{{ co_quan.report_symbol }}", 13, align=center, indent=False, after=0)
    right.paragraphs[0].alignment = center
    _font(right.paragraphs[0].add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), 12, bold=True)
    _para(right, "Độc lập - Tự do - Hạnh phúc", 14, bold=True, align=center, indent=False, after=6, underline=True)
    _para(right, "{{ ngay_thang }}", 14, italic=True, align=center, indent=False, after=0)

    _para(document, "BÁO CÁO", 14, bold=True, align=center, indent=False, before=18, after=0)
    _para(document, "Kết quả triển khai thực hiện " + NQ + " {{ quy }}", 14, bold=True, align=center, indent=False,
          after=12)
    for style, text in BODY:
        if style == "h":
            _para(document, text, 14, bold=True, before=6)
        elif style == "n":
            paragraph = _para(document, narrative[text], 14)
            paragraph.runs[0].font.highlight_color = WD_COLOR_INDEX.GRAY_25
        else:
            _para(document, ("- " if style == "-" else "") + text)

    closing = document.add_table(rows=1, cols=2)
    _no_borders(closing)
    closing.autofit = False
    left, right = closing.rows[0].cells
    for column, cell in zip(closing.columns, (left, right)):
        column.width = cell.width = Cm(8.25)
    left.paragraphs[0].paragraph_format.space_before = Pt(12)
    _font(left.paragraphs[0].add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for text in ("{%p for dong in co_quan.recipients %}", "- {{ dong }}", "{%p endfor %}"):
        _para(left, text, 11, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False, after=0)
    right.paragraphs[0].alignment = center
    right.paragraphs[0].paragraph_format.space_before = Pt(12)
    for text in ("{%p for dong in co_quan.signer_title %}", "{{ dong }}", "{%p endfor %}"):
        _para(right, text, 14, bold=True, align=center, indent=False, after=0)
    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(target)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite the template, losing the team's edits")
    parser.add_argument("--reference", type=Path, default=REFERENCE, help="the reference report, as text")
    args = parser.parse_args(argv)
    if TARGET.exists() and not args.force:
        print(f"error: {TARGET} exists and is the source now (edit it in Word or LibreOffice); --force to replace it",
              file=sys.stderr)
        return 2
    build(TARGET, args.reference)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
