SELECT key, value FROM chat_settings WHERE chat_id = ?1 AND value IS NOT NULL ORDER BY key
