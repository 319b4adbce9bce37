-- question: keep the exact SQL a mapping compiled to, so an auditor can read what ran.
-- params: mapping_sha256, source, sql, params
-- reads: mappings
-- writes: mappings
-- order: not applicable (one row inserted when new)
INSERT INTO mappings
SELECT $mapping_sha256, $source, $sql, $params
WHERE NOT EXISTS (SELECT 1 FROM mappings WHERE mapping_sha256 = $mapping_sha256)
