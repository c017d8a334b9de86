"""The one generic reader: any agency export that follows `shared/spec/exports.md`, driven by `TableSpec`s.

A file's format is decided from its bytes (xlsx zip, BIFF8 OLE2, or an HTML table saved as `.xls`);
each sheet is matched to a table by its header labels; title blocks, column-number rows, total rows and
signature blocks are skipped; each record's cells are kept as the file holds them, with their own type (the
raw layer: `raw_<table>` in the warehouse), where they came from (sheet, Excel row). Typing them is
staging's work, in SQL (`assets/ingest/`). Nothing raises past `read_file`: an unreadable file or sheet
becomes a `Finding`.

One module per concern, the entry point first:
- `files`: `read_file`, one file into its tables and findings (and the file-level helpers);
- `formats`: the format from the bytes, the size limits, workbooks opened;
- `workbooks`: a workbook's rows below the header straight into Arrow (fastexcel), its head read by calamine;
- `html_tables`: HTML tables and their spans;
- `sheets`: a sheet's cells as the reader sees them, whatever the format;
- `headers`: finding a table's header (and the column-number row);
- `rows`: the rows below it, where the table ends, the records' cells;
- `distinct`: columns held once per distinct value, so no Python runs per cell; the raw layer's cells.
"""

from pipeline.lib.reader.files import IGNORED_NAME_REASON, FileResult, is_ignored_name, read_file, rejected_result, sha256_of
from pipeline.lib.reader.formats import detect_format, load_sheets
from pipeline.lib.reader.headers import HeaderMatch, find_header
from pipeline.lib.reader.rows import column_letter, extract_rows
from pipeline.lib.reader.sheets import RawSheet, UnreadableFile

__all__ = ["IGNORED_NAME_REASON", "FileResult", "HeaderMatch", "RawSheet", "UnreadableFile", "column_letter", "detect_format",
           "extract_rows", "find_header", "is_ignored_name", "load_sheets", "read_file", "rejected_result", "sha256_of"]
