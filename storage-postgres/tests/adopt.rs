//! Opening adopts the bot's own tables (its DDL in PostgreSQL) without
//! altering them, fills the columns the bot requires, migrates once when
//! several processes open at once, and a read-only open writes nothing.

use crate::common::{server_url, Schema};
use cache_core::{Batch, BotStorage, Row, SettingsChange, Storage, StorageErrorKind};
use cache_storage_postgres::{PostgresOptions, PostgresStorage, SCHEMA_VERSION};
use postgres::Client;

/// The bot's DDL as its migrations create it on PostgreSQL (with the later
/// `updated_by`), and rows written the bot's way.
const BOT_DDL: &str = "
CREATE TABLE chat_settings (chat_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL, PRIMARY KEY(chat_id, key));
ALTER TABLE chat_settings ADD COLUMN updated_by INTEGER;
CREATE TABLE user_data (user_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY(user_id, chat_id, key));
CREATE TABLE cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL, PRIMARY KEY(namespace, key));
INSERT INTO chat_settings VALUES (-100, 'lang', 'ru', '2025-06-01 12:00:00', '2025-06-01 12:00:00', 7);
INSERT INTO chat_settings VALUES (-100, 'empty', NULL, '2025-06-01 12:00:00', '2025-06-01 12:00:00', NULL);
INSERT INTO user_data VALUES (5, -100, 'karma', '3', '2025-06-01 12:00:00', '2025-06-01 12:00:00');
INSERT INTO cache_storage VALUES ('chats', '-100', '{\"info\":{\"t\":1}}', '2025-06-01 12:00:01');
INSERT INTO cache_storage VALUES ('chats', 'b', '{}', '2025-06-01 12:00:00');
INSERT INTO cache_storage VALUES ('chats', 'a', '{}', '2025-06-01 12:00:00');
";

fn columns(c: &mut Client) -> Vec<(String, String, String, String)> {
    c.query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name IN ('chat_settings', 'user_data', 'cache_storage')
         ORDER BY table_name, ordinal_position",
        &[],
    )
    .expect("columns")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

fn cache_versions(c: &mut Client) -> Option<Vec<i32>> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('gromozeka_cache_schema') IS NOT NULL",
            &[],
        )
        .expect("exists")
        .get(0);
    exists.then(|| {
        c.query("SELECT version FROM gromozeka_cache_schema", &[])
            .expect("versions")
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
}

fn no_notify() -> PostgresOptions {
    PostgresOptions {
        channel: None,
        ..PostgresOptions::default()
    }
}

#[test]
fn adopts_the_bots_tables_without_altering_them_and_fills_its_columns() {
    let Some(url) = server_url() else { return };
    let schema = Schema::new(&url, "adopt");
    let mut c = schema.client();
    c.batch_execute(BOT_DDL).expect("the bot's DDL");
    let before = columns(&mut c);
    let mut s = schema.open(no_notify());
    // Rows written the bot's way load in order: timestamps, ties by key.
    let keys: Vec<String> = s
        .load("chats", 10)
        .expect("load")
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["a", "b", "-100"]);
    assert_eq!(
        s.get_chat_settings(-100).expect("settings"),
        [("lang".to_owned(), "ru".to_owned())]
    );
    assert_eq!(
        s.get_user_data(-100, 5).expect("data"),
        [("karma".to_owned(), "3".to_owned())]
    );
    // Writes succeed and fill the bot's NOT NULL columns.
    s.write_chat_settings(
        -100,
        &SettingsChange::Merge(vec![("model".into(), "gpt".into())]),
    )
    .expect("merge a setting");
    s.set_user_data(-100, 6, "k", "\"v\"")
        .expect("set user data");
    s.write(&Batch {
        upsert: vec![Row {
            namespace: "chats",
            key: "-101",
            value: "{}".into(),
        }],
        ..Batch::default()
    })
    .expect("write a row");
    let row = c
        .query_one(
            "SELECT created_at = updated_at, created_at > '2025-06-01 12:00:01', updated_by IS NULL
             FROM chat_settings WHERE key = 'model'",
            &[],
        )
        .expect("the new setting");
    assert_eq!(
        (
            row.get::<_, bool>(0),
            row.get::<_, bool>(1),
            row.get::<_, bool>(2)
        ),
        (true, true, true)
    );
    let kept = c
        .query_one(
            "SELECT updated_by, created_at::text FROM chat_settings WHERE key = 'lang'",
            &[],
        )
        .expect("the bot's row");
    assert_eq!(
        (kept.get::<_, Option<i32>>(0), kept.get::<_, String>(1)),
        (Some(7), "2025-06-01 12:00:00".to_owned())
    );
    assert_eq!(
        s.load("chats", 1).expect("newest")[0].key,
        "-101",
        "a new row is the newest"
    );
    // A chat id beyond the bot's 32-bit column is a typed error, not a panic.
    let err = s
        .set_user_data(-1_001_234_567_890, 1, "k", "1")
        .expect_err("out of range for INTEGER");
    assert_ne!(err.kind, StorageErrorKind::Unavailable, "{err}");
    assert_eq!(columns(&mut c), before, "no column was altered");
    assert_eq!(
        cache_versions(&mut c),
        Some((1..=SCHEMA_VERSION as i32).collect())
    );
    // Reopening an up-to-date schema migrates nothing.
    drop(s);
    let _again = schema.open(no_notify());
    assert_eq!(
        cache_versions(&mut c),
        Some((1..=SCHEMA_VERSION as i32).collect())
    );
}

