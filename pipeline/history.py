"""`python -m pipeline history QUARTER [--latest]`: every version of a quarter's figures, what changed.

Each materialization of `indicators` and `findings` is a version (`pipeline.lib.versions`): this lists them
with their run, time, NULL figures and findings by severity, then, between each version and the one before
it, the figures that changed (`became NULL` and moves beyond FIGURE_CHANGE_ALERT flagged), and the annex
files kept. Every earlier figure stays readable in `indicators_history`.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.lib.versions import VERSIONS_TABLE, change_share, figure_changes, shown_value
from pipeline.lib.warehouse import table_exists
from pipeline.partitions import parse_quarter
from pipeline.resources import open_for_reading


class HistoryError(Exception):
    """A message for the user (no warehouse, bad quarter, no version)."""


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
        lines = [] if latest_only else [f"{quarter}: {len(versions)} version(s) of the figures (current: v{versions[-1][0]})"]
        for version, run_id, at, count, nulls in shown:
            found = ", ".join(f"{severities.get((version, s), 0)} {s}" for s in ("error", "warning", "info"))
            when = at.strftime("%Y-%m-%d %H:%M:%S") if at else "before history was kept"
            lines.append(f"  v{version}  {when}  run {(run_id or '-')[:8]}  {count} figures, {nulls} NULL; findings: {found}")
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
            current = folder / f"phu-luc-{quarter}.xlsx"
            lines.append(f"  annex: {current}" + ("" if current.exists() else " (not written)"))
            lines += [f"  earlier annex: {path}" for path in kept]
        return "\n".join(lines)
    finally:
        conn.close()
