-- stg_procedures: Danh mục thủ tục hành chính (raw/<quarter>/dvc/), each cell of raw_procedures (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_code(code)                                                        AS code,
    vi_text(name)                                                        AS name,
    vi_text(field)                                                       AS field,
    vi_agency_name(agency, _is_total)                                    AS agency,
    vi_choice(level_of_government, 'procedures', 'level_of_government')  AS level_of_government,
    vi_level(service_level)                                              AS service_level
FROM cells
