SELECT key FROM chat_settings WHERE chat_id = ?1
