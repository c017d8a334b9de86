-- stg_agencies: Danh mục cơ quan, đơn vị (raw/<quarter>/agencies/), each cell of raw_agencies (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_code(code)                          AS code,
    vi_text(name)                          AS name,
    vi_choice(level, 'agencies', 'level')  AS level,
    vi_code(parent_code)                   AS parent_code,
    vi_text(aliases)                       AS aliases
FROM cells
