SELECT c.namespace, c.key, c.updated_at > timestamp 'epoch' + u.seen * interval '1 microsecond',
       (extract(epoch FROM c.updated_at) * 1000000)::bigint
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(namespace, key, seen)
JOIN cache_storage AS c ON c.namespace = u.namespace AND c.key = u.key
WHERE u.seen IS NOT NULL
ORDER BY c.namespace, c.key
FOR UPDATE OF c
