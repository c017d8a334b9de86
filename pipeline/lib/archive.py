"""The inputs' archive: every file a run read, kept once by content, read-only, outside the landing zone.

`<warehouse dir>/archive/<first two hex digits>/<sha256><suffix>`: the same bytes under any name or quarter
are one file; the suffix (of the name the bytes first arrived under) lets Excel or LibreOffice open it. The
landing zone is only read: the file is copied, and the copy's own sha256 must be the one the reader saw.
A version's rows name their file's sha256 (`_sha256`), so its files open again after `raw/` changed or
was deleted.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from pipeline.lib.messages import say

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class ArchiveError(Exception):
    """A file could not be archived as read (it changed while the run read it, or the disk refused)."""


def archive_dir(warehouse: str | Path) -> Path:
    return Path(warehouse).parent / "archive"


def archived(warehouse: str | Path, sha256: str) -> Path | None:
    """The archived copy of the bytes with this sha256, or None."""
    if not sha256:
        return None
    return next(iter(sorted((archive_dir(warehouse) / sha256[:2]).glob(f"{sha256}*"))), None)


def keep(warehouse: str | Path, path: Path, sha256: str) -> Path:
    """Archive `path`, whose bytes the run read as `sha256` (nothing copied when they are archived already)."""
    present = archived(warehouse, sha256)
    if present is not None:
        return present
    folder = archive_dir(warehouse) / sha256[:2]
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-")
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as source, os.fdopen(handle, "wb") as copy:
            while block := source.read(1 << 20):
                digest.update(block)
                copy.write(block)
        if digest.hexdigest() != sha256:
            raise ArchiveError(say("archive.changed_while_read", path=path, read=sha256[:12], archived=digest.hexdigest()[:12]))
        os.chmod(partial, READ_ONLY)
        target = folder / f"{sha256}{path.suffix.lower()}"
        os.replace(partial, target)
        return target
    except OSError as exc:
        raise ArchiveError(say("archive.cannot_archive", path=path, folder=folder, reason=exc.strerror or exc)) from None
    finally:
        if os.path.exists(partial):
            os.chmod(partial, stat.S_IWUSR | READ_ONLY)
            os.remove(partial)

