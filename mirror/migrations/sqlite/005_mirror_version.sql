-- PostgreSQL's 005 adds a mirror_version counter kept by triggers. SQLite needs none: PRAGMA
-- data_version moves whenever another connection commits to the file. The number is kept so that
-- both engines' schemas have the same versions.
SELECT 1;
