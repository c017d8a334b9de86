-- The steps every staging table goes through after its own query (stg_<table>.sql) typed its cells, run by
-- assets/ingest/stage_in_sql.py in the ingest's transaction. `<<name>>` parts are filled from the table's spec
-- (pipeline/lib/tablespecs.py: its columns, labels, key, date column); `$name` are query parameters.

-- name: prepared_cells
-- Every distinct cell of the source's tables, prepared once for the typing rules (`vi_cell`: blank or not, its text
-- normalized): names, dates and choices repeat thousands of times, and normalizing text is the costly part. One
-- query for the whole source, so the rules are planned once, not once per column.
CREATE OR REPLACE TEMP TABLE prepared_cells AS
SELECT cell, vi_cell(cell) AS prepared
FROM (<<source_cells>>);

-- name: cells
-- The quarter's raw cells of the table, each the prepared cell of `prepared_cells`, with what its column's rule needs
-- besides (a date, a number, a fixed value's code), worked out once per distinct cell of the column: the table's own
-- query (stg_<table>.sql) reads them from here.
CREATE OR REPLACE TEMP TABLE cells AS
WITH raw AS (
    SELECT * FROM raw_<<table>> WHERE quarter = $quarter
),
<<distinct_cells>>
SELECT raw.raw_id, raw._file, raw._sha256, raw._sheet, raw._row, raw._is_total<<cells>>, <<prepared>>
FROM raw<<prepared_joins>>;

-- name: checked
-- Each raw row with its typed cells and its problems: a required cell left empty (not on the export's own
-- total row), a cell that does not type. A row with a problem is refused whole.
CREATE OR REPLACE TEMP TABLE checked AS
SELECT
    c.raw_id, c._file, c._sha256, c._sheet, c._row, c._is_total<<kept_cells>>,
    t.* EXCLUDE (raw_id),
    list_filter([<<problems>>], lambda p: p IS NOT NULL) AS problems
FROM cells c
JOIN typed t USING (raw_id);

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
FROM keys LEFT JOIN levels ON len(keys.codes) = 1 AND levels.code = keys.codes[1];

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
    SEMI JOIN (<<agency_cells>>) a ON a.cell IS NOT DISTINCT FROM p.cell
)
SELECT names.name, agency_keys.codes, agency_keys.code, agency_keys.level
FROM names
LEFT JOIN agency_keys ON agency_keys.key = vi_agency_key(names.name)
WHERE names.name IS NOT NULL;

-- name: matched
-- The rows kept so far (no problem), each agency name with its registry code and level (`agency_matches`). Then
-- the duplicates by key (the first copy by file, sheet and row is kept; text compared without case, an agency by
-- its code where it matched; a dropped copy differs when a 64-bit hash of its columns does, so two different copies
-- pass for equal with odds of one in 2^64) and the rows dated outside the quarter.
CREATE OR REPLACE TEMP TABLE matched AS
WITH valid AS (
    SELECT * FROM checked WHERE len(problems) = 0
),
with_agencies AS (
    SELECT valid.*<<agency_columns>>
    FROM valid<<agency_joins>>
),
copies AS (  -- the window sees only the key and a hash of the compared columns, not the whole row
    SELECT raw_id, row_number() OVER same_key AS copy, compared <> first_value(compared) OVER same_key AS differs
    FROM (SELECT raw_id, _is_total, <<key_columns>>, hash({<<compared>>}) AS compared FROM with_agencies)
    WINDOW same_key AS (PARTITION BY <<key_names>>, _is_total ORDER BY raw_id)
)
SELECT with_agencies.*, copies.copy,
    copies.copy > 1 AND copies.differs AS differs,
    copies.copy = 1 AND coalesce(<<outside>>, false) AS outside
FROM with_agencies
JOIN copies USING (raw_id);

-- name: insert_staged
INSERT INTO stg_<<table>> (<<staging_columns>>)
SELECT $quarter, row_number() OVER (ORDER BY raw_id), <<staging_values>>
FROM matched
WHERE copy = 1 AND NOT outside
ORDER BY raw_id;

-- name: invalid_rows
SELECT _file, _sheet, _row,
    'bảng “' || $title || '”: ' || array_to_string(problems, '; ') || '. Dòng bị loại, không tính vào số liệu'
FROM checked
WHERE len(problems) > 0
ORDER BY raw_id;

-- name: unmatched_agencies
SELECT _file, _sheet, _row,
    'bảng “' || $title || '”: cột “' || $label || '” ghi ' || vi_quoted(<<column>>.value, 's') || ', '
    || CASE WHEN len(<<column>>_codes) > 1
            THEN 'khớp với nhiều cơ quan trong danh mục (' || array_to_string(<<column>>_codes, ', ') || ')'
            ELSE 'không khớp với cơ quan nào trong danh mục cơ quan' END
    || '. Dòng vẫn được giữ, chỉ tính vào các số liệu không phân theo cơ quan'
FROM matched
WHERE <<column>>.value IS NOT NULL AND <<column>>_code IS NULL AND NOT _is_total
ORDER BY raw_id;

-- name: set_aside
-- Rows set aside by kind, with the first places for the finding's message.
SELECT kind, count(*) AS rows, list([_file, _sheet, CAST(_row AS VARCHAR)] ORDER BY raw_id)[1:$first] AS first_places
FROM (
    SELECT 'duplicates_dropped' AS kind, * FROM matched WHERE copy > 1
    UNION ALL SELECT 'duplicates_differ', * FROM matched WHERE differs
    UNION ALL SELECT 'outside_quarter', * FROM matched WHERE outside
)
GROUP BY kind;

-- name: valid_rows_by_file
SELECT _file, count(*) FROM checked WHERE len(problems) = 0 GROUP BY _file;
