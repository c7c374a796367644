CREATE TABLE IF NOT EXISTS gromozeka_cache_schema (version INTEGER NOT NULL)
