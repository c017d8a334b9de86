-- stg_dossiers: Danh sách hồ sơ (raw/<quarter>/dvc/), each cell of raw_dossiers (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_code(dossier_id)                                      AS dossier_id,
    vi_code(procedure_code)                                  AS procedure_code,
    vi_agency_name(agency, _is_total)                        AS agency,
    vi_date(received)                                        AS received,
    vi_choice(channel, 'dossiers', 'channel')                AS channel,
    vi_date(due)                                             AS due,
    vi_date(resulted)                                        AS resulted,
    vi_choice(return_channel, 'dossiers', 'return_channel')  AS return_channel
FROM cells
