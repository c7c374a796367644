//! A database the seed design left (schema/sqlite/fixtures/seed_database.sql: only
//! `cache_storage`, settings and user data inside its rows): read commands read it
//! as it is and change nothing; the first writing open moves the settings and user
//! data into the bot's tables in one transaction, so the bot methods return them and
//! the next write keeps them.

use crate::cli_common;
use crate::common;

use std::path::{Path, PathBuf};

use cli_common::{assert_code, run, text};
use serde_json::{json, Value};

const SEED_DATABASE: &str = include_str!("../../schema/sqlite/fixtures/seed_database.sql");

fn seed_database(dir: &Path) -> PathBuf {
    let path = dir.join("seed.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(SEED_DATABASE))
        .expect("create the seed's database");
    path
}

fn tables(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).expect("open");
    let mut s = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare");
    s.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn row(db: &Path, namespace: &str, key: &str) -> Option<String> {
    let c = rusqlite::Connection::open(db).expect("open");
    c.query_row(
        "SELECT value FROM cache_storage WHERE namespace = ?1 AND key = ?2",
        [namespace, key],
        |r| r.get(0),
    )
    .ok()
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn read_commands_read_a_seed_file_as_it_is_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seed_database(dir.path());
    let before = std::fs::read(&db).expect("read");

    // `get` answers as the cache does: the copy of the bot's table's data is not
    // part of the entry, the rest is.
    let out = run(&db, &["get", "chatUsers", "-100:6"]);
    assert_code(&out, 0);
    assert_eq!(parsed(&text(&out.stdout)), json!({"seen": 1}));
    let out = run(&db, &["get", "chats", "-100"]);
    assert_code(&out, 0);
    assert_eq!(parsed(&text(&out.stdout))["info"], json!({"title": "t"}));
    for args in [&["inspect"][..], &["stats"], &["export"]] {
        let out = run(&db, args);
        assert_code(&out, 0);
    }
    let export = text(&run(&db, &["export"]).stdout);
    assert_eq!(export.lines().count(), 7, "{export}");

    assert_eq!(tables(&db), ["cache_storage"], "no table created");
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "the file is unchanged"
    );
}

#[test]
fn the_first_writing_open_moves_the_seeds_settings_and_user_data_into_the_bot_tables(
) -> Result<(), cache_host::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seed_database(dir.path());

    let cache = common::builder().open_sqlite(&db)?;
    assert_eq!(
        parsed(&cache.get_user_data(-100, 5)?),
        json!({"k": "v", "n": 2, "list": [1, "two"], "a b": {"c": null}})
    );
    assert_eq!(parsed(&cache.get_user_data(-100, 6)?), json!({"k": "w"}));
    assert_eq!(
        parsed(&cache.get_chat_settings(-100)?),
        json!({"lang": "ru", "strict": "true", "limit": "5"}),
        "strings as they are, other values as their JSON text"
    );
    assert_eq!(
        parsed(&cache.get_chat_settings(-200)?),
        json!({"lang": "en"})
    );
    assert_eq!(
        cache.get_chat_info(-100)?.as_deref().map(parsed),
        Some(json!({"title": "t"}))
    );
    // The next write of the entry keeps the moved data.
    cache.set_user_data(-100, 5, "x", "1")?;
    cache.close()?;

    // The rows keep what is not the moved field; a row left empty is gone; rows
    // that are not the seed's shape are left alone.
    assert_eq!(
        row(&db, "chats", "-100").as_deref().map(parsed),
        Some(json!({"info": {"title": "t"}}))
    );
    assert_eq!(row(&db, "chats", "-200"), None);
    assert_eq!(row(&db, "chatUsers", "-100:5"), None);
    assert_eq!(
        row(&db, "chatUsers", "-100:6").as_deref().map(parsed),
        Some(json!({"seen": 1}))
    );
    assert_eq!(
        row(&db, "chatUsers", "not-a-pair").as_deref(),
        Some(r#"{"data":{"k":"kept"}}"#)
    );
    assert_eq!(
        row(&db, "chats", "-300").as_deref(),
        Some(r#"{"settings": not json"#)
    );
    assert_eq!(row(&db, "users", "5").as_deref(), Some(r#"{"state":"x"}"#));

    let cache = common::builder().open_sqlite(&db)?;
    assert_eq!(
        parsed(&cache.get_user_data(-100, 5)?),
        json!({"k": "v", "n": 2, "list": [1, "two"], "a b": {"c": null}, "x": 1})
    );
    cache.close()?;
    Ok(())
}

#[test]
fn a_value_the_bot_tables_already_hold_wins_over_the_rows_copy() -> Result<(), cache_host::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = seed_database(dir.path());
    // The seed also wrote the bot's tables on every change: theirs is the newer value.
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(include_str!("../../schema/sqlite/migrations/0001_tables.sql"))?;
            c.execute_batch(
                "INSERT INTO user_data VALUES (5, -100, 'k', '\"newer\"', '2025-06-02 00:00:00', '2025-06-02 00:00:00');
                 INSERT INTO chat_settings VALUES (-100, 'lang', 'uk', '2025-06-02 00:00:00', '2025-06-02 00:00:00');",
            )
        })
        .expect("the bot's tables");
    let cache = common::builder().open_sqlite(&db)?;
    assert_eq!(parsed(&cache.get_user_data(-100, 5)?)["k"], json!("newer"));
    assert_eq!(parsed(&cache.get_user_data(-100, 5)?)["n"], json!(2));
    assert_eq!(parsed(&cache.get_chat_settings(-100)?)["lang"], json!("uk"));
    cache.close()?;
    Ok(())
}
