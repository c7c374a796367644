WITH gone AS (
    DELETE FROM cache_storage WHERE namespace = ANY($1::text[])
    RETURNING namespace, updated_at
)
INSERT INTO gromozeka_cache_cleared (namespace, cleared_at)
SELECT n.namespace,
       greatest(clock_timestamp() AT TIME ZONE 'UTC',
                (SELECT max(g.updated_at) FROM gone AS g WHERE g.namespace = n.namespace) + interval '1 microsecond')
FROM (SELECT DISTINCT unnest($1::text[]) AS namespace) AS n
ON CONFLICT (namespace) DO UPDATE
SET cleared_at = greatest(gromozeka_cache_cleared.cleared_at, excluded.cleared_at)
