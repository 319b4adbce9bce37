-- question: how many events did each source log in each hour, from the first to the last event?
--           (an hour with none is a gap: absence of evidence there is not evidence of absence)
-- params: none
-- reads: events, evidence
-- order: source, hour_utc
SELECT v.source, date_trunc('hour', e.ts) AS hour_utc, count(*) AS events
FROM events e JOIN evidence v USING (source_id)
GROUP BY ALL
ORDER BY v.source, hour_utc
