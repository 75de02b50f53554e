-- PostgreSQL's 008 adds the EPCIS capture and query tables to the trace_state schema. SQLite keeps
-- them in their own file (TRACE_EPCIS_DB; migrations in migrations/epcis-sqlite/), not in the
-- mirror, which the chain rebuilds and they cannot be. The number is kept so that both engines'
-- schemas have the same versions.
SELECT 1;
