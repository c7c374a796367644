SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.gromozeka_cache_schema'))
