-- When a row of cache_storage was deleted, and when a namespace was cleared: the
-- version a process compares its copy with before it writes that row back
-- (queries/rows_removed.sql). Without them a deleted row has no version, and a
-- stale on-shutdown write-back of it would bring it back. Kept 7 days
-- (queries/tombstones_purge.sql, run at each read-write connect): a pending change
-- older than that is not protected.
CREATE TABLE IF NOT EXISTS gromozeka_cache_deleted (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    deleted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS gromozeka_cache_cleared (
    namespace TEXT NOT NULL PRIMARY KEY,
    cleared_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_gromozeka_cache_deleted_at ON gromozeka_cache_deleted (deleted_at);
