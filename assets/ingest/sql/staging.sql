-- The steps every staging table goes through after its own query (stg_<table>.sql) typed its cells, run by
-- assets/ingest/stage_in_sql.py in the ingest's transaction. `<<name>>` parts are filled from the table's spec
-- (pipeline/lib/tablespecs.py: its columns, labels, key, date column); `$name` are query parameters.

-- name: prepared_cells
-- Each column's distinct cells, for every table of the source, prepared once for the typing rules (`vi_cell`: blank
-- or not, its text normalized): names, dates and choices repeat thousands of times, and normalizing text is the
-- costly part. One query for the whole source, so the rules are planned once, not once per column. Each cell is held
-- under its table and column, so that `staged` reads a column's cells by a filter: joining each column's DISTINCT to
-- every prepared cell of the source cost 0.1 s a column for a table of a few hundred rows beside a large one.
CREATE OR REPLACE TEMP TABLE prepared_cells AS
SELECT table_name, column_name, cell, vi_cell(cell) AS prepared
FROM (<<source_cells>>);

-- name: agency_keys
-- The quarter's registry as the agency names of the exports are compared with it: each name and other name
-- (`Tên khác`, separated by `;`) under its key, with the codes holding that key; where one agency holds it,
-- its code and level.
CREATE OR REPLACE TEMP TABLE agency_keys AS
WITH variants AS (
    SELECT a.code, v.variant
    FROM stg_agencies a, unnest(list_prepend(a.name, string_split(coalesce(a.aliases, ''), ';'))) AS v(variant)
    WHERE a.quarter = $quarter AND NOT vi_blank_text(coalesce(v.variant, ''))
),
keys AS (
    SELECT vi_agency_key(variant) AS key, list_sort(list_distinct(list(code))) AS codes FROM variants GROUP BY ALL
),
levels AS (
    SELECT code, any_value(level) AS level FROM stg_agencies WHERE quarter = $quarter GROUP BY code
)
SELECT keys.key, keys.codes, CASE WHEN len(keys.codes) = 1 THEN keys.codes[1] END AS code, levels.level
FROM keys LEFT JOIN levels ON levels.code = CASE WHEN len(keys.codes) = 1 THEN keys.codes[1] END;  -- an equi-join: hashed

-- name: no_agency_keys
CREATE OR REPLACE TEMP TABLE agency_keys AS
SELECT NULL::VARCHAR AS key, NULL::VARCHAR[] AS codes, NULL::VARCHAR AS code, NULL::VARCHAR AS level WHERE false;

-- name: agency_matches
-- Each agency name the source's tables write, once, with what the registry makes of it: the codes holding its key,
-- and where one agency holds it, its code and level (all NULL: unmatched, or no registry).
CREATE OR REPLACE TEMP TABLE agency_matches AS
WITH names AS (
    SELECT DISTINCT vi_text(p.prepared)['value'] AS name
    FROM prepared_cells p
    WHERE <<agency_columns>>
)
SELECT names.name, agency_keys.codes, agency_keys.code, agency_keys.level
FROM names
LEFT JOIN agency_keys ON agency_keys.key = vi_agency_key(names.name)
WHERE names.name IS NOT NULL;

