-- stg_endpoints: Điểm cầu (raw/<quarter>/videoconf/), each cell of raw_endpoints (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(name)        AS name,
    vi_text(location)    AS location,
    vi_date(in_service)  AS in_service
FROM cells
