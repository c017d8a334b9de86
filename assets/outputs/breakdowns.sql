-- Breakdowns of the annex, built from the lineage of the indicators they break down, so each table's
-- `Tổng cộng` is by construction the same set of rows as the published figure. Parameter: $quarter.

-- name: ioffice_by_agency
WITH docs AS (
    SELECT d.row_id, d.issuer, d.issuer_code
    FROM indicator_lineage l JOIN stg_documents d ON d.quarter = l.quarter AND d.row_id = l.row_id
    WHERE l.quarter = $quarter AND l.indicator_id = 'ioffice.documents.total'
),
electronic AS (SELECT row_id FROM indicator_lineage WHERE quarter = $quarter AND indicator_id = 'ioffice.documents.electronic'),
signed AS (SELECT row_id FROM indicator_lineage WHERE quarter = $quarter AND indicator_id = 'ioffice.documents.signed')
SELECT coalesce(a.level, 'Chưa xác định') AS level, coalesce(a.name, docs.issuer) AS agency,
       count(*) AS total, count(electronic.row_id) AS electronic, count(signed.row_id) AS signed
FROM docs
LEFT JOIN electronic USING (row_id)
LEFT JOIN signed USING (row_id)
LEFT JOIN stg_agencies a ON a.quarter = $quarter AND a.code = docs.issuer_code
GROUP BY 1, 2
ORDER BY CASE coalesce(a.level, 'Chưa xác định') WHEN 'Tỉnh' THEN 1 WHEN 'Huyện' THEN 2 WHEN 'Xã' THEN 3 ELSE 4 END, 2;

-- name: dvc_by_agency
WITH dossiers AS (
    SELECT d.row_id, coalesce(d.agency_code, p.agency_code) AS code, d.agency AS written
    FROM indicator_lineage l
    JOIN stg_dossiers d ON d.quarter = l.quarter AND d.row_id = l.row_id
    LEFT JOIN stg_procedures p ON p.quarter = d.quarter AND p.code = d.procedure_code
    WHERE l.quarter = $quarter AND l.indicator_id = 'dvc.dossiers.received'
),
member AS (
    SELECT row_id, indicator_id FROM indicator_lineage
    WHERE quarter = $quarter AND indicator_id IN ('dvc.dossiers.level3', 'dvc.dossiers.level3.online',
          'dvc.dossiers.level4', 'dvc.dossiers.level4.online', 'dvc.dossiers.resolved')
)
SELECT coalesce(a.level, 'Chưa xác định') AS level, coalesce(a.name, dossiers.written, 'Chưa xác định') AS agency,
       count(DISTINCT dossiers.row_id) AS received,
       count(*) FILTER (member.indicator_id = 'dvc.dossiers.level3') AS level3,
       count(*) FILTER (member.indicator_id = 'dvc.dossiers.level3.online') AS level3_online,
       count(*) FILTER (member.indicator_id = 'dvc.dossiers.level4') AS level4,
       count(*) FILTER (member.indicator_id = 'dvc.dossiers.level4.online') AS level4_online,
       count(*) FILTER (member.indicator_id = 'dvc.dossiers.resolved') AS resolved
FROM dossiers
LEFT JOIN member USING (row_id)
LEFT JOIN stg_agencies a ON a.quarter = $quarter AND a.code = dossiers.code
GROUP BY 1, 2
ORDER BY CASE coalesce(a.level, 'Chưa xác định') WHEN 'Tỉnh' THEN 1 WHEN 'Huyện' THEN 2 WHEN 'Xã' THEN 3 ELSE 4 END, 2;
