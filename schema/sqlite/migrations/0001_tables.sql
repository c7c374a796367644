-- The tables the cache reads and writes, in the bot's own shape. Every
-- statement is IF NOT EXISTS: a file created by the bot's migrations or by the
-- seed design is adopted as it is, its columns never altered.
CREATE TABLE IF NOT EXISTS cache_storage (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace, key)
);
-- Serves "the newest N rows of a namespace" without sorting.
CREATE INDEX IF NOT EXISTS idx_cache_storage_recency ON cache_storage (namespace, updated_at, key);
CREATE TABLE IF NOT EXISTS chat_settings (
    chat_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (chat_id, key)
);
CREATE TABLE IF NOT EXISTS user_data (
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, chat_id, key)
);
