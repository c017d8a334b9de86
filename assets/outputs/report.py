"""The draft of the quarterly report (`outputs/<quarter>/bao-cao-<quarter>.docx`), written from a Word template
the data team edits (`templates/bao-cao.docx`), every figure filled in from `indicators` and traceable in Word.

The template is Jinja inside a .docx (docxtpl, which also mends the tags Word splits across runs when a
sentence is edited). Its tags name indicators by id: `{{ so('ca.issued') }}` prints the figure as the annex
does (1.626; 73,9%), `{{ thay_doi('ca.issued') }}` the change since the previous quarter, and nothing when
the warehouse lacks that quarter. Each tag first renders as a marker; the markers are then replaced, in
their own run, by the text, and each gets a Word comment (python-docx) saying where the figure comes from:
indicator, value at full precision, counted rows, source files with their sha256, the command that lists
the rows. A NULL figure reads `[chưa có số liệu]`, highlighted, and its comment names the missing source
and the finding.
"""


import copy
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.indicators.definitions import INDICATORS_BY_ID, Indicator
from assets.outputs.published import OUTPUT_ASSET, output_result, write_output
from assets.outputs.published import edition as current_edition
from pipeline.lib.messages import say
from pipeline.lib.profile import ProfileError, organization_for
from pipeline.lib.versions import DRAFT_NAME, publish_file
from pipeline.lib.wording import edition_words, figure, number, quarter_words, round_half_up
from pipeline.orchestration.partitions import previous_quarter, quarter_window
from pipeline.orchestration.resources import PipelinePaths

TEMPLATE = Path(__file__).with_name("templates") / "bao-cao.docx"
NO_DATA = "[chưa có số liệu]"
AUTHOR, INITIALS = "Pipeline số liệu", "PL"
_MARKER = re.compile(r"⟦(so|doi|doi,):([^⟧]*)⟧")  # a figure; its change in brackets; its change after a comma


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says where and why, in the team's words."""


@dataclass
class Figure:
    """One indicator of the quarter as the report shows it, with what its comment needs."""

    indicator: Indicator
    value: float | None
    previous: float | None  # None: NULL, or no previous quarter in the warehouse
    has_previous: bool
    definition: str = ""
    files: list = field(default_factory=list)
    missing: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return figure(self.value, self.indicator.unit, self.indicator.decimals) or NO_DATA

    def change(self, quarter: str, brackets: bool = True) -> str | None:
        """` (tăng 145 so với quý I năm 2020)`, or after a comma; None when either quarter's figure is missing."""
        if not self.has_previous or self.value is None or self.previous is None:
            return None
        unit, decimals = self.indicator.unit, self.indicator.decimals
        if unit == "percent":
            delta = round_half_up(self.value, decimals) - round_half_up(self.previous, decimals)
            amount = f"{abs(delta):.{decimals}f}".replace(".", ",") + " điểm phần trăm"
        else:
            delta = self.value - self.previous
            amount = number(int(abs(delta)))
        since = f"{'cuối ' if self.indicator.measure == 'stock' else ''}{quarter_words(previous_quarter(quarter))}"
        phrase = (f"không thay đổi so với {since}" if round(delta, 6) == 0
                  else f"{'tăng' if delta > 0 else 'giảm'} {amount} so với {since}")
        return f" ({phrase})" if brackets else f", {phrase}"

    def comment(self, quarter: str) -> list[str]:
        indicator = self.indicator
        lines = [f"{indicator.id} — {indicator.label}"]
        if self.value is None:
            reasons = list(self.missing.values()) or ["chỉ tiêu không tính được"]
            lines.append("Chưa có số liệu: " + "; ".join(reasons))
            lines += [f"Phát hiện {check_id}: {message}" for check_id, message in self.findings]
        elif indicator.unit == "percent":
            lines.append(f"Giá trị đầy đủ: {_full(self.value)}% (in ra {self.text}, làm tròn nửa lên)")
            lines.append(f"= 100 × {indicator.numerator} / {indicator.denominator}")
        else:
            lines.append(f"Giá trị: {self.text}; số dòng được đếm: {number(int(self.value))}")
            lines.append("Định nghĩa: " + self.definition)
        for f in self.files:
            lines.append(f"Tệp nguồn: {f['file']} (sha256 {f['sha256'][:12]}, {number(f['rows'])} dòng)")
        lines.append(f"Liệt kê các dòng: python -m pipeline explain {quarter} {indicator.id}")
        return lines

    def change_comment(self, quarter: str) -> list[str]:
        previous = previous_quarter(quarter)
        kind = {"stock": "so sánh mức cuối hai quý", "flow": "so sánh số phát sinh trong hai quý",
                "rate": "so sánh hai tỷ lệ đã làm tròn"}[self.indicator.measure]
        return [f"{self.indicator.id}: thay đổi so với {quarter_words(previous)} ({kind})",
                f"{quarter_words(quarter)}: {self.text} (đầy đủ {_full(self.value)})",
                f"{quarter_words(previous)}: {figure(self.previous, self.indicator.unit, self.indicator.decimals)} "
                f"(đầy đủ {_full(self.previous)})",
                f"Liệt kê các dòng: python -m pipeline explain {previous} {self.indicator.id}"]


