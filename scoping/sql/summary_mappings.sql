-- question: which compiled mappings turned the evidence into events? (their SQL text, exactly as it ran, and its
--           digest; recorded with every run and shown in the report)
-- params: none
-- reads: mappings
-- order: source, mapping_sha256
SELECT source, mapping_sha256, sql
FROM mappings
ORDER BY source, mapping_sha256
