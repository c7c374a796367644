SELECT convert_to(key, current_setting('server_encoding')), convert_to(value, current_setting('server_encoding')),
       (extract(epoch FROM updated_at) * 1000000)::bigint
FROM cache_storage WHERE namespace = $1::text
ORDER BY updated_at DESC NULLS LAST, key COLLATE "C" DESC LIMIT $2::bigint
