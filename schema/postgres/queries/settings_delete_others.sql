DELETE FROM chat_settings WHERE chat_id = $1::bigint AND NOT (key = ANY($2::text[]))
