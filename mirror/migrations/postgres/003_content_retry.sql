-- Content ingestion retries (twin of sqlite/003_content_retry.sql).

ALTER TABLE anchors ADD COLUMN content_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE anchors ADD COLUMN content_retry_at bigint; -- unix ms; NULL: due now

CREATE INDEX anchors_content_due ON anchors (content_retry_at) WHERE content_status = 'pending';
