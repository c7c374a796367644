SELECT key, data FROM user_data WHERE chat_id = $1::bigint AND user_id = $2::bigint ORDER BY key COLLATE "C"
