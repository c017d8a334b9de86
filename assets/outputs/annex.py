"""The Excel annex (Phụ lục) of the quarterly report: every figure, its breakdowns, the findings and the
sources, laid out as a Vietnamese administrative annex (Nghị định 30/2020/NĐ-CP) ready to print and sign.

Written with xlsxwriter (faster than openpyxl for styled output, and it never turns a string into a
formula when `strings_to_formulas` is off). Values from the exports are written as text only; those
starting with `=`, `+`, `-`, `@`, tab or CR also get Excel's quote prefix, so no spreadsheet program
reads them as a formula when edited. The workbook holds no formula.
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.indicators.definitions import INDICATORS, INDICATORS_BY_ID, SECTIONS
from assets.outputs.print_layout import MAX_ROW_PT, height_pt
from assets.outputs.published import OUTPUT_ASSET, output_result, write_output
from assets.outputs.published import edition as current_edition
from pipeline.lib.messages import say, severity_word
from pipeline.lib.profile import ProfileError, organization_for
from pipeline.lib.sqlfile import named_queries, run_named
from pipeline.lib.versions import ANNEX_NAME, publish_file
from pipeline.lib.wording import edition_words, quarter_words, round_half_up
from pipeline.orchestration.partitions import parse_quarter, previous_quarter
from pipeline.orchestration.resources import PipelinePaths

BREAKDOWNS = named_queries(Path(__file__).with_name("breakdowns.sql"))
NO_DATA = "Chưa có số liệu"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
# 1.626 and 74.019 whatever the reader's locale: the thousands dot is a literal of the format.
COUNT_FORMAT = '[>=1000000]#"."###"."###;[>=1000]#"."###;0'


def change_format(change: float | None, decimals: int) -> str:
    """A signed change as Vietnamese writes it (+4.573, -10, +1,1), whatever the reader's locale: the thousands
    dot is a literal, so the format is chosen for the size of the value."""
    if decimals:
        digits = "0." + "0" * decimals
        return f'[$-42A]+{digits};[$-42A]-{digits};0'
    size = abs(change or 0)
    digits = '#"."###"."###' if size >= 1000000 else '#"."###' if size >= 1000 else "0"
    return f"+{digits};-{digits};0"
PERCENT_FORMATS = {1: '[$-42A]0.0"%"', 2: '[$-42A]0.00"%"'}
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LEVELS = ("Tỉnh", "Huyện", "Xã")
FONT_SIZE = 12
MONOSPACE = "Courier New"  # SQL definitions, at a smaller size
REPORT = ("Báo cáo kết quả triển khai thực hiện Nghị quyết số 02/NQ-CP của Chính phủ về tiếp tục thực hiện "
          "những nhiệm vụ, giải pháp chủ yếu cải thiện môi trường kinh doanh, nâng cao năng lực cạnh tranh quốc gia")


class AnnexWriter:
    """Formats and the layout every sheet shares: header block, title, table header, print setup."""

    def __init__(self, path: Path, quarter: str, edition: dict, profile: Path | None = None):
        import xlsxwriter

        self.quarter, self.edition = quarter, edition
        self.organization = organization_for(quarter, profile)
        self.book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                    "strings_to_numbers": False})
        self.book.set_properties({"title": f"Phụ lục báo cáo {quarter_words(quarter)}",
                                  "author": self.organization.department_name})
        self._formats: dict = {}
        self._widths: dict = {}  # worksheet -> column widths
        self._heights: dict = {}  # worksheet -> {row: the height its texts need, in points}

    def fmt(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.book.add_format({"font_name": "Times New Roman", "font_size": FONT_SIZE, "valign": "vcenter",
                                                       **props})
        return self._formats[key]

    def cell(self, ws, r: int, c: int, value, number_format: str | None = None, decimals: int = 0, **style):
        """A numeric cell (rates rounded half-up to the decimals shown), `Chưa có số liệu` for NULL,
        or text that can never be a formula."""
        base = {"border": 1, **style}
        if value is None or (isinstance(value, float) and value != value):
            ws.write_string(r, c, NO_DATA, self.fmt(**{**base, "italic": True, "align": "center", "text_wrap": True}))
            self.fit(ws, r, c, NO_DATA, **style)
            return
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = round_half_up(value, decimals) if decimals else value
            ws.write_number(r, c, shown, self.fmt(**base, num_format=number_format or COUNT_FORMAT))
        else:
            text = str(value)
            quote = {"quote_prefix": True} if text.startswith(RISKY_PREFIXES) else {}
            ws.write_string(r, c, text, self.fmt(**base, text_wrap=True, **quote))
            self.fit(ws, r, c, text, **style)
            return
        self.fit(ws, r, c, "0", **style)

    def hidden_cell(self, ws, r: int, c: int, value):
        """A value in a hidden column: not wrapped (a wrapped text in a column of no width prints a letter a line)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(r, c, value, self.fmt(border=1, num_format="0"))
        else:
            text = "" if value is None else str(value)
            quote = {"quote_prefix": True} if text.startswith(RISKY_PREFIXES) else {}
            ws.write_string(r, c, text, self.fmt(border=1, **quote))

    def fit(self, ws, r: int, c: int, text: str, last_col: int | None = None, **style):
        """Make row `r` tall enough for `text` wrapped in column c (or in the merged columns c..last_col)."""
        width = sum(self._widths[ws][c:(last_col if last_col is not None else c) + 1])
        self.at_least(ws, r, height_pt(text, width, style.get("font_size", FONT_SIZE),
                                       monospace=style.get("font_name") == MONOSPACE, bold=style.get("bold", False)))

    def at_least(self, ws, r: int, height: float):
        rows = self._heights.setdefault(ws, {})
        rows[r] = max(rows.get(r, 0.0), height)

    def merged(self, ws, r: int, c: int, last_col: int, text: str, **style):
        """Wrapped text merged over columns c..last_col of row r, the row made tall enough for it. (Never over
        several rows: a merged cell cut by a page break loses its text.)"""
        quote = {"quote_prefix": True} if text.startswith(RISKY_PREFIXES) else {}
        if c == last_col:
            ws.write_string(r, c, text, self.fmt(text_wrap=True, **quote, **style))
        else:
            ws.merge_range(r, c, r, last_col, text, self.fmt(text_wrap=True, **quote, **style))
        self.fit(ws, r, c, text, last_col=last_col, **style)

    def sheet(self, name: str, subtitle: str, headers: list[tuple[str, float]], hidden: tuple = ()):
        """A sheet with the administrative header block; returns (worksheet, first data row). `hidden` columns
        follow the printed ones: data for the reader of the file (full hashes, places), not for paper."""
        ws = self.book.add_worksheet(name)
        self._widths[ws] = [column_width for _, column_width in headers] + [column_width for _, column_width in hidden]
        width = len(headers)
        widths = [column_width for _, column_width in headers]
        # the left block (issuing body) takes the first columns up to about 40% of the printed width
        half = next((k for k in range(1, width) if sum(widths[:k]) >= 0.4 * sum(widths)), max(1, width - 1))
        self.merged(ws, 0, 0, half - 1, self.organization.governing_body, align="center")
        self.merged(ws, 1, 0, half - 1, self.organization.department, bold=True, align="center")
        self.merged(ws, 0, half, width - 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="center")
        self.merged(ws, 1, half, width - 1, "Độc lập - Tự do - Hạnh phúc", bold=True, align="center", underline=1)
        ws.merge_range(3, 0, 3, width - 1, "PHỤ LỤC", self.fmt(bold=True, align="center", font_size=14))
        self.merged(ws, 4, 0, width - 1, f"(Kèm theo {REPORT[0].lower()}{REPORT[1:]} {quarter_words(self.quarter)}; "
                    f"{edition_words(self.quarter, self.edition)})", italic=True, align="center")
        self.merged(ws, 5, 0, width - 1, subtitle, bold=True, align="center")
        header_row = 7
        for c, (label, column_width) in enumerate(headers):
            ws.write_string(header_row, c, label, self.fmt(bold=True, align="center", text_wrap=True, border=1, bg_color="#D9E1F2"))
            ws.set_column(c, c, column_width)
            self.fit(ws, header_row, c, label, bold=True)
        for c, (label, column_width) in enumerate(hidden, start=len(headers)):
            ws.write_string(header_row, c, label, self.fmt(bold=True, border=1, bg_color="#D9E1F2"))
            ws.set_column(c, c, column_width, None, {"hidden": True})
        self.at_least(ws, header_row, 36)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)
        ws.freeze_panes(header_row + 1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.6, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C&\"Times New Roman\"Trang &P/&N")
        return ws, header_row + 1

    def section_row(self, ws, r: int, width: int, number: str, text: str):
        ws.write_string(r, 0, number, self.fmt(bold=True, border=1, align="center"))
        self.merged(ws, r, 1, width - 1, text, bold=True, border=1)

    def total_row(self, ws, r: int, values: list, first_text_columns: int = 2, formats: list | None = None):
        ws.write_string(r, 0, "", self.fmt(border=1))
        ws.write_string(r, 1, "Tổng cộng", self.fmt(bold=True, border=1, align="center"))
        for c in range(2, first_text_columns):
            ws.write_string(r, c, "", self.fmt(border=1))
        for i, value in enumerate(values):
            number_format, decimals = (formats[i] if formats else (COUNT_FORMAT, 0))
            self.cell(ws, r, first_text_columns + i, value, number_format, decimals, bold=True)

    def signature(self, ws, r: int, width: int):
        today = dt.date.today()
        right = max(2, width // 2)
        titles = self.organization.signer_title
        ws.merge_range(r, right, r, width - 1,
                       f"{self.organization.place}, ngày {today.day:02d} tháng {today.month:02d} năm {today.year}",
                       self.fmt(italic=True, align="center"))
        ws.merge_range(r + 1, 0, r + 1, right - 1, "NGƯỜI LẬP BIỂU", self.fmt(bold=True, align="center"))
        ws.merge_range(r + 1, right, r + 1, width - 1, "\n".join(titles), self.fmt(bold=True, align="center", text_wrap=True))
        self.fit(ws, r + 1, right, "\n".join(titles), last_col=width - 1, bold=True)
        ws.merge_range(r + 2, 0, r + 2, right - 1, "(Ký, ghi rõ họ tên)", self.fmt(italic=True, align="center"))
        ws.merge_range(r + 2, right, r + 2, width - 1, "(Ký tên, đóng dấu)", self.fmt(italic=True, align="center"))

    def close(self):
        """Set every row's height, then write the file."""
        for ws, rows in self._heights.items():
            for r, height in rows.items():
                ws.set_row(r, min(height, MAX_ROW_PT))
        self.book.close()


def _values(conn, quarter: str) -> dict[str, float | None]:
    return dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())


