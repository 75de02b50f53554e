-- Content ingestion retries. An anchor whose content is not available yet (not found, a source
-- outage, a refused contentURI) stays 'pending' with the reason in content_error and is tried
-- again once content_retry_at has passed, after a delay that grows with content_attempts.

ALTER TABLE anchors ADD COLUMN content_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE anchors ADD COLUMN content_retry_at INTEGER; -- unix ms; NULL: due now

CREATE INDEX anchors_content_due ON anchors (content_retry_at) WHERE content_status = 'pending';
