INSERT INTO user_data (user_id, chat_id, key, data, created_at, updated_at)
VALUES (?2, ?1, ?3, ?4, strftime('%Y-%m-%d %H:%M:%S', ?5 / 1000000, 'unixepoch') || printf('.%06d', ?5 % 1000000), strftime('%Y-%m-%d %H:%M:%S', ?5 / 1000000, 'unixepoch') || printf('.%06d', ?5 % 1000000))
ON CONFLICT (user_id, chat_id, key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
