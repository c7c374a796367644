SELECT count(pg_advisory_xact_lock(hashtextextended(s.namespace || E'\x1f' || s.key, 0)))::bigint
FROM (SELECT u.namespace, u.key FROM unnest($1::text[], $2::text[]) AS u(namespace, key) ORDER BY 1, 2) AS s
