-- The tables the cache reads and writes, in the bot's own shape (PostgreSQL
-- dialect: ids are BIGINT, timestamps are TIMESTAMP without time zone, in UTC).
-- Every statement is IF NOT EXISTS: tables created by the bot's migrations are
-- adopted as they are, their columns never altered.
CREATE TABLE IF NOT EXISTS cache_storage (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace, key)
);
-- Serves "the newest N rows of a namespace" (queries/rows_load.sql) without sorting.
CREATE INDEX IF NOT EXISTS idx_cache_storage_recency
    ON cache_storage (namespace, updated_at DESC NULLS LAST, key COLLATE "C" DESC);
CREATE TABLE IF NOT EXISTS chat_settings (
    chat_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (chat_id, key)
);
CREATE TABLE IF NOT EXISTS user_data (
    user_id BIGINT NOT NULL,
    chat_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, chat_id, key)
);
