DELETE FROM chat_settings WHERE chat_id = $1::bigint AND key = $2::text