def _number_format(indicator_id: str) -> tuple[str, int]:
    indicator = INDICATORS_BY_ID[indicator_id]
    return (PERCENT_FORMATS[indicator.decimals], indicator.decimals) if indicator.unit == "percent" else (COUNT_FORMAT, 0)


def _indicator_sheet(w: AnnexWriter, conn, quarter: str) -> dict:
    previous = previous_quarter(quarter)
    this, before = _values(conn, quarter), _values(conn, previous)
    headers = [("STT", 6), ("Chỉ tiêu", 52), ("Mã chỉ tiêu", 30), ("Đơn vị tính", 13),
               (f"Quý {quarter_words(quarter)[4:]}", 15), (f"Quý {quarter_words(previous)[4:]}", 15), ("Tăng (+), giảm (-)", 15)]
    ws, r = w.sheet("Chỉ tiêu", "CÁC CHỈ TIÊU CỦA BÁO CÁO", headers)
    missing = conn.execute(
        "SELECT table_name, reason FROM table_loads WHERE quarter = ? AND status <> 'loaded' ORDER BY table_name", [quarter]).fetchall()
    figures_tables = {t for i in INDICATORS for t in i.tables}
    missing = [(t, why) for t, why in missing if t in figures_tables]
    if missing:
        w.merged(ws, 6, 0, len(headers) - 1, "SỐ LIỆU CHƯA ĐẦY ĐỦ — thiếu nguồn: " + "; ".join(why for _, why in missing),
                 bold=True, font_color="#C00000")
    sections = list(dict.fromkeys(i.section for i in INDICATORS))
    position = 0
    for s, section in enumerate(sections):
        w.section_row(ws, r, len(headers), ROMAN[s], SECTIONS[section])
        r += 1
        for indicator in (i for i in INDICATORS if i.section == section):
            position += 1
            number_format, decimals = _number_format(indicator.id)
            current, prior = this.get(indicator.id), before.get(indicator.id)
            w.cell(ws, r, 0, str(position), align="center")
            w.cell(ws, r, 1, indicator.label)
            w.cell(ws, r, 2, indicator.id)
            w.cell(ws, r, 3, indicator.unit_label, align="center")
            w.cell(ws, r, 4, current, number_format, decimals)
            if indicator.id in before:
                w.cell(ws, r, 5, prior, number_format, decimals)
                change = None if current is None or prior is None else (
                    round_half_up(current, decimals) - round_half_up(prior, decimals) if decimals else current - prior)
                w.cell(ws, r, 6, change, change_format(change, decimals), 0)
            else:
                w.cell(ws, r, 5, "–", align="center")
                w.cell(ws, r, 6, "–", align="center")
            r += 1
    w.signature(ws, r + 1, len(headers))
    return {"indicators": position, "missing_sources": [t for t, _ in missing]}


