INSERT INTO chat_settings (chat_id, key, value, created_at, updated_at)
SELECT $1::bigint, u.key, u.value, t.now, t.now
FROM unnest($2::text[], $3::text[]) AS u(key, value), (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now) AS t
ON CONFLICT (chat_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
