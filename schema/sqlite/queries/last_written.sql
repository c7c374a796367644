SELECT CAST(round(max(unixepoch(t, 'subsec')) * 1000000) AS INTEGER) FROM (
    SELECT max(updated_at) AS t FROM cache_storage
    UNION ALL SELECT max(updated_at) FROM chat_settings
    UNION ALL SELECT max(updated_at) FROM user_data
)
