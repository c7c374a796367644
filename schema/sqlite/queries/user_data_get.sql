SELECT key, data FROM user_data WHERE chat_id = ?1 AND user_id = ?2 ORDER BY key