def _full(value: float) -> str:
    return number(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0").replace(".", ",")


def load_figures(conn, quarter: str) -> dict[str, Figure]:
    previous = previous_quarter(quarter)
    values = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
    before = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [previous]).fetchall())
    definitions = {i: (d, json.loads(f or "[]"), json.loads(m or "{}")) for i, d, f, m in conn.execute(
        "SELECT indicator_id, definition, files, missing FROM indicator_definitions WHERE quarter = ?", [quarter]).fetchall()}
    findings = conn.execute("SELECT check_id, message FROM findings WHERE quarter = ? AND check_id IN "
                            "('indicator_unavailable', 'rate_undefined')", [quarter]).fetchall()
    figures = {}
    for indicator_id, value in values.items():
        indicator = INDICATORS_BY_ID.get(indicator_id)
        if indicator is None:
            continue
        definition, files, missing = definitions.get(indicator_id, ("", [], {}))
        about = [(c, m) for c, m in findings if m.startswith(f"Chỉ tiêu {indicator_id} (")]
        figures[indicator_id] = Figure(indicator, value, before.get(indicator_id), indicator_id in before,
                                       definition, files, missing, about)
    return figures


def render(template: Path, quarter: str, figures: dict[str, Figure], edition: dict, profile: Path | None = None) -> io.BytesIO:
    """The template rendered, figures still as markers; `phien_ban` names the version the figures come from."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError as JinjaError

    def so(indicator_id: str) -> str:
        if indicator_id not in figures:
            raise TemplateError(f"mẫu báo cáo {template} dùng chỉ tiêu {indicator_id!r}, không có trong bảng indicators "
                                f"của {quarter}")
        return f"⟦so:{indicator_id}⟧"

    def thay_doi(indicator_id: str, ngoac: bool = True) -> str:
        so(indicator_id)
        return f"⟦{'doi' if ngoac else 'doi,'}:{indicator_id}⟧" if figures[indicator_id].change(quarter) else ""

    last_day = quarter_window(quarter)[1]
    organization = organization_for(quarter, profile)
    context = {"co_quan": organization, "quy": quarter_words(quarter), "nam": last_day.year,
               "ngay_thang": f"{organization.place}, ngày      tháng {last_day.month} năm {last_day.year}",
               "so": so, "thay_doi": thay_doi, "phien_ban": edition_words(quarter, edition)}
    try:
        document = DocxTemplate(str(template))
        document.render(context, autoescape=True)
    except TemplateError:
        raise
    except JinjaError as exc:
        where = f" (dòng {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise TemplateError(f"mẫu báo cáo {template} có thẻ Jinja sai{where}: {exc}") from None
    except Exception as exc:  # not a .docx, or a damaged one
        raise TemplateError(f"không mở được mẫu báo cáo {template}: {exc}") from None
    out = io.BytesIO()
    document.save(out)
    out.seek(0)
    return out


def _paragraphs(document):
    """Every paragraph of the body, those in tables included (figures belong to the body, not the page header)."""
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    for p in document.element.body.iter(qn("w:p")):
        yield Paragraph(p, document)


def fill_figures(rendered: io.BytesIO, quarter: str, figures: dict[str, Figure]) -> tuple[object, dict]:
    """Each marker replaced by its text in a run of its own, with its comment. Returns the document and counts."""
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.text.run import Run

    document = Document(rendered)
    counts = {"figures": 0, "null_figures": 0, "changes": 0, "comments": 0}
    for paragraph in list(_paragraphs(document)):
        for run in list(paragraph.runs):
            if "⟦" not in run.text:
                continue
            pieces = _MARKER.split(run.text)  # text, kind, id, text, kind, id, ..., text
            anchor = run._r
            for n in range(0, len(pieces), 3):
                if pieces[n]:
                    anchor = _run_after(anchor, run._r, pieces[n])
                if n + 1 >= len(pieces):
                    break
                kind, indicator_id = pieces[n + 1], pieces[n + 2]
                item = figures[indicator_id]
                text = item.text if kind == "so" else item.change(quarter, brackets=kind == "doi")
                anchor = _run_after(anchor, run._r, text)
                added = Run(anchor, paragraph)
                if kind == "so":
                    counts["figures"] += 1
                    if item.value is None:
                        counts["null_figures"] += 1
                        added.font.highlight_color = WD_COLOR_INDEX.YELLOW
                    lines = item.comment(quarter)
                else:
                    counts["changes"] += 1
                    lines = item.change_comment(quarter)
                comment = document.add_comment(added, text=lines[0], author=AUTHOR, initials=INITIALS)
                for line in lines[1:]:
                    comment.add_paragraph(line)
                counts["comments"] += 1
                anchor = _past_comment_marks(anchor)
            run._r.getparent().remove(run._r)
    return document, counts


def _past_comment_marks(element):
    """The last of the marks Word puts after a commented run (range end, reference run): text goes after them."""
    from docx.oxml.ns import qn

    while (following := element.getnext()) is not None and (
            following.tag == qn("w:commentRangeEnd") or following.find(qn("w:commentReference")) is not None):
        element = following
    return element


def _run_after(anchor, model, text: str):
    """A run with `model`'s formatting and `text`, placed after `anchor`."""
    from docx.text.run import Run

    element = copy.deepcopy(model)
    run = Run(element, None)
    run.text = text
    anchor.addnext(element)
    return element


