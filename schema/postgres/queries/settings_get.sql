SELECT key, value FROM chat_settings WHERE chat_id = $1::bigint AND value IS NOT NULL ORDER BY key COLLATE "C"