TREND = ("ioffice.documents.electronic", "ioffice.documents.signed", "ioffice.documents.signed_rate", "ca.active",
         "dvc.dossiers.received", "dvc.dossiers.resolved", "dvc.dossiers.level3.online_rate",
         "dvc.dossiers.level4.online_rate")
TREND_CHARTS = (("Văn bản điện tử và văn bản ký số", ("ioffice.documents.electronic", "ioffice.documents.signed"), "line"),
                ("Hồ sơ tiếp nhận và đã giải quyết", ("dvc.dossiers.received", "dvc.dossiers.resolved"), "line"),
                ("Chứng thư số đang hoạt động", ("ca.active",), "column"),
                ("Tỷ lệ (%)", ("ioffice.documents.signed_rate", "dvc.dossiers.level3.online_rate",
                               "dvc.dossiers.level4.online_rate"), "line"))


def _trend_sheet(w: AnnexWriter, conn, quarter: str) -> int:
    """The report's main figures for every quarter in the warehouse up to this one: a table, and native
    Excel charts over it (editable in Excel). Returns the number of quarters shown."""
    quarters = sorted((q for (q,) in conn.execute("SELECT DISTINCT quarter FROM indicators WHERE quarter <= ?",
                                                   [quarter]).fetchall()), key=parse_quarter)
    values = {(q, i): v for q, i, v in conn.execute(
        "SELECT quarter, indicator_id, value FROM indicators WHERE quarter <= ?", [quarter]).fetchall()}
    headers = [("STT", 6), ("Chỉ tiêu", 46), ("Đơn vị tính", 12)] + [(f"Quý {quarter_words(q)[4:]}", 15) for q in quarters]
    ws, r = w.sheet("Xu hướng", "XU HƯỚNG CÁC CHỈ TIÊU CHÍNH QUA CÁC QUÝ", headers)
    first = r
    for n, indicator_id in enumerate(TREND, start=1):
        indicator = INDICATORS_BY_ID[indicator_id]
        w.cell(ws, r, 0, str(n), align="center")
        w.cell(ws, r, 1, indicator.label)
        w.cell(ws, r, 2, indicator.unit_label, align="center")
        for c, q in enumerate(quarters, start=3):
            number_format, decimals = _number_format(indicator_id)
            w.cell(ws, r, c, values.get((q, indicator_id)), number_format, decimals)
        r += 1
    if len(quarters) < 2:
        w.merged(ws, r + 1, 0, len(headers) - 1,
                 "Chưa có số liệu của quý trước trong kho dữ liệu: xu hướng sẽ có khi có từ hai quý trở lên.",
                 italic=True, align="center")
        return len(quarters)
    row_of = {indicator_id: first + n for n, indicator_id in enumerate(TREND)}
    last_column = 2 + len(quarters)
    for k, (title, ids, kind) in enumerate(TREND_CHARTS):
        chart = w.book.add_chart({"type": kind})
        for indicator_id in ids:
            chart.add_series({"name": ["Xu hướng", row_of[indicator_id], 1],
                              "categories": ["Xu hướng", first - 1, 3, first - 1, last_column],
                              "values": ["Xu hướng", row_of[indicator_id], 3, row_of[indicator_id], last_column],
                              "marker": {"type": "circle"} if kind == "line" else None})
        chart.set_title({"name": title, "name_font": {"name": "Times New Roman", "size": 12}})
        chart.set_legend({"position": "bottom", "font": {"name": "Times New Roman"}})
        chart.set_size({"width": 520, "height": 300})
        ws.insert_chart(r + 1 + (k // 2) * 16, (k % 2) * 3, chart, {"x_offset": 0 if k % 2 == 0 else 40})
    ws.set_h_pagebreaks([r + 1])  # the charts on a page of their own: none cut by a page break or the header
    return len(quarters)


def _level_sheet(w: AnnexWriter, conn, quarter: str):
    values = _values(conn, quarter)
    ws, r = w.sheet("Theo cấp", "CƠ QUAN TRIỂN KHAI THEO CẤP VÀ CHỨNG THƯ SỐ ĐANG HOẠT ĐỘNG",
                    [("STT", 6), ("Cấp / phân loại", 40), ("iOffice", 16), ("Cổng dịch vụ công", 16), ("ISO điện tử", 16)])
    totals = [0, 0, 0]
    for n, (level, suffix) in enumerate(zip(LEVELS, ("province", "district", "commune")), start=1):
        row = [values.get(f"{system}.agencies.{suffix}") for system in ("ioffice", "dvc", "iso")]
        w.cell(ws, r, 0, str(n), align="center")
        w.cell(ws, r, 1, f"Cấp {level.lower()}")
        for c, value in enumerate(row):
            w.cell(ws, r, 2 + c, value)
            totals[c] = None if value is None or totals[c] is None else totals[c] + value
        r += 1
    w.total_row(ws, r, totals)
    r += 2
    w.section_row(ws, r, 5, "", "Chứng thư số đang hoạt động cuối quý")
    r += 1
    for c, label in enumerate(("STT", "Phân loại", "Số chứng thư số")):
        ws.write_string(r, c, label, w.fmt(bold=True, align="center", border=1, bg_color="#D9E1F2"))
    r += 1
    for title, parts in (("theo thiết bị lưu khóa", (("USB Token", "ca.active.usb_token"), ("SIM PKI", "ca.active.sim_pki"))),
                         ("theo loại thuê bao", (("Tổ chức", "ca.active.organization"), ("Cá nhân", "ca.active.individual")))):
        w.section_row(ws, r, 5, "", f"Chứng thư số {title}")
        r += 1
        total = 0
        for n, (label, indicator_id) in enumerate(parts, start=1):
            value = values.get(indicator_id)
            w.cell(ws, r, 0, str(n), align="center")
            w.cell(ws, r, 1, label)
            w.cell(ws, r, 2, value)
            total = None if value is None or total is None else total + value
            r += 1
        w.total_row(ws, r, [total])
        r += 1


def _agency_sheet(w: AnnexWriter, conn, quarter: str, name: str, subtitle: str, query: str,
                  columns: list[tuple[str, str, float]], rates: list[tuple[str, str, str]]) -> int:
    """Per-agency breakdown: columns (label, query column, width) then rates (label, numerator, denominator)."""
    frame = run_named(conn, BREAKDOWNS[query], {"quarter": quarter}).df()
    headers = [("STT", 6), ("Cơ quan, đơn vị", 48), ("Cấp", 12)]
    headers += [(label, wd) for label, _, wd in columns] + [(label, 13) for label, _, _ in rates]
    ws, r = w.sheet(name, subtitle, headers)
    rate_format = (PERCENT_FORMATS[1], 1)
    for n, record in enumerate(frame.itertuples(index=False), start=1):
        row = record._asdict()
        w.cell(ws, r, 0, str(n), align="center")
        w.cell(ws, r, 1, row["agency"])
        w.cell(ws, r, 2, row["level"], align="center")
        for c, (_, column, _) in enumerate(columns):
            w.cell(ws, r, 3 + c, int(row[column]))
        for c, (_, numerator, denominator) in enumerate(rates):
            value = 100.0 * row[numerator] / row[denominator] if row[denominator] else None
            w.cell(ws, r, 3 + len(columns) + c, value if value is not None else "–", *rate_format)
        r += 1
    if frame.empty:
        ws.merge_range(r, 0, r, len(headers) - 1, NO_DATA, w.fmt(italic=True, align="center", border=1))
        return 0
    sums = [int(frame[column].sum()) for _, column, _ in columns]
    rate_totals = [100.0 * frame[n].sum() / frame[d].sum() if frame[d].sum() else None for _, n, d in rates]
    w.total_row(ws, r, sums + rate_totals, first_text_columns=3,
                formats=[(COUNT_FORMAT, 0)] * len(sums) + [rate_format] * len(rates))
    return len(frame)


def _findings_sheet(w: AnnexWriter, conn, quarter: str) -> int:
    """Every finding of the quarter. Its message names the place (file, sheet, row, cell), so the printed page
    holds the message alone, in full width; the place is also in hidden columns, for filtering in Excel."""
    rows = conn.execute(
        "SELECT severity, check_id, source, message, file, sheet, row, cell FROM findings WHERE quarter = ? "
        "ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, source, file, sheet, row",
        [quarter]).fetchall()
    headers = [("STT", 6), ("Mức độ", 10), ("Mã kiểm tra", 23), ("Nguồn", 12), ("Nội dung (nơi phát hiện, việc đã làm)", 88)]
    hidden = [("Tệp", 30), ("Trang tính", 14), ("Dòng", 8), ("Ô", 7)]
    ws, r = w.sheet("Phát hiện đối soát", "CÁC VẤN ĐỀ PHÁT HIỆN KHI ĐỐI SOÁT SỐ LIỆU", headers, hidden)
    for n, (severity, check_id, source, message, file, sheet, row, cell) in enumerate(rows, start=1):
        for c, value in enumerate([str(n), severity_word(severity), check_id, source, message]):
            w.cell(ws, r, c, value, **({"align": "center"} if c in (0, 1) else {}))
        for c, value in enumerate([file, sheet, row, cell], start=len(headers)):
            w.hidden_cell(ws, r, c, value)
        r += 1
    if not rows:
        w.merged(ws, r, 0, len(headers) - 1, "Không phát hiện vấn đề", italic=True, align="center", border=1)
    return len(rows)


def _sources_sheet(w: AnnexWriter, conn, quarter: str) -> int:
    """Each figure's definition and the files it was counted from. Hashes are printed shortened to 12
    characters (enough to tell files apart); the full sha256 is in the hidden columns."""
    definitions = dict((i, (d, s, f)) for i, d, s, f in conn.execute(
        "SELECT indicator_id, definition, definition_sha256, files FROM indicator_definitions WHERE quarter = ?", [quarter]).fetchall())
    headers = [("STT", 6), ("Mã chỉ tiêu", 31), ("Định nghĩa (truy vấn SQL)", 52), ("Tệp nguồn", 28),
               ("SHA-256 của tệp (12 ký tự đầu)", 16), ("Số dòng", 9)]
    hidden = [("SHA-256 của tệp (đầy đủ)", 68), ("SHA-256 của định nghĩa (đầy đủ)", 68)]
    ws, r = w.sheet("Nguồn số liệu", "NGUỒN VÀ CÁCH TÍNH TỪNG CHỈ TIÊU", headers, hidden)
    sql = {"font_name": MONOSPACE, "font_size": 9}
    for n, indicator in enumerate(INDICATORS, start=1):
        definition, sha, files = definitions.get(indicator.id, ("", "", "[]"))
        files = json.loads(files or "[]") or [{"file": "", "sha256": "", "rows": None}]
        first = r
        for f in files:
            w.cell(ws, r, 3, f["file"])
            w.cell(ws, r, 4, f["sha256"][:12], font_name=MONOSPACE, font_size=10)
            w.cell(ws, r, 5, f["rows"] if f["rows"] is not None else "")
            w.hidden_cell(ws, r, 6, f["sha256"])
            w.hidden_cell(ws, r, 7, sha)
            r += 1
        # in the first row of the figure, never merged down: a merged cell cut by a page break loses its text
        w.cell(ws, first, 0, str(n), align="center")
        w.cell(ws, first, 1, indicator.id)
        w.cell(ws, first, 2, f"{definition}\n(sha256 {sha[:12]})" if definition else "", **sql)
        for below in range(first + 1, r):
            for c in range(3):
                ws.write_blank(below, c, None, w.fmt(border=1))
    return len(INDICATORS)


def build_annex(conn, quarter: str, target: Path, edition: dict | None = None, profile: Path | None = None) -> dict:
    """Write the annex to `target` atomically (a temporary file renamed over it), the earlier file, when
    it differs, kept under `versions/` with its date; return a summary. Every sheet names the version it is
    made from (`edition`, by default the quarter's current one); its header is the province's (`profile`, by
    default the default province's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    w = AnnexWriter(partial, quarter, edition or current_edition(conn, quarter), profile)
    summary = _indicator_sheet(w, conn, quarter)
    summary["trend_quarters"] = _trend_sheet(w, conn, quarter)
    _level_sheet(w, conn, quarter)
    summary["ioffice_agencies"] = _agency_sheet(
        w, conn, quarter, "iOffice theo đơn vị", "VĂN BẢN PHÁT HÀNH TRÊN iOFFICE THEO CƠ QUAN, ĐƠN VỊ", "ioffice_by_agency",
        [("Tổng số văn bản", "total", 13), ("Văn bản điện tử", "electronic", 13), ("Văn bản ký số", "signed", 13)],
        [("Tỷ lệ điện tử", "electronic", "total"), ("Tỷ lệ ký số", "signed", "electronic")])
    summary["dvc_agencies"] = _agency_sheet(
        w, conn, quarter, "DVC theo đơn vị", "HỒ SƠ TIẾP NHẬN TRÊN CỔNG DỊCH VỤ CÔNG THEO CƠ QUAN TIẾP NHẬN", "dvc_by_agency",
        [("Hồ sơ tiếp nhận", "received", 12), ("Mức độ 3", "level3", 11), ("Mức độ 3 trực tuyến", "level3_online", 12),
         ("Mức độ 4", "level4", 11), ("Mức độ 4 trực tuyến", "level4_online", 12), ("Đã giải quyết", "resolved", 12)], [])
    summary["findings"] = _findings_sheet(w, conn, quarter)
    _sources_sheet(w, conn, quarter)
    w.close()
    kept = publish_file(partial, target)
    summary["previous_version_kept"] = str(kept) if kept else "none"
    return summary


@dg.asset(description=say("ui.asset_annex"), kinds={"excel"}, **OUTPUT_ASSET)
def annex(context: dg.AssetExecutionContext, paths: PipelinePaths, duckdb: DuckDBResource):
    """The Phụ lục of the quarter's report (`outputs/<quarter>/phu-luc-<quarter>.xlsx`): every figure with
    the previous quarter, breakdowns by level and agency, the findings and the sources of each figure."""
    target, summary = write_output(context, paths, duckdb, ANNEX_NAME, build_annex, (ProfileError,))
    if summary["missing_sources"]:
        context.log.warning(say("log.annex_incomplete", quarter=context.partition_key, sources=", ".join(summary["missing_sources"])))
    return output_result(target, summary)
