SELECT coalesce(max(version), 0) FROM gromozeka_cache_schema
