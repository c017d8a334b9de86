-- stg_iso: Danh sách cơ quan áp dụng ISO điện tử (raw/<quarter>/iso/), each cell of raw_iso (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_agency_name(agency, _is_total)  AS agency,
    vi_choice(level, 'iso', 'level')   AS level,
    vi_date(deployed)                  AS deployed
FROM cells
