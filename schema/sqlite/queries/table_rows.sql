SELECT (SELECT count(*) FROM chat_settings), (SELECT count(*) FROM user_data)
