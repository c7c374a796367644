INSERT INTO chat_settings (chat_id, key, value, created_at, updated_at)
VALUES (?1, ?2, ?3, strftime('%Y-%m-%d %H:%M:%S', ?4 / 1000000, 'unixepoch') || printf('.%06d', ?4 % 1000000), strftime('%Y-%m-%d %H:%M:%S', ?4 / 1000000, 'unixepoch') || printf('.%06d', ?4 % 1000000))
ON CONFLICT (chat_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
