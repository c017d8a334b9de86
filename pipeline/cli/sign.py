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
from pipeline.lib.messages import say
from pipeline.lib.reader import sha256_of
from pipeline.lib.signoff import signed_words
from pipeline.lib.versions import ANNEX_NAME, DRAFT_NAME
from pipeline.lib.wording import number
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
        raise SignError(say("sign.no_lake", quarter=quarter, warehouse=warehouse))
    with lake.reading(warehouse) as conn:
        versions = lake.published_versions(conn, quarter)
    if not versions:
        raise SignError(say("sign.never_materialized", quarter=quarter, lake=lake.location(warehouse)))
    return versions


def error_findings(warehouse: str, quarter: str, snapshot: int) -> int:
    with lake.reading(warehouse, snapshot) as conn:
        return conn.execute("SELECT count(*) FROM findings WHERE quarter = ? AND severity = 'error'", [quarter]).fetchone()[0]


def sign(warehouse: str, outputs_dir: str, quarter: str, by: str, note: str | None, accept_errors: bool) -> str:
    """Sign the quarter's latest version; the lines to print."""
    if not by.strip():
        raise SignError(say("sign.needs_by"))
    version = published(warehouse, quarter)[-1]
    current = lake.signoff_of(warehouse, quarter)
    if current and current["version"] == version["version"]:
        raise SignError(say("sign.already_signed", quarter=quarter, signed=signed_words(current)))
    errors = error_findings(warehouse, quarter, version["snapshot_id"])
    if errors and not accept_errors:
        raise SignError(say("sign.has_errors", version=version["version"], quarter=quarter, errors=number(errors)))
    folder = Path(outputs_dir) / quarter
    kept = folder / "signed" / f"v{version['version']}"
    files = {}
    for kind, name in (("annex", ANNEX_NAME), ("draft", DRAFT_NAME)):
        path = folder / name.format(quarter=quarter)
        expected = version[f"{kind}_sha256"]
        if not path.is_file() or sha256_of(path) != expected:
            raise SignError(say("sign.other_file" if path.is_file() else "sign.missing_file", path=path,
                                kind=say(f"sign.kind_{kind}"), version=version["version"], quarter=quarter))
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
    lines = [say("sign.signed", quarter=quarter, signed=signed_words(signoff), note=say("sign.note", note=note) if note else ""),
             say("sign.annex", path=signoff["annex_file"], sha256=signoff["annex_sha256"]),
             say("sign.draft", path=signoff["draft_file"], sha256=signoff["draft_sha256"])]
    if signoff["accepted_errors"]:
        lines.append(say("sign.over_errors", errors=number(errors)))
    lines.append(say("sign.locked", quarter=quarter))
    return "\n".join(lines)
