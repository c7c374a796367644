DELETE FROM cache_storage WHERE namespace = ?1
