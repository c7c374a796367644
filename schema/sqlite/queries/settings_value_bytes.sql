SELECT CAST(value AS BLOB) FROM chat_settings WHERE chat_id = ?1 AND key = ?2
