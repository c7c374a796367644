WITH b AS MATERIALIZED (
    SELECT greatest(clock_timestamp() AT TIME ZONE 'UTC',
                    timestamp 'epoch' + $4::bigint * interval '1 microsecond') AS now
), written AS (
    INSERT INTO cache_storage (namespace, key, value, updated_at)
    SELECT u.namespace, u.key, u.value, b.now + u.ord * interval '1 microsecond'
    FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(namespace, key, value, ord), b
    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
)
SELECT (extract(epoch FROM now) * 1000000)::bigint FROM b