-- name: staged
-- The table in one pass: each raw row of the quarter with its cells typed, its problems, its agencies matched, and
-- whether it is a later copy of a key or dated outside the quarter; the insert and the findings read it.
--  - `d_<column>`: each distinct cell of a column (`prepared_cells`, the column's own) with what the column's rule
--    needs besides (a date, a number, a fixed value's code), worked out once per distinct cell.
--  - `typed`: the table's own query (stg_<table>.sql) over the prepared cells, with each row's provenance and whether
--    each required cell is blank.
--  - `checked`: the problems of each row: a required cell left empty (not on the export's own total row), a cell that
--    does not type. A row with a problem is refused whole (`valid` false).
--  - `with_agencies`: each agency name with its registry code and level (`agency_matches`).
--  - `copies`: the duplicates by key among the valid rows (the first copy by file, sheet and row is kept; text compared
--    without case, an agency by its code where it matched; a dropped copy differs when a 64-bit hash of its columns
--    does, so two different copies pass for equal with odds of one in 2^64). The window sees only the key and the
--    hash, not the row.
-- `with_agencies` is NOT MATERIALIZED: it is read twice, and DuckDB would otherwise copy it whole and scan the copy
-- (for the 10x documents that copy cost about 0.8 s of 4).
CREATE OR REPLACE TEMP TABLE staged AS
WITH raw AS (
    SELECT * FROM <<raw_rows>>
),
<<distinct_cells>>,
cells AS (
    SELECT raw.raw_id, raw._file, raw._sha256, raw._sheet, raw._row, raw._is_total<<cells>>, <<prepared>>
    FROM raw<<prepared_joins>>
),
typed AS (
    <<typed>>
),
checked AS (
    SELECT <<checked_columns>>, len(problems) = 0 AS valid
    FROM (SELECT *, list_filter([<<problems>>], lambda p: p IS NOT NULL) AS problems FROM typed) typed
),
with_agencies AS NOT MATERIALIZED (
    SELECT checked.*<<agency_columns>>
    FROM checked<<agency_joins>>
),
copies AS (
    SELECT raw_id, row_number() OVER same_key AS copy, compared <> first_value(compared) OVER same_key AS differs
    FROM (SELECT raw_id, valid, _is_total, <<key_columns>>, hash({<<compared>>}) AS compared FROM with_agencies)
    WINDOW same_key AS (PARTITION BY valid, <<key_names>>, _is_total ORDER BY raw_id)
)
SELECT with_agencies.*, copies.copy,
    copies.copy > 1 AND copies.differs AS differs,
    copies.copy = 1 AND coalesce(<<outside>>, false) AS outside
FROM with_agencies
JOIN copies USING (raw_id);

-- name: insert_staged
INSERT INTO stg_<<table>> (<<staging_columns>>)
SELECT $quarter, row_number() OVER (ORDER BY raw_id), <<staging_values>>
FROM staged
WHERE valid AND copy = 1 AND NOT outside
ORDER BY raw_id;

-- name: invalid_rows
SELECT _file, _sheet, _row,
    'bảng “' || $title || '”: ' || array_to_string(problems, '; ') || '. Dòng bị loại, không tính vào số liệu'
FROM staged
WHERE NOT valid
ORDER BY raw_id;

-- name: unmatched_agencies
SELECT _file, _sheet, _row,
    'bảng “' || $title || '”: cột “' || $label || '” ghi ' || vi_quoted(<<column>>.value, 's') || ', '
    || CASE WHEN len(<<column>>_codes) > 1
            THEN 'khớp với nhiều cơ quan trong danh mục (' || array_to_string(<<column>>_codes, ', ') || ')'
            ELSE 'không khớp với cơ quan nào trong danh mục cơ quan' END
    || '. Dòng vẫn được giữ, chỉ tính vào các số liệu không phân theo cơ quan'
FROM staged
WHERE valid AND <<column>>.value IS NOT NULL AND <<column>>_code IS NULL AND NOT _is_total
ORDER BY raw_id;

-- name: set_aside
-- Rows set aside by kind, with the first places for the finding's message.
SELECT kind, count(*) AS rows, list([_file, _sheet, CAST(_row AS VARCHAR)] ORDER BY raw_id)[1:$first] AS first_places
FROM (
    SELECT 'duplicates_dropped' AS kind, * FROM staged WHERE valid AND copy > 1
    UNION ALL SELECT 'duplicates_differ', * FROM staged WHERE valid AND differs
    UNION ALL SELECT 'outside_quarter', * FROM staged WHERE valid AND outside
)
GROUP BY kind;

-- name: valid_rows_by_file
SELECT _file, count(*) FROM staged WHERE valid GROUP BY _file;
