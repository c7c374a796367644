SELECT CAST(value AS BLOB) FROM cache_storage WHERE namespace = ?1 AND key = ?2
