//! The files the cache creates hold the bot's data and the owner's pid and
//! program: readable and writable by their owner only, whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use cache_host::storage::{Batch, Row, Storage};
use cache_host::SqliteStorage;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_database_its_journal_and_the_owner_file_are_owner_only() {
    // The usual umask: without care, new files would be 0644.
    // SAFETY: umask only sets this process's file-creation mask.
    let previous = unsafe { umask(0o022) };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bot.db");
    let mut storage = SqliteStorage::open(&db).expect("open");
    storage
        .write(&Batch {
            upsert: vec![Row {
                namespace: "chats",
                key: "1",
                value: r#"{"title":"t"}"#.into(),
            }],
            ..Batch::default()
        })
        .expect("write");
    let files = ["bot.db", "bot.db-wal", "bot.db-shm", "bot.db.owner"];
    for name in files {
        let path = dir.path().join(name);
        assert_eq!(mode(&path), 0o600, "{name}: {:o}", mode(&path));
    }
    drop(storage);
    // SAFETY: as above.
    unsafe { umask(previous) };
}

extern "C" {
    fn umask(mask: u32) -> u32;
}
