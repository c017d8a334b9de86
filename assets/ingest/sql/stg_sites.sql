-- stg_sites: Danh sách cổng/trang (raw/<quarter>/portal/), each cell of raw_sites (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_text(name)                                  AS name,
    vi_text(url)                                   AS url,
    vi_choice(site_type, 'sites', 'site_type')     AS site_type,
    vi_languages(languages, 'sites', 'languages')  AS languages
FROM cells
