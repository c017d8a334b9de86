-- stg_mailboxes: Danh sách hộp thư công vụ (raw/<quarter>/mail/), each cell of raw_mailboxes (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(address)                   AS address,
    vi_text(full_name)                 AS full_name,
    vi_agency_name(agency, _is_total)  AS agency,
    vi_date(created)                   AS created,
    vi_text(status)                    AS status
FROM cells
