"""`python -m pipeline history QUARTER [--latest]`: every version of a quarter's figures, what changed.

Each materialization of `indicators` and `findings` is a version (`pipeline.lib.versions`): this lists them
with their run, time, NULL figures and findings by severity, then, between each version and the one before
it, the figures that changed (`became NULL` and moves beyond FIGURE_CHANGE_ALERT flagged), and the annex
files kept. Every earlier figure stays readable in `indicators_history`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.lib import lake
from pipeline.lib.messages import say
from pipeline.lib.signoff import signed_words
from pipeline.lib.versions import ANNEX_NAME, VERSIONS_TABLE, change_share, figure_changes, shown_value
from pipeline.lib.warehouse import table_exists
from pipeline.lib.wording import number
from pipeline.orchestration.partitions import parse_quarter
from pipeline.orchestration.resources import open_for_reading


class HistoryError(Exception):
    """A message for the user (no warehouse, bad quarter, no version)."""


def published_and_signed(warehouse: str, quarter: str) -> tuple[dict[int, dict], dict | None]:
    """The quarter's published versions by number and its current sign-off (empty before the lake exists)."""
    if not lake.exists(warehouse):
        return {}, None
    with lake.reading(warehouse) as conn:
        return {v["version"]: v for v in lake.published_versions(conn, quarter)}, lake.current_signoff(conn, quarter)


def _version_marks(version: int, published: dict | None, signoff: dict | None) -> str:
    marks = []
    if signoff and signoff["version"] == version:
        marks.append(say("history.mark_signed", signed_by=signoff["signed_by"], signed_at=signoff["signed_at"]))
    if published and published["amendment_of"]:
        marks.append(say("history.mark_amendment", amendment_of=published["amendment_of"], reason=published["amend_reason"]))
    if published is None:
        marks.append(say("history.mark_unpublished"))
    return "".join(marks)


def signed_folder(signoff: dict, outputs_dir: str, quarter: str) -> str:
    """Where the signed annex and draft are: the folder the sign-off recorded, else the same place under today's
    outputs folder (a warehouse and its outputs moved or restored elsewhere, so the record names the old folder),
    said so when neither holds them."""
    recorded = Path(signoff["annex_file"])
    if recorded.is_file():
        return str(recorded.parent)
    here = Path(outputs_dir) / quarter / "signed" / f"v{signoff['version']}"
    if (here / recorded.name).is_file():
        return say("history.folder_moved", here=here, recorded=recorded.parent)
    return say("history.folder_missing", recorded=recorded.parent, here=here)


def history(warehouse: str, outputs_dir: str, quarter: str, latest_only: bool = False) -> str:
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise HistoryError(str(exc)) from None
    conn = open_for_reading(warehouse, HistoryError)
    try:
        if not table_exists(conn, VERSIONS_TABLE):
            raise HistoryError(say("history.no_history", warehouse=warehouse))
        versions = conn.execute(
            f"SELECT v.version, v.run_id, v.materialized_at, v.row_count, "
            f"  (SELECT count(*) FROM indicators_history h WHERE h.quarter = v.quarter AND h.version = v.version "
            f"   AND h.value IS NULL) AS nulls "
            f"FROM {VERSIONS_TABLE} v WHERE v.quarter = ? AND v.table_name = 'indicators' ORDER BY v.version",
            [quarter]).fetchall()
        if not versions:
            raise HistoryError(say("history.never_materialized", quarter=quarter, warehouse=warehouse))
        share = change_share()
        severities = dict(((v, s), n) for v, s, n in conn.execute(
            f"SELECT v.version, f.severity, count(*) FROM {VERSIONS_TABLE} v JOIN {VERSIONS_TABLE} fv ON fv.quarter = v.quarter "
            "AND fv.table_name = 'findings' AND fv.run_id IS NOT DISTINCT FROM v.run_id "
            "JOIN findings_history f ON f.quarter = fv.quarter AND f.version = fv.version "
            "WHERE v.quarter = ? AND v.table_name = 'indicators' GROUP BY ALL", [quarter]).fetchall()) \
            if table_exists(conn, "findings_history") else {}
        shown = versions[-1:] if latest_only else versions
        published, signoff = published_and_signed(warehouse, quarter)
        lines = [] if latest_only else [say("history.title", quarter=quarter, count=len(versions), current=versions[-1][0])]
        for version, run_id, at, count, nulls in shown:
            found = {s: number(severities.get((version, s), 0)) for s in ("error", "warning", "info")}
            lines.append(say("history.version", version=version, when=f"{at:%d/%m/%Y %H:%M:%S}" if at else
                             say("history.before_history"), run=(run_id or "-")[:8], figures=number(count),
                             nulls=number(nulls), error=found["error"], warning=found["warning"], info=found["info"],
                             marks=_version_marks(version, published.get(version), signoff)))
        if signoff:
            lines.insert(1, say("history.signed", signed=signed_words(signoff),
                                note=say("history.signed_note", note=signoff["note"]) if signoff["note"] else "",
                                over_errors=say("history.signed_over_errors", errors=signoff["error_findings"])
                                if signoff["accepted_errors"] else "",
                                folder=signed_folder(signoff, outputs_dir, quarter)))
        for version, *_ in shown:
            changes = figure_changes(conn, quarter, version, share)
            if changes.empty:
                if version != versions[0][0]:
                    lines.append(say("history.unchanged", version=version))
                continue
            lines.append(say("history.changes", version=version, previous=int(changes.from_version.iloc[0]), share=share))
            for c in changes.itertuples():
                lines.append(say("history.change", flag="!!" if c.kind in ("became NULL", "moved") else "  ",
                                 indicator=c.indicator_id, before=shown_value(c.before), after=shown_value(c.after),
                                 kind=say(f"history.kind.{c.kind}")))
        if not latest_only:
            folder = Path(outputs_dir) / quarter
            kept = sorted((folder / "versions").glob("*.xlsx")) if (folder / "versions").is_dir() else []
            current = folder / ANNEX_NAME.format(quarter=quarter)
            lines.append(say("history.annex" if current.exists() else "history.annex_not_written", path=current))
            lines += [say("history.earlier_annex", path=path) for path in kept]
        return "\n".join(lines)
    finally:
        conn.close()


