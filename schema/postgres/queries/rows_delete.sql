WITH gone AS (
    DELETE FROM cache_storage AS c USING unnest($1::text[], $2::text[]) AS d(namespace, key)
    WHERE c.namespace = d.namespace AND c.key = d.key
    RETURNING c.namespace, c.key, c.updated_at
)
INSERT INTO gromozeka_cache_deleted (namespace, key, deleted_at)
SELECT DISTINCT ON (d.namespace, d.key) d.namespace, d.key,
       greatest(clock_timestamp() AT TIME ZONE 'UTC', g.updated_at + interval '1 microsecond')
FROM unnest($1::text[], $2::text[]) AS d(namespace, key)
LEFT JOIN gone AS g ON g.namespace = d.namespace AND g.key = d.key
ORDER BY d.namespace, d.key
ON CONFLICT (namespace, key) DO UPDATE
SET deleted_at = greatest(gromozeka_cache_deleted.deleted_at, excluded.deleted_at)
