-- question: a store written before the content digest was 64 bits: what is each stored event's digest now?
-- params: none
-- reads: events
-- writes: events (content_digest: UHUGEINT → UBIGINT)
-- order: not applicable (DDL)
-- assumptions: run once, only on a store whose content_digest is still UHUGEINT (store.ensure_schema checks the
--   type). The old digest was the first 128 bits of the SHA-256 of the record, the new one is its first 64 bits:
--   the upper half of the old value, so a stored line and the same line read again still have the same digest.
ALTER TABLE events ALTER content_digest SET DATA TYPE UBIGINT USING CAST(content_digest >> 64 AS UBIGINT);
