SELECT key, value FROM cache_storage WHERE namespace = ?1 ORDER BY updated_at DESC, key DESC LIMIT ?2
