-- question: which distinct addresses does the compromised accounts' baseline hold? (to give each its network key)
-- params: none
-- reads: scope_baseline
-- order: src_ip
SELECT DISTINCT src_ip FROM scope_baseline WHERE src_ip IS NOT NULL ORDER BY src_ip
