SELECT convert_to(value, current_setting('server_encoding')), (extract(epoch FROM updated_at) * 1000000)::bigint
FROM cache_storage WHERE namespace = $1::text AND key = $2::text
