SELECT to_regclass('gromozeka_cache_schema') IS NOT NULL
