DELETE FROM cache_storage WHERE namespace = ANY($1::text[])
