-- Macros shared by the reconciliation queries, created on the connection before they run.

-- A whole number as Vietnamese writes it: 11357 -> 11.357.
CREATE OR REPLACE TEMP MACRO vi_count(x) AS format('{:t.}', CAST(x AS BIGINT));
