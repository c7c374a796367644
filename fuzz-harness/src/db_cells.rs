//! `db_cells`: SQLite files whose rows in `cache_storage`, `chat_settings` and
//! `user_data` hold arbitrary cells (NULL, integers, reals, text, BLOBs, text
//! that is not UTF-8, huge values, any timestamp), then the service opened over
//! the file: load, generic gets, the bot's reads, writes, persist, close, reopen.
//!
//! Invariants: no panic and no trap; every failure is a typed error; the file
//! opens, and opens again after the session (read-write and read-only).
use crate::{assert_typed, reset_big_budget, runtime, take_big, Id, NsName, Text};
use arbitrary::Arbitrary;
use cache_host::{CacheService, SettingsMode, SqliteOptions, SqliteStorage};
use rusqlite::types::Value;

/// One cell.
#[derive(Arbitrary, Debug)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A TEXT cell holding these bytes, which need not be UTF-8.
    RawText(Vec<u8>),
    /// A TEXT cell of `(n % 4 + 1) MiB - 1 + n % 3` bytes of JSON string.
    Huge(u8),
    /// A timestamp in the bot's text form, `n` seconds from the epoch (any year).
    Time(i64),
    /// A small JSON text: one of a few.
    Json(u8),
    /// An id-like integer: -1, 0 or 1.
    SmallId(u8),
    /// A key-like text: one of a few.
    Key(u8),
}

impl Cell {
    /// The SQL expression for placeholder `?n`, and the parameter bound to it.
    fn sql(&self, n: usize) -> (String, Value) {
        let plain = format!("?{n}");
        match self {
            Cell::Null => (plain, Value::Null),
            Cell::Int(i) => (plain, Value::Integer(*i)),
            Cell::Real(r) => (plain, Value::Real(*r)),
            Cell::Text(s) => (plain, Value::Text(s.clone())),
            Cell::Blob(b) => (plain, Value::Blob(b.clone())),
            Cell::RawText(b) => (format!("CAST(?{n} AS TEXT)"), Value::Blob(b.clone())),
            Cell::Huge(_) if !take_big() => (plain, Value::Text("{}".to_owned())),
            Cell::Huge(h) => {
                let len = (usize::from(h % 4) + 1) * (1 << 20) - 1 + usize::from(h % 3);
                (
                    plain,
                    Value::Text(format!("\"{}\"", "h".repeat(len.saturating_sub(2)))),
                )
            }
            Cell::Time(secs) => (
                format!("strftime('%Y-%m-%d %H:%M:%f', ?{n}, 'unixepoch')"),
                Value::Integer(*secs),
            ),
            Cell::Json(j) => {
                let texts = [
                    "{}",
                    "null",
                    "{\"a\":1}",
                    "\"x\"",
                    "1e400",
                    "{\"settings\":{\"a\":1}}",
                    "{\"data\":[]}",
                    "{\"info\":5}",
                    " ",
                ];
                (
                    plain,
                    Value::Text(texts[usize::from(*j) % texts.len()].to_owned()),
                )
            }
            Cell::SmallId(i) => (plain, Value::Integer(i64::from(i % 3) - 1)),
            Cell::Key(k) => {
                let keys = [
                    "chats",
                    "chatUsers",
                    "users",
                    "-1",
                    "0",
                    "1",
                    "0:1",
                    "-1:-1",
                    "a",
                    "",
                ];
                (
                    plain,
                    Value::Text(keys[usize::from(*k) % keys.len()].to_owned()),
                )
            }
        }
    }
}

/// One row to insert.
#[derive(Arbitrary, Debug)]
pub enum Row {
    /// `cache_storage (namespace, key, value, updated_at)`.
    Rows([Cell; 4]),
    /// `chat_settings (chat_id, key, value, created_at, updated_at)`.
    Setting([Cell; 5]),
    /// `user_data (user_id, chat_id, key, data, created_at, updated_at)`.
    Data([Cell; 6]),
}

/// One call on the service opened over the file.
#[derive(Arbitrary, Debug)]
pub enum Call {
    Get(NsName, Text),
    GetChatSettings(Id),
    GetChatInfo(Id),
    GetUserData(Id, Id),
    SetChatSettings(Id, bool),
    SetChatInfo(Id),
    SetUserData(Id, Id, Text),
    Set(NsName, Text),
    Persist,
    Load,
}

