-- question: which analyst decisions name no in-window segment or session of the compromised accounts? (a decision
--           that rules on nothing is a mistake: a typo, or a segment the windows no longer hold)
-- params: none
-- reads: incident_decisions, scope_segments
-- order: decision_key
SELECT d.decision_key
FROM incident_decisions d
WHERE d.decision_key NOT IN (SELECT segment_key FROM scope_segments)
  AND d.decision_key NOT IN (SELECT session_key FROM scope_segments)
ORDER BY d.decision_key
