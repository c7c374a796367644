INSERT INTO gromozeka_cache_schema (version) VALUES ($1::bigint)
