WITH horizon AS MATERIALIZED (
    SELECT (clock_timestamp() AT TIME ZONE 'UTC') - interval '7 days' AS at
), deleted AS (
    DELETE FROM gromozeka_cache_deleted WHERE deleted_at < (SELECT at FROM horizon)
)
DELETE FROM gromozeka_cache_cleared WHERE cleared_at < (SELECT at FROM horizon)
