-- stg_documents: Sổ văn bản (raw/<quarter>/ioffice/), each cell of raw_documents (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(number)                       AS number,
    vi_date(doc_date)                     AS doc_date,
    vi_text(summary)                      AS summary,
    vi_agency_name(issuer, _is_total)     AS issuer,
    vi_choice(form, 'documents', 'form')  AS form,
    vi_bool(signed)                       AS signed
FROM cells
