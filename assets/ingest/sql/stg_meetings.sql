-- stg_meetings: Cuộc họp trực tuyến (raw/<quarter>/videoconf/), each cell of raw_meetings (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_date(meeting_date)            AS meeting_date,
    vi_text(topic)                   AS topic,
    vi_agency_name(host, _is_total)  AS host,
    vi_integer(endpoint_count)       AS endpoint_count
FROM cells
