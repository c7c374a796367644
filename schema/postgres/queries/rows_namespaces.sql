SELECT namespace, count(*)::bigint, coalesce(sum(octet_length(key) + octet_length(value)), 0)::bigint
FROM cache_storage GROUP BY namespace ORDER BY namespace COLLATE "C"
