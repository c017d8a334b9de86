"""Parsed files keyed by content: a file whose bytes did not change is not parsed again.

The key is the file's sha256, its path in the quarter and the version of the reading code (a hash of the
modules that turn cells into typed rows), so a new pipeline version re-parses everything. Entries are
pickles the pipeline wrote itself, under the warehouse's folder, never under the read-only raw zone.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from pipeline.lib import reader, tablespecs, text, values
from pipeline.lib.reader import FileResult, read_file, sha256_of
from pipeline.lib.tablespecs import TableSpec

READER_VERSION = hashlib.sha256(
    b"".join(Path(m.__file__).read_bytes() for m in (reader, tablespecs, values, text))
).hexdigest()[:16]


def read_file_cached(path: Path, relative: str, source: str, specs: tuple[TableSpec, ...],
                     cache_dir: Path | None) -> tuple[FileResult, bool]:
    """(result, reused): the cached parse when the file's content is unchanged, else a fresh parse."""
    if cache_dir is None:
        return read_file(path, relative, source, specs), False
    digest = sha256_of(path)
    key = hashlib.sha256(f"{READER_VERSION}\0{source}\0{relative}\0{digest}".encode()).hexdigest()
    entry = cache_dir / f"{key}.pickle"
    if entry.exists():
        try:
            with open(entry, "rb") as handle:
                return pickle.load(handle), True
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            entry.unlink(missing_ok=True)  # a damaged entry is parsed again
    result = read_file(path, relative, source, specs)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = entry.with_suffix(f".{os.getpid()}.partial")
    with open(partial, "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, entry)
    return result, False
