SELECT CAST(data AS BLOB) FROM user_data WHERE chat_id = ?1 AND user_id = ?2 AND key = ?3
