-- stg_accounts: Tài khoản người dùng (raw/<quarter>/ioffice/), each cell of raw_accounts (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(username)                        AS username,
    vi_text(full_name)                       AS full_name,
    vi_agency_name(agency, _is_total)        AS agency,
    vi_choice(status, 'accounts', 'status')  AS status,
    vi_date(created)                         AS created
FROM cells
