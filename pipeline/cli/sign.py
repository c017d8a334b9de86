"""`python -m pipeline sign QUARTER --by NAME [--note TEXT] [--accept-errors]`: sign the quarter's current version.

The sign-off names the version, who signed, when, the note, and the sha256 of the annex and the draft it signs;
those two files are kept byte for byte under `outputs/<quarter>/signed/v<N>/`, read-only. The files on disk
must be the ones made from that version (their sha256 is in the version's snapshot), so nobody signs an annex
that another run replaced. A version with ERROR findings is signed only with `--accept-errors`, recorded too.
From then on the quarter is locked (`pipeline.lib.signoff`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import duckdb

from pipeline.lib import lake
from pipeline.lib.archive import READ_ONLY
from pipeline.lib.reader import sha256_of
from pipeline.lib.signoff import signed_words
from pipeline.lib.versions import ANNEX_NAME, DRAFT_NAME
from pipeline.orchestration.partitions import parse_quarter


class SignError(Exception):
    """A reason the quarter cannot be signed as asked, for the user."""


def published(warehouse: str, quarter: str) -> list[dict]:
    """The quarter's published versions; a plain reason when the quarter is not a key or was never materialized."""
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise SignError(str(exc)) from None
    if not lake.exists(warehouse):
        raise SignError(f"{quarter} was never materialized: there is no versioned warehouse beside {warehouse} yet")
    with lake.reading(warehouse) as conn:
        versions = lake.published_versions(conn, quarter)
    if not versions:
        raise SignError(f"{quarter} was never materialized (no published version in {lake.location(warehouse)}); "
                        f"run `python -m pipeline run {quarter}` first")
    return versions


def error_findings(warehouse: str, quarter: str, snapshot: int) -> int:
    with lake.reading(warehouse, snapshot) as conn:
        return conn.execute("SELECT count(*) FROM findings WHERE quarter = ? AND severity = 'error'", [quarter]).fetchone()[0]


def sign(warehouse: str, outputs_dir: str, quarter: str, by: str, note: str | None, accept_errors: bool) -> str:
    """Sign the quarter's latest version; the lines to print."""
    if not by.strip():
        raise SignError("--by needs the name of the person who signs")
    version = published(warehouse, quarter)[-1]
    current = lake.signoff_of(warehouse, quarter)
    if current and current["version"] == version["version"]:
        raise SignError(f"{quarter} is already signed: {signed_words(current)}")
    errors = error_findings(warehouse, quarter, version["snapshot_id"])
    if errors and not accept_errors:
        raise SignError(f"version {version['version']} of {quarter} has {errors} ERROR finding(s) "
                        f"(python -m pipeline history {quarter}); to sign over them, add --accept-errors (it is recorded)")
    folder = Path(outputs_dir) / quarter
    kept = folder / "signed" / f"v{version['version']}"
    files = {}
    for kind, name in (("annex", ANNEX_NAME), ("draft", DRAFT_NAME)):
        path = folder / name.format(quarter=quarter)
        expected = version[f"{kind}_sha256"]
        if not path.is_file() or sha256_of(path) != expected:
            raise SignError(f"{path} is not the {kind} made from version {version['version']} of {quarter} "
                            f"({'missing' if not path.is_file() else 'its sha256 differs'}): re-run the quarter, then sign")
        files[kind] = path
    kept.mkdir(parents=True, exist_ok=True)
    signoff = {"quarter": quarter, "version": version["version"], "snapshot_id": version["snapshot_id"],
               "signed_by": by.strip(), "signed_at": dt.datetime.now().replace(microsecond=0), "note": note,
               "accepted_errors": bool(errors and accept_errors), "error_findings": errors}
    for kind, path in files.items():
        target = kept / path.name
        if target.exists():
            os.chmod(target, stat.S_IWUSR | READ_ONLY)
        shutil.copyfile(path, target)
        os.chmod(target, READ_ONLY)
        signoff[f"{kind}_file"] = str(target)
        signoff[f"{kind}_sha256"] = sha256_of(target)
    conn = duckdb.connect()
    try:
        lake.record_signoff(conn, warehouse, signoff)
    finally:
        conn.close()
    lines = [f"{quarter}: {signed_words(signoff)}" + (f" ({note})" if note else ""),
             f"  annex: {signoff['annex_file']}  sha256 {signoff['annex_sha256']}",
             f"  draft: {signoff['draft_file']}  sha256 {signoff['draft_sha256']}"]
    if signoff["accepted_errors"]:
        lines.append(f"  signed over {errors} ERROR finding(s) (--accept-errors, recorded)")
    lines.append(f"  {quarter} is now locked: runs, the sensor and the schedule leave it as signed "
                 f"(to amend: python -m pipeline run {quarter} --amend \"REASON\")")
    return "\n".join(lines)
