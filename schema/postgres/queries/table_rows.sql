SELECT (SELECT count(*) FROM chat_settings)::bigint, (SELECT count(*) FROM user_data)::bigint
