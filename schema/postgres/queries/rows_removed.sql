SELECT u.namespace, u.key,
       (extract(epoch FROM greatest(d.deleted_at, n.cleared_at)) * 1000000)::bigint
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(namespace, key, seen)
LEFT JOIN gromozeka_cache_deleted AS d ON d.namespace = u.namespace AND d.key = u.key
LEFT JOIN gromozeka_cache_cleared AS n ON n.namespace = u.namespace
WHERE u.seen IS NOT NULL
  AND greatest(d.deleted_at, n.cleared_at) > timestamp 'epoch' + u.seen * interval '1 microsecond'
ORDER BY u.namespace, u.key
