DELETE FROM chat_settings WHERE chat_id = ?1 AND key = ?2
