-- question: does the per-account hourly summary hold exactly the event rows of the events table (so that a
--           baseline read from it is the baseline the events would give)?
-- params: none
-- reads: account_hours, events
-- order: one row at most
-- assumptions: returns a row when the two counts differ; an empty result means they agree.
WITH counts AS (
  SELECT (SELECT coalesce(sum(event_rows), 0) FROM account_hours) AS summarised,
         (SELECT count(*) FROM events) AS stored,
         (SELECT coalesce(sum(refused), 0) FROM account_hours) AS summarised_refused,
         (SELECT count(*) FILTER (WHERE outcome = 'failure') FROM events) AS stored_refused
)
SELECT * FROM counts WHERE summarised <> stored OR summarised_refused <> stored_refused
