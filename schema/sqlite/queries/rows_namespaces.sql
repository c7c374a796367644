SELECT namespace, count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0)
FROM cache_storage GROUP BY namespace ORDER BY namespace