#[test]
fn processes_opening_at_once_migrate_once() {
    let Some(url) = server_url() else { return };
    let schema = Schema::new(&url, "race");
    let config = schema.config();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || {
                PostgresStorage::from_config(config, no_notify()).map(|_| ())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("every open succeeds");
    }
    assert_eq!(
        cache_versions(&mut schema.client()),
        Some((1..=SCHEMA_VERSION as i32).collect())
    );
}

#[test]
fn a_read_only_open_changes_nothing() {
    let Some(url) = server_url() else { return };
    let schema = Schema::new(&url, "ro");
    let mut c = schema.client();
    c.batch_execute(BOT_DDL).expect("the bot's DDL");
    let mut ro = schema.open(PostgresOptions {
        read_only: true,
        ..no_notify()
    });
    assert_eq!(ro.load("chats", 10).expect("load").len(), 3);
    let err = ro
        .write_chat_settings(1, &SettingsChange::Unset("x".into()))
        .expect_err("write");
    assert_eq!(err.kind, StorageErrorKind::ReadOnly, "{err}");
    assert_eq!(cache_versions(&mut c), None, "no migration");
    let indexes: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_cache_storage_recency'", &[])
        .expect("indexes")
        .get(0);
    assert_eq!(indexes, 0, "no index was added");
}

#[test]
fn a_server_that_is_not_there_is_unavailable() {
    let err = PostgresStorage::open("postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2")
        .expect_err("nothing listens on port 1");
    assert_eq!(err.kind, StorageErrorKind::Unavailable, "{err}");
    let err = PostgresStorage::open("mysql://x").expect_err("not a PostgreSQL URL");
    assert_eq!(err.kind, StorageErrorKind::Other, "{err}");
}

#[test]
fn a_table_another_transaction_holds_is_busy_not_a_schema_error() {
    let Some(url) = server_url() else { return };
    let schema = Schema::new(&url, "held");
    drop(schema.open(no_notify()));
    let mut holder = schema.client();
    let mut tx = holder.transaction().expect("begin");
    tx.batch_execute("LOCK TABLE cache_storage IN ACCESS EXCLUSIVE MODE")
        .expect("hold the table");
    let options = PostgresOptions {
        lock_timeout: std::time::Duration::from_millis(200),
        ..no_notify()
    };
    let Err(err) = PostgresStorage::from_config(schema.config(), options.clone()) else {
        panic!("the open waits for the table, then fails");
    };
    assert_eq!(err.kind, StorageErrorKind::Busy, "{err}");
    assert!(!err.message.contains("columns"), "{err}");
    tx.rollback().expect("release");
    PostgresStorage::from_config(schema.config(), options).expect("free again: opens");
}
