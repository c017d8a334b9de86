-- Reconciliation checks over the quarter's staging tables. Each query returns finding rows:
-- check_id, severity, source, file, sheet, row, cell, message. Parameters: $quarter, $quarter_words, $start, $end,
-- $previous, $previous_words, $previous_end, and $title_<table> for each export table's title. Messages are in Vietnamese (what was found, what was done);
-- the place (file, sheet, row, cell) is put in front of each by the asset. Macros: macros.sql.
-- `-- guards:` names the staging table whose rows a query questions: its Dagster check is declared on that table.

-- name: unknown_procedure
-- guards: stg_dossiers
SELECT 'unknown_procedure' AS check_id, 'warning' AS severity, 'dvc' AS source, d._file, d._sheet, d._row, NULL AS cell,
       'bảng “' || $title_dossiers || '”: hồ sơ ' || d.dossier_id || ' ghi mã thủ tục ' || d.procedure_code
       || ', không có trong danh mục TTHC của quý. Hồ sơ vẫn được tính vào tổng số hồ sơ tiếp nhận, '
       || 'nhưng không tính vào mức độ dịch vụ nào' AS message
FROM stg_dossiers d
WHERE d.quarter = $quarter
  AND d.procedure_code NOT IN (SELECT code FROM stg_procedures WHERE quarter = $quarter)
ORDER BY d._file, d._sheet, d._row;

-- name: invalid_service_level
-- guards: stg_procedures
SELECT 'invalid_service_level', 'warning', 'dvc', _file, _sheet, _row, NULL,
       'bảng “' || $title_procedures || '”: thủ tục ' || code || ' có mức độ dịch vụ ' || service_level
       || ' (chỉ có mức 2, 3 hoặc 4). Thủ tục vẫn được tính vào tổng số dịch vụ công, '
       || 'nhưng không tính vào mức độ nào'
FROM stg_procedures
WHERE quarter = $quarter AND service_level NOT IN (2, 3, 4)
ORDER BY _file, _sheet, _row;

-- name: summary_mismatch
-- guards: stg_dossier_summary
WITH received AS (
    SELECT d.*, p.service_level
    FROM stg_dossiers d LEFT JOIN stg_procedures p ON p.quarter = d.quarter AND p.code = d.procedure_code
    WHERE d.quarter = $quarter AND d.received BETWEEN $start AND $end
),
computed AS (
    SELECT 'received' AS measure, count(*) AS value FROM received
    UNION ALL SELECT 'level3', count(*) FILTER (service_level = 3) FROM received
    UNION ALL SELECT 'level3_online', count(*) FILTER (service_level = 3 AND channel = 'online') FROM received
    UNION ALL SELECT 'level4', count(*) FILTER (service_level = 4) FROM received
    UNION ALL SELECT 'level4_online', count(*) FILTER (service_level = 4 AND channel = 'online') FROM received
    UNION ALL SELECT 'resolved', count(*) FILTER (resulted <= $end) FROM received
),
summary AS (
    UNPIVOT (SELECT _file, _sheet, _is_total, _row, _cells, received, level3, level3_online, level4, level4_online, resolved
             FROM stg_dossier_summary WHERE quarter = $quarter)
    ON received, level3, level3_online, level4, level4_online, resolved INTO NAME measure VALUE value
),
totals AS (
    SELECT s.measure, s._file, s._sheet, s._row, json_extract_string(s._cells, s.measure) AS cell, s.value AS typed,
           (SELECT sum(b.value) FROM summary b WHERE NOT b._is_total AND b.measure = s.measure
              AND b._file = s._file AND b._sheet = s._sheet) AS column_sum,
           c.value AS from_dossiers
    FROM summary s JOIN computed c USING (measure)
    WHERE s._is_total
)
SELECT 'summary_mismatch', 'warning', 'dvc', _file, _sheet, _row, cell,
       'bảng “' || $title_dossier_summary || '”: ô tổng ' || cell || ' (' || CASE measure
            WHEN 'received' THEN 'hồ sơ tiếp nhận' WHEN 'level3' THEN 'hồ sơ mức độ 3'
            WHEN 'level3_online' THEN 'hồ sơ mức độ 3 nộp trực tuyến' WHEN 'level4' THEN 'hồ sơ mức độ 4'
            WHEN 'level4_online' THEN 'hồ sơ mức độ 4 nộp trực tuyến' WHEN 'resolved' THEN 'hồ sơ đã giải quyết'
            ELSE measure END || ') ghi ' || coalesce(vi_count(typed), '(ô trống)')
       || CASE WHEN typed IS DISTINCT FROM column_sum THEN '; cộng các dòng của cột được ' || coalesce(vi_count(column_sum), 'không có số') ELSE '' END
       || CASE WHEN typed IS DISTINCT FROM from_dossiers THEN '; danh sách hồ sơ cho ' || vi_count(from_dossiers) ELSE '' END
       || '. Báo cáo tổng hợp chỉ dùng để đối chiếu: số liệu được tính từ danh sách hồ sơ'
