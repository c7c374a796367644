SELECT coalesce(max(version), 0)::bigint FROM gromozeka_cache_schema
