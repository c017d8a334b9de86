"""Findings: every problem the pipeline sees in the exports, located to the file, sheet and row."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipeline.lib.wording import located

SEVERITIES = ("error", "warning", "info")
FINDING_COLUMNS = ("quarter", "check_id", "severity", "source", "file", "sheet", "row", "message")
FINDINGS_COLUMNS = {c: ("INTEGER" if c == "row" else "VARCHAR") for c in FINDING_COLUMNS} | {"cell": "VARCHAR"}
# Each stage (an ingest source, reconciliation, indicators) replaces its own findings of the quarter here;
# the `findings` asset publishes their union as the contract table.
STAGE_FINDINGS = "stage_findings"
STAGE_FINDINGS_COLUMNS = FINDINGS_COLUMNS | {"stage": "VARCHAR"}


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: str
    source: str
    message: str  # in Vietnamese: what was expected, what was found, what was done (the place is added)
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None  # e.g. "E27" where a single cell is at fault
    table: str | None = None  # the export table concerned, for the asset checks (not a contract column)

    @property
    def text(self) -> str:
        """The message as stored and shown: its place (file, sheet, row, cell) first, so it reads on its own."""
        return located(self.message, self.file, self.sheet, self.row, self.cell)

    def record(self, quarter: str) -> dict:
        record = asdict(self)
        del record["table"]
        return {"quarter": quarter, **record, "message": self.text}