def docx_content(path: Path) -> dict[str, bytes]:
    """What a draft says, without what changes on every run (the times of the archive's entries, of the
    document's properties and of its comments): an unchanged draft keeps no earlier version."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: re.sub(rb' w:date="[^"]*"', b"", archive.read(name)) for name in sorted(archive.namelist())
                if name != "docProps/core.xml"}


def province_template(profile: Path | None) -> Path:
    """The report's wording for a province: `<province>.docx` beside its profile when the province wrote its own
    (the packaged template speaks of Trà Vinh's plans and decisions), else the packaged one."""
    own = profile.with_suffix(".docx") if profile is not None else None
    return own if own is not None and own.is_file() else TEMPLATE


def build_report(conn, quarter: str, target: Path, template: Path | None = None, edition: dict | None = None,
                 profile: Path | None = None) -> dict:
    """Write the draft to `target` atomically, the earlier file, when it differs, kept under `versions/`. The
    template's `{{ phien_ban }}` names the version it is made from (`edition`, by default the current one); the
    header is the province's (`profile`, by default the default province's)."""
    figures = load_figures(conn, quarter)
    rendered = render(template or province_template(profile), quarter, figures, edition or current_edition(conn, quarter),
                      profile)
    document, counts = fill_figures(rendered, quarter, figures)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    document.core_properties.title = f"Báo cáo {quarter_words(quarter)}"
    document.core_properties.author = AUTHOR
    document.save(partial)
    kept = publish_file(partial, target, content=docx_content)
    return {**counts, "compared_with": previous_quarter(quarter) if counts["changes"] else "none",
            "previous_version_kept": str(kept) if kept else "none"}


@dg.asset(description=say("ui.asset_report_draft"), kinds={"docx"}, **OUTPUT_ASSET)
def report_draft(context: dg.AssetExecutionContext, paths: PipelinePaths, duckdb: DuckDBResource):
    """The draft of the quarter's report (`outputs/<quarter>/bao-cao-<quarter>.docx`) from the editable template
    `assets/outputs/templates/bao-cao.docx`: every figure filled in as the annex prints it, each with a Word
    comment tracing it to its rows and files, and the change since the previous quarter where it is known."""
    target, summary = write_output(context, paths, duckdb, DRAFT_NAME, build_report,
                                   (TemplateError, ProfileError))
    if summary["null_figures"]:
        context.log.warning(say("log.draft_incomplete", quarter=context.partition_key, count=summary["null_figures"], no_data=NO_DATA))
    return output_result(target, summary)