def _row_changes(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows added, rows removed): a row is its table and its cells as the file holds them, wherever it sits, so
    a record moved or a file re-sent unchanged adds and removes nothing; equal rows count as many times as they
    appear."""
    identity = ["staging_table"] + list(dict.fromkeys(c for f in (before, after) for c in f.columns if c not in LOCATION))
    before, after = (frame.reindex(columns=list(LOCATION) + identity[1:]).astype({c: object for c in identity})
                     for frame in (before, after))
    before, after = (frame.assign(_n=frame.groupby(identity, dropna=False).cumcount()) for frame in (before, after))
    keys = identity + ["_n"]
    added = after.merge(before[keys], how="left", on=keys, indicator=True)
    removed = before.merge(after[keys], how="left", on=keys, indicator=True)
    return tuple(frame[frame._merge == "left_only"].drop(columns=["_n", "_merge"]) for frame in (added, removed))


LOCATION = ("staging_table", "file", "sheet", "row", "sha256", "detail")


def _row_text(row) -> str:
    cells = " | ".join(f"{k}: {v}" for k, v in row.items() if k not in LOCATION and v is not None and v == v)
    return say("diff.row", file=row["file"], sheet=row["sheet"], row=row["row"], sha256=str(row["sha256"])[:12], cells=cells)


SHOWN_ROWS = 20  # rows shown per figure and kind; `--rows` writes every one


def version_diff(warehouse: str, quarter: str, first: str, second: str) -> tuple[str, pd.DataFrame]:
    """Between two published versions of the quarter: the files added, removed or replaced, and for each figure that
    changed its value, the rows added and removed (as `explain` lists them) with the files they are in. Returns the
    text and every such row (indicator, added or removed, place, cells)."""
    from pipeline.cli.explain import contributing_rows

    try:
        parse_quarter(quarter)
        versions = [lake.resolve_version(warehouse, quarter, wanted) for wanted in (first, second)]
    except (ValueError, lake.LakeError) as exc:
        raise HistoryError(str(exc)) from None
    conns = [lake.open_lake(warehouse, v["snapshot_id"]) for v in versions]
    try:
        files = [dict(c.execute("SELECT path, sha256 FROM raw_files WHERE quarter = ?", [quarter]).fetchall()) for c in conns]
        values = [dict(c.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ? ORDER BY position",
                                 [quarter]).fetchall()) for c in conns]
        a, b = versions
        amendment = say("diff.amendment", amendment_of=b["amendment_of"], reason=b["amend_reason"]) if b["amendment_of"] else ""
        lines = [say("diff.title", quarter=quarter, first=a["version"], second=b["version"], amendment=amendment)]
        changed_files = []
        for path in sorted(set(files[0]) | set(files[1])):
            old, new = files[0].get(path), files[1].get(path)
            if old == new:
                continue
            kind = "file_added" if old is None else "file_removed" if new is None else "file_replaced"
            changed_files.append(say(f"diff.{kind}", path=path, old=old, new=new))
        lines.append(say("diff.files_changed", count=len(changed_files)) if changed_files else say("diff.no_file_changed"))
        lines += changed_files
        changed = [i for i in values[1] if values[0].get(i) != values[1].get(i) and not (
            values[0].get(i) is None and values[1].get(i) is None)]
        changed += [i for i in values[0] if i not in values[1]]
        lines.append(say("diff.figures_changed", count=len(changed)) if changed else say("diff.no_figure_changed"))
        listed: list[pd.DataFrame] = []
        for indicator in changed:
            lines.append(say("diff.figure", indicator=indicator, before=shown_value(values[0].get(indicator)),
                             after=shown_value(values[1].get(indicator))))
            before, after = (contributing_rows(c, quarter, indicator) for c in conns)
            if before.empty and after.empty:
                lines.append(say("diff.a_rate"))
                continue
            added, removed = _row_changes(before, after)
            for kind, rows in (("removed", removed), ("added", added)):
                if len(rows):
                    behind = ", ".join(sorted(set(rows.file)))
                    lines.append(say(f"diff.rows_{kind}", count=number(len(rows)), files=behind))
                    lines += [f"        {_row_text(row)}" for row in rows.head(SHOWN_ROWS).to_dict("records")]
                    if len(rows) > SHOWN_ROWS:
                        lines.append(say("diff.more_rows", count=number(len(rows) - SHOWN_ROWS)))
                    listed.append(rows.assign(indicator_id=indicator, change=kind))
        rows = pd.concat(listed, ignore_index=True) if listed else pd.DataFrame(columns=["indicator_id", "change", *LOCATION])
        return "\n".join(lines), rows[["indicator_id", "change", *[c for c in rows.columns if c not in ("indicator_id", "change")]]]
    finally:
        for conn in conns:
            conn.close()