FROM totals
WHERE typed IS DISTINCT FROM column_sum OR typed IS DISTINCT FROM from_dossiers
ORDER BY _file, cell;

-- name: iso_level_mismatch
-- guards: stg_iso
SELECT 'iso_level_mismatch', 'warning', 'iso', _file, _sheet, _row, NULL,
       'bảng “' || $title_iso || '”: cột “Cấp” ghi “' || level || '” nhưng danh mục cơ quan xếp ' || agency || ' ở cấp “' || agency_level || '”'
       || '. Số liệu theo cấp dùng cấp của danh mục cơ quan'
FROM stg_iso
WHERE quarter = $quarter AND level IS NOT NULL AND agency_level IS NOT NULL AND level <> agency_level
ORDER BY _file, _sheet, _row;

-- name: certificate_continuity
-- guards: stg_certificates
WITH prev AS (
    SELECT count(*) AS active FROM stg_certificates
    WHERE quarter = $previous AND issued <= $previous_end AND expires > $previous_end
      AND (revoked IS NULL OR revoked > $previous_end)
),
cur AS (
    SELECT count(*) FILTER (issued BETWEEN $start AND $end) AS issued,
           count(*) FILTER (revoked BETWEEN $start AND $end) AS revoked,
           count(*) FILTER (expires BETWEEN $start AND $end AND (revoked IS NULL OR revoked > expires)) AS expired,
           count(*) FILTER (issued <= $end AND expires > $end AND (revoked IS NULL OR revoked > $end)) AS active
    FROM stg_certificates WHERE quarter = $quarter
)
SELECT 'certificate_continuity', 'warning', 'certificates', NULL, NULL, NULL, NULL,
       'bảng “' || $title_certificates || '”: cuối ' || $previous_words || ' còn ' || vi_count(prev.active)
       || ' chứng thư hiệu lực; cộng ' || vi_count(cur.issued) || ' cấp mới, trừ ' || vi_count(cur.revoked)
       || ' thu hồi và ' || vi_count(cur.expired) || ' hết hạn trong quý thì phải còn '
       || vi_count(prev.active + cur.issued - cur.revoked - cur.expired) || ' ('
       || vi_count(prev.active) || ' + ' || vi_count(cur.issued) || ' − ' || vi_count(cur.revoked) || ' − '
       || vi_count(cur.expired) || '), nhưng danh sách ' || $quarter_words || ' có ' || vi_count(cur.active)
       || ' chứng thư còn hiệu lực. Số liệu công bố theo danh sách của quý này'
FROM prev, cur
WHERE (SELECT count(*) FROM stg_certificates WHERE quarter = $previous) > 0
  AND prev.active + cur.issued - cur.revoked - cur.expired <> cur.active;

-- name: mailbox_continuity
-- guards: stg_mailboxes
WITH prev AS (SELECT count(*) AS total FROM stg_mailboxes WHERE quarter = $previous AND created <= $previous_end),
cur AS (
    SELECT count(*) FILTER (created BETWEEN $start AND $end) AS created, count(*) FILTER (created <= $end) AS total
    FROM stg_mailboxes WHERE quarter = $quarter
)
SELECT 'mailbox_continuity', 'warning', 'mail', NULL, NULL, NULL, NULL,
       'bảng “' || $title_mailboxes || '”: cuối ' || $previous_words || ' có ' || vi_count(prev.total)
       || ' hộp thư; cộng ' || vi_count(cur.created) || ' hộp thư tạo mới trong quý thì phải có '
       || vi_count(prev.total + cur.created) || ' (' || vi_count(prev.total) || ' + ' || vi_count(cur.created)
       || '), nhưng danh sách ' || $quarter_words || ' có ' || vi_count(cur.total)
       || ' hộp thư (có hộp thư bị xóa, hoặc ngày tạo bị ghi lùi?). Số liệu công bố theo danh sách của quý này'
FROM prev, cur
WHERE prev.total > 0 AND prev.total + cur.created <> cur.total;
