INSERT INTO user_data (user_id, chat_id, key, data, created_at, updated_at)
SELECT $2::bigint, $1::bigint, $3::text, $4::text, t.now, t.now
FROM (SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now) AS t
ON CONFLICT (user_id, chat_id, key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
