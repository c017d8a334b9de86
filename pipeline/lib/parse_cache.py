"""Parsed files keyed by content: a file whose bytes did not change is not parsed again.

The key is the file's sha256, its path in the quarter and the version of the reading code (a hash of the
modules that turn cells into typed rows), so a new pipeline version re-parses everything. Entries are
the pickles the pipeline's own reading children wrote (`pipeline.lib.isolation`), moved in as they are,
under the warehouse's folder, never under the read-only raw zone.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from importlib.metadata import version
from pathlib import Path

from pipeline.lib import legacy, reader, tablespecs, text, values
from pipeline.lib.reader import FileResult, sha256_of

READER_VERSION = hashlib.sha256(b"".join(
    [*(p.read_bytes() for p in [*sorted(Path(reader.__file__).parent.glob("*.py")),
                                *sorted(Path(legacy.__file__).parent.glob("*.*")),
                                *(Path(m.__file__) for m in (tablespecs, values, text))]),
     *(f"{name} {version(name)}".encode() for name in ("python-calamine", "fastexcel", "lxml", "xlrd"))]
)).hexdigest()[:16]


class ParseCache:
    """Parsed files under `folder` (None: nothing is cached, every file is parsed)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def entry(self, path: Path, relative: str, source: str) -> Path | None:
        if self.folder is None:
            return None
        key = f"{READER_VERSION}\0{source}\0{relative}\0{sha256_of(path)}"
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.pickle"

    def load(self, entry: Path | None) -> FileResult | None:
        """The cached parse, or None (never cached, or a damaged entry, which is parsed again)."""
        if entry is None or not entry.exists():
            return None
        try:
            with open(entry, "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            entry.unlink(missing_ok=True)
            return None

    def keep(self, entry: Path | None, written: Path) -> None:
        """Make the pickle a reading child wrote the entry (the same folder: an atomic rename)."""
        if entry is None:
            written.unlink(missing_ok=True)
        else:
            os.replace(written, entry)
