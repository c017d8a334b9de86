-- Reconciliation checks over the quarter's staging tables. Each query returns finding rows:
-- check_id, severity, source, file, sheet, row, cell, message. Parameters: $quarter, $start, $end, $previous.

-- name: unknown_procedure
SELECT 'unknown_procedure' AS check_id, 'warning' AS severity, 'dvc' AS source, d._file, d._sheet, d._row, NULL AS cell,
       'Danh sách hồ sơ: dossier ' || d.dossier_id || ' names procedure code ' || d.procedure_code
       || ' that is not in the quarter''s catalogue; it counts in received but in no service level' AS message
FROM stg_dossiers d
WHERE d.quarter = $quarter
  AND d.procedure_code NOT IN (SELECT code FROM stg_procedures WHERE quarter = $quarter)
ORDER BY d._file, d._sheet, d._row;

-- name: invalid_service_level
SELECT 'invalid_service_level', 'warning', 'dvc', _file, _sheet, _row, NULL,
       'Danh mục TTHC: procedure ' || code || ' has service level ' || service_level
       || ' (expected 2, 3 or 4); it counts in the total of services but in no level'
FROM stg_procedures
WHERE quarter = $quarter AND service_level NOT IN (2, 3, 4)
ORDER BY _file, _sheet, _row;

-- name: summary_mismatch
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
       'Báo cáo tổng hợp: total cell ' || cell || ' (' || measure || ') reads ' || typed
       || CASE WHEN typed <> column_sum THEN '; its column sums to ' || column_sum ELSE '' END
       || CASE WHEN typed <> from_dossiers THEN '; the dossiers give ' || from_dossiers ELSE '' END
       || '. The summary is for reconciliation only: figures are computed from the dossiers'
FROM totals
WHERE typed IS DISTINCT FROM column_sum OR typed IS DISTINCT FROM from_dossiers
ORDER BY _file, cell;

-- name: iso_level_mismatch
SELECT 'iso_level_mismatch', 'warning', 'iso', _file, _sheet, _row, NULL,
       'ISO: `Cấp` reads ' || level || ' but the registry gives ' || agency_level || ' for ' || agency
       || '; the registry level is used'
FROM stg_iso
WHERE quarter = $quarter AND level IS NOT NULL AND agency_level IS NOT NULL AND level <> agency_level
ORDER BY _file, _sheet, _row;

-- name: certificate_continuity
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
       'Chứng thư số: ' || $previous || ' active ' || prev.active || ' + issued ' || cur.issued || ' − revoked '
       || cur.revoked || ' − expired ' || cur.expired || ' = ' || (prev.active + cur.issued - cur.revoked - cur.expired)
       || ', but ' || $quarter || ' has ' || cur.active || ' active; figures are published from this quarter''s register'
FROM prev, cur
WHERE (SELECT count(*) FROM stg_certificates WHERE quarter = $previous) > 0
  AND prev.active + cur.issued - cur.revoked - cur.expired <> cur.active;

-- name: mailbox_continuity
WITH prev AS (SELECT count(*) AS total FROM stg_mailboxes WHERE quarter = $previous AND created <= $previous_end),
cur AS (
    SELECT count(*) FILTER (created BETWEEN $start AND $end) AS created, count(*) FILTER (created <= $end) AS total
    FROM stg_mailboxes WHERE quarter = $quarter
)
SELECT 'mailbox_continuity', 'warning', 'mail', NULL, NULL, NULL, NULL,
       'Hộp thư công vụ: ' || $previous || ' total ' || prev.total || ' + created ' || cur.created || ' = '
       || (prev.total + cur.created) || ', but ' || $quarter || ' lists ' || cur.total
       || ' (mailboxes deleted or back-dated?); figures are published from this quarter''s list'
FROM prev, cur
WHERE prev.total > 0 AND prev.total + cur.created <> cur.total;
