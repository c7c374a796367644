//! A database created by the bot's own migrations, holding rows written the
//! bot's way (schema/sqlite/fixtures/bot_database.sql), works with the CLI and
//! the Rust API: rows load, writes succeed, the bot's columns stay filled, and
//! its user_version is left alone.

use crate::common;

use std::path::Path;
use std::process::Command;

use cache_host::SettingsMode;
use serde_json::{json, Value};

const BOT_DATABASE: &str = include_str!("../../schema/sqlite/fixtures/bot_database.sql");

fn bot_database(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("bot.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(BOT_DATABASE))
        .expect("create the bot's database");
    path
}

fn cli(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cache-host"))
        .arg("--db")
        .arg(db)
        .arg("--wasm")
        .arg(common::wasm_path())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run cache-host");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn the_cli_reads_and_writes_the_bots_database() {
    let dir = tempfile::tempdir().expect("dir");
    let db = bot_database(dir.path());
    let (ok, out, err) = cli(&db, &["get", "chats", "-100"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out), json!({"info": {"t": 1}}));
    let (ok, out, err) = cli(&db, &["get", "chatUsers", "-100:5"]);
    assert!(ok, "{err}");
    assert_eq!(
        json(&out),
        json!({"note": "kept"}),
        "the stale copy of the user's data is dropped"
    );
    let (ok, _, err) = cli(&db, &["set", "chatUsers", "1:2", r#"{"note":1}"#]);
    assert!(ok, "{err}");
    let (ok, out, err) = cli(&db, &["get", "chatUsers", "1:2"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out), json!({"note": 1}));
    let c = rusqlite::Connection::open(&db).expect("open");
    let written: String = c
        .query_row(
            "SELECT updated_at FROM cache_storage WHERE key = '1:2'",
            [],
            |r| r.get(0),
        )
        .expect("the row");
    assert!(written.as_str() > "2025-06-01 12:00:01", "{written}");
}

#[test]
fn the_rust_api_serves_the_bots_data_and_keeps_its_columns_filled() {
    let dir = tempfile::tempdir().expect("dir");
    let db = bot_database(dir.path());
    let cache = common::builder()
        .open_sqlite(&db)
        .expect("open the bot's database");
    let report = cache.last_start_report().expect("loaded at start");
    // chats/a and chats/b are `{}`: empty records are no entries.
    assert_eq!(report.loaded, 2, "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(
        json(&cache.get_chat_settings(-100).expect("settings")),
        json!({"lang": "ru"})
    );
    assert_eq!(
        json(&cache.get_user_data(-100, 5).expect("data")),
        json!({"karma": 3})
    );
    assert_eq!(
        cache.get_chat_info(-100).expect("info").map(|t| json(&t)),
        Some(json!({"t": 1}))
    );
    cache
        .set_chat_settings(-100, r#"{"model":"gpt"}"#, SettingsMode::Merge)
        .expect("merge");
    cache
        .set_user_data(-100, 5, "karma", "4")
        .expect("user data");
    cache.set_chat_info(-100, r#"{"t":2}"#).expect("info");
    cache.close().expect("close");

    let c = rusqlite::Connection::open(&db).expect("open");
    let nulls: i64 = c
        .query_row(
            "SELECT (SELECT count(*) FROM chat_settings WHERE created_at IS NULL OR updated_at IS NULL)
                  + (SELECT count(*) FROM user_data WHERE created_at IS NULL OR updated_at IS NULL)
                  + (SELECT count(*) FROM cache_storage WHERE updated_at IS NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(nulls, 0);
    let (lang_by, model): (Option<i64>, String) = c
        .query_row(
            "SELECT (SELECT updated_by FROM chat_settings WHERE key = 'lang'),
                    (SELECT value FROM chat_settings WHERE key = 'model')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("settings");
    assert_eq!((lang_by, model.as_str()), (Some(7), "gpt"));
    let karma: String = c
        .query_row("SELECT data FROM user_data WHERE key = 'karma'", [], |r| {
            r.get(0)
        })
        .expect("karma");
    assert_eq!(karma, "4");
    let chat: String = c
        .query_row(
            "SELECT value FROM cache_storage WHERE namespace = 'chats' AND key = '-100'",
            [],
            |r| r.get(0),
        )
        .expect("chat row");
    assert_eq!(json(&chat), json!({"info": {"t": 2}}));
    let user_version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("pragma");
    assert_eq!(user_version, 42);
}
