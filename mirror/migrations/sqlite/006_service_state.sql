-- PostgreSQL's 006 adds the trace_state schema: scan counts and brands' link sets. SQLite keeps them
-- in their own files (TRACE_SCANS_DB, TRACE_LINKS_DB; api/repositories/scans.ts and link-sets.ts),
-- not in the mirror. The number is kept so that both engines' schemas have the same versions.
SELECT 1;
