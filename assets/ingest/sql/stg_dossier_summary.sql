-- stg_dossier_summary: Báo cáo tổng hợp tình hình tiếp nhận (raw/<quarter>/dvc/), each cell of raw_dossier_summary (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_agency_name(agency, _is_total)  AS agency,
    vi_integer(received)               AS received,
    vi_integer(level3)                 AS level3,
    vi_integer(level3_online)          AS level3_online,
    vi_integer(level4)                 AS level4,
    vi_integer(level4_online)          AS level4_online,
    vi_integer(resolved)               AS resolved
FROM cells
