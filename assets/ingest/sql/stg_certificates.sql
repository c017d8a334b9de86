-- stg_certificates: Sổ theo dõi chứng thư số (raw/<quarter>/certificates/), each cell of raw_certificates (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(serial)                                                AS serial,
    vi_text(subscriber)                                            AS subscriber,
    vi_choice(subscriber_type, 'certificates', 'subscriber_type')  AS subscriber_type,
    vi_agency_name(agency, _is_total)                              AS agency,
    vi_choice(device, 'certificates', 'device')                    AS device,
    vi_date(issued)                                                AS issued,
    vi_date(expires)                                               AS expires,
    vi_date(revoked)                                               AS revoked,
    vi_text(status)                                                AS status
FROM cells
