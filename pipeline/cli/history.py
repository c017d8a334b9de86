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
from pipeline.lib.signoff import signed_words
from pipeline.lib.versions import ANNEX_NAME, VERSIONS_TABLE, change_share, figure_changes, shown_value
from pipeline.lib.warehouse import table_exists
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
        marks.append(f"SIGNED by {signoff['signed_by']} on {signoff['signed_at']:%Y-%m-%d %H:%M}")
    if published and published["amendment_of"]:
        marks.append(f"amendment of signed v{published['amendment_of']}: {published['amend_reason']}")
    if published is None:
        marks.append("not in the versioned warehouse (made before it, or its run stopped before publishing)")
    return "".join(f"  [{m}]" for m in marks)


def signed_folder(signoff: dict, outputs_dir: str, quarter: str) -> str:
    """Where the signed annex and draft are: the folder the sign-off recorded, else the same place under today's
    outputs folder (a warehouse and its outputs moved or restored elsewhere, so the record names the old folder),
    said so when neither holds them."""
    recorded = Path(signoff["annex_file"])
    if recorded.is_file():
        return str(recorded.parent)
    here = Path(outputs_dir) / quarter / "signed" / f"v{signoff['version']}"
    if (here / recorded.name).is_file():
        return f"{here} (recorded as {recorded.parent})"
    return f"{recorded.parent} (not found there, nor in {here})"


def history(warehouse: str, outputs_dir: str, quarter: str, latest_only: bool = False) -> str:
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise HistoryError(str(exc)) from None
    conn = open_for_reading(warehouse, HistoryError)
    try:
        if not table_exists(conn, VERSIONS_TABLE):
            raise HistoryError(f"the warehouse {warehouse} has no version history yet (materialize a quarter first)")
        versions = conn.execute(
            f"SELECT v.version, v.run_id, v.materialized_at, v.row_count, "
            f"  (SELECT count(*) FROM indicators_history h WHERE h.quarter = v.quarter AND h.version = v.version "
            f"   AND h.value IS NULL) AS nulls "
            f"FROM {VERSIONS_TABLE} v WHERE v.quarter = ? AND v.table_name = 'indicators' ORDER BY v.version",
            [quarter]).fetchall()
        if not versions:
            raise HistoryError(f"no version of {quarter} in {warehouse}: the quarter was never materialized")
        share = change_share()
        severities = dict(((v, s), n) for v, s, n in conn.execute(
            f"SELECT v.version, f.severity, count(*) FROM {VERSIONS_TABLE} v JOIN {VERSIONS_TABLE} fv ON fv.quarter = v.quarter "
            "AND fv.table_name = 'findings' AND fv.run_id IS NOT DISTINCT FROM v.run_id "
            "JOIN findings_history f ON f.quarter = fv.quarter AND f.version = fv.version "
            "WHERE v.quarter = ? AND v.table_name = 'indicators' GROUP BY ALL", [quarter]).fetchall()) \
            if table_exists(conn, "findings_history") else {}
        shown = versions[-1:] if latest_only else versions
        published, signoff = published_and_signed(warehouse, quarter)
        lines = [] if latest_only else [f"{quarter}: {len(versions)} version(s) of the figures (current: v{versions[-1][0]})"]
        for version, run_id, at, count, nulls in shown:
            found = ", ".join(f"{severities.get((version, s), 0)} {s}" for s in ("error", "warning", "info"))
            when = at.strftime("%Y-%m-%d %H:%M:%S") if at else "before history was kept"
            lines.append(f"  v{version}  {when}  run {(run_id or '-')[:8]}  {count} figures, {nulls} NULL; findings: {found}"
                         + _version_marks(version, published.get(version), signoff))
        if signoff:
            lines.insert(1, f"  SIGNED: {signed_words(signoff)}" + (f" ({signoff['note']})" if signoff["note"] else "")
                         + (f"; signed over {signoff['error_findings']} ERROR finding(s) (--accept-errors)"
                            if signoff["accepted_errors"] else "")
                         + f"; annex and draft kept in {signed_folder(signoff, outputs_dir, quarter)}")
        for version, *_ in shown:
            changes = figure_changes(conn, quarter, version, share)
            if changes.empty:
                if version != versions[0][0]:
                    lines.append(f"  v{version}: no figure changed from the version before")
                continue
            lines.append(f"  changes in v{version} (from v{int(changes.from_version.iloc[0])}), "
                         f"flagged: became NULL, or moved by more than {share:.0%}:")
            for c in changes.itertuples():
                flag = "!!" if c.kind in ("became NULL", "moved") else "  "
                lines.append(f"   {flag} {c.indicator_id:<34} {shown_value(c.before):>12} -> {shown_value(c.after):<12} {c.kind}")
        if not latest_only:
            folder = Path(outputs_dir) / quarter
            kept = sorted((folder / "versions").glob("*.xlsx")) if (folder / "versions").is_dir() else []
            current = folder / ANNEX_NAME.format(quarter=quarter)
            lines.append(f"  annex: {current}" + ("" if current.exists() else " (not written)"))
            lines += [f"  earlier annex: {path}" for path in kept]
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
    return f"{row['file']}  sheet {row['sheet']}  row {row['row']}  sha256 {str(row['sha256'])[:12]}…  {cells}"


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
        lines = [f"{quarter}: version {a['version']} -> version {b['version']}"
                 + (f" (amendment of v{b['amendment_of']}: {b['amend_reason']})" if b["amendment_of"] else "")]
        changed_files = []
        for path in sorted(set(files[0]) | set(files[1])):
            old, new = files[0].get(path), files[1].get(path)
            if old == new:
                continue
            kind = "added" if old is None else "removed" if new is None else "replaced"
            shown = {"added": f"sha256 {new}", "removed": f"sha256 {old}", "replaced": f"sha256 {old} -> {new}"}[kind]
            changed_files.append(f"    {kind:<8} {path}  {shown}")
        lines.append(f"  files: {len(changed_files)} changed" + (":" if changed_files else ""))
        lines += changed_files
        changed = [i for i in values[1] if values[0].get(i) != values[1].get(i) and not (
            values[0].get(i) is None and values[1].get(i) is None)]
        changed += [i for i in values[0] if i not in values[1]]
        lines.append(f"  figures: {len(changed)} changed" + (":" if changed else ""))
        listed: list[pd.DataFrame] = []
        for indicator in changed:
            lines.append(f"    {indicator}: {shown_value(values[0].get(indicator))} -> {shown_value(values[1].get(indicator))}")
            before, after = (contributing_rows(c, quarter, indicator) for c in conns)
            if before.empty and after.empty:
                lines.append("      (a rate: see its numerator and denominator)")
                continue
            added, removed = _row_changes(before, after)
            for kind, rows in (("removed", removed), ("added", added)):
                if len(rows):
                    behind = ", ".join(sorted(set(rows.file)))
                    lines.append(f"      {kind} {len(rows):,} row(s), from {behind}:")
                    lines += [f"        {_row_text(row)}" for row in rows.head(SHOWN_ROWS).to_dict("records")]
                    if len(rows) > SHOWN_ROWS:
                        lines.append(f"        … and {len(rows) - SHOWN_ROWS:,} more (all of them: --rows FILE.xlsx)")
                    listed.append(rows.assign(indicator_id=indicator, change=kind))
        rows = pd.concat(listed, ignore_index=True) if listed else pd.DataFrame(columns=["indicator_id", "change", *LOCATION])
        return "\n".join(lines), rows[["indicator_id", "change", *[c for c in rows.columns if c not in ("indicator_id", "change")]]]
    finally:
        for conn in conns:
            conn.close()
