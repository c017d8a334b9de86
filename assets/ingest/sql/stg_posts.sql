-- stg_posts: Tin bài đã đăng (raw/<quarter>/portal/), each cell of raw_posts (prepared in `cells`)
-- typed by the rule of its column (macros.sql). A failing cell keeps its reason; ingest refuses that row with an `invalid_row` finding.
SELECT
    raw_id,
    vi_code(post_id)                             AS post_id,
    vi_date(posted)                              AS posted,
    vi_text(title)                               AS title,
    vi_choice(category, 'posts', 'category')     AS category,
    vi_languages(language, 'posts', 'language')  AS language,
    vi_code(translation_of)                      AS translation_of,
    vi_text(site_url)                            AS site_url
FROM cells