/// One input: the rows written behind the cache's back, then the calls.
#[derive(Arbitrary, Debug)]
pub struct Input {
    rows: Vec<Row>,
    calls: Vec<Call>,
}

fn insert(conn: &rusqlite::Connection, row: &Row) {
    let (table, columns, cells): (&str, &str, &[Cell]) = match row {
        Row::Rows(c) => ("cache_storage", "namespace, key, value, updated_at", c),
        Row::Setting(c) => (
            "chat_settings",
            "chat_id, key, value, created_at, updated_at",
            c,
        ),
        Row::Data(c) => (
            "user_data",
            "user_id, chat_id, key, data, created_at, updated_at",
            c,
        ),
    };
    let (exprs, params): (Vec<String>, Vec<Value>) =
        cells.iter().enumerate().map(|(i, c)| c.sql(i + 1)).unzip();
    let sql = format!(
        "INSERT OR REPLACE INTO {table} ({columns}) VALUES ({})",
        exprs.join(", ")
    );
    // A NOT NULL cell refused by SQLite is simply not inserted.
    let _ = conn.execute(&sql, rusqlite::params_from_iter(params));
}

fn session(path: &std::path::Path, calls: &[Call]) {
    let service = CacheService::builder("unused")
        .runtime(runtime().clone())
        .open_sqlite(path)
        .unwrap_or_else(|e| panic!("the file with arbitrary cells does not open: {e:?}"));
    for call in calls {
        let what = format!("{call:?}");
        match call {
            Call::Get(ns, key) => assert_typed(&what, &service.get(&ns.text(), &key.text())),
            Call::GetChatSettings(chat) => {
                assert_typed(&what, &service.get_chat_settings(chat.get()))
            }
            Call::GetChatInfo(chat) => assert_typed(&what, &service.get_chat_info(chat.get())),
            Call::GetUserData(chat, user) => {
                assert_typed(&what, &service.get_user_data(chat.get(), user.get()))
            }
            Call::SetChatSettings(chat, rewrite) => {
                let mode = if *rewrite {
                    SettingsMode::Rewrite
                } else {
                    SettingsMode::Merge
                };
                assert_typed(
                    &what,
                    &service.set_chat_settings(chat.get(), r#"{"a":"b"}"#, mode),
                )
            }
            Call::SetChatInfo(chat) => {
                assert_typed(&what, &service.set_chat_info(chat.get(), r#"{"t":"x"}"#))
            }
            Call::SetUserData(chat, user, key) => assert_typed(
                &what,
                &service.set_user_data(chat.get(), user.get(), &key.text(), "1"),
            ),
            Call::Set(ns, key) => {
                assert_typed(&what, &service.set(&ns.text(), &key.text(), r#"{"v":1}"#))
            }
            Call::Persist => assert_typed(&what, &service.persist_all()),
            Call::Load => assert_typed(&what, &service.load_from_storage()),
        }
    }
    assert_typed("close", &service.close());
}

/// Runs one input; panics where an invariant breaks.
pub fn run(input: Input) {
    reset_big_budget();
    let dir = tempfile::Builder::new()
        .prefix("db-cells-")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("cache.db");
    {
        // The cache's tables, then the cells, written behind its back.
        drop(SqliteStorage::open(&path).unwrap_or_else(|e| panic!("create: {e:?}")));
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("sqlite: {e}"));
        for row in &input.rows {
            insert(&conn, row);
        }
    }
    session(&path, &input.calls);
    // Still a database the cache opens, for writing and for reading.
    session(
        &path,
        &[
            Call::Load,
            Call::GetChatSettings(Id::Small(0)),
            Call::Persist,
        ],
    );
    let read_only = SqliteOptions {
        read_only: true,
        ..SqliteOptions::default()
    };
    let mut storage = SqliteStorage::open_with(&path, &read_only)
        .unwrap_or_else(|e| panic!("read-only open after the session: {e:?}"));
    if let Err(e) = storage.usage() {
        panic!("usage: {e:?}");
    }
}
