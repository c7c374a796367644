//! The storage test kit: one suite that every backend of
//! [`cache_core::Storage`] + [`cache_core::BotStorage`] runs through a
//! [`Backend`], its constructor. It pins what the cache relies on:
//!
//! - load order: the newest N rows of a namespace, oldest first;
//! - a batch applies clear, then delete, then upsert, atomically;
//! - each typed error kind the backend can be made to produce, with nothing
//!   applied by the failing call;
//! - a cell that cannot be read as text is a skipped row of `load` and a
//!   `corrupt` error of `get`, never a failing load;
//! - everything written is there after reopening;
//! - the bot's tables: settings merge, rewrite and unset; user data.
//!
//! A backend states which of the failure cases it cannot produce (an
//! in-memory store cannot be locked or fill a disk); [`run`] returns the list
//! of cases it ran, so a test can assert that none it should run was skipped.

pub mod remote;

use cache_core::{
    Batch, BotStorage, Row, RowKey, SettingsChange, Storage, StorageError, StorageErrorKind,
    StoredRow,
};

/// A kind of cell that cannot be read as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadCell {
    /// Binary data.
    Blob,
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// No value at all.
    Null,
}

/// How the kit creates, reopens and damages one backend.
pub trait Backend {
    /// The storage under test.
    type Storage: BotStorage;

    /// A fresh storage with no data.
    fn open(&mut self) -> Self::Storage;

    /// Closes `storage` and opens the same data again; `None` if the backend
    /// keeps nothing after close (then the reopen case is not run).
    fn reopen(&mut self, storage: Self::Storage) -> Option<Self::Storage>;

    /// Stores a row of `namespace` whose value is `cell`, behind the storage's
    /// back; `false` if the backend cannot hold such a cell.
    fn put_bad_cell(
        &mut self,
        storage: &mut Self::Storage,
        namespace: &str,
        key: &str,
        cell: BadCell,
    ) -> bool;

    /// Arranges that the next `write` of `storage` that upserts a row with key
    /// `key` fails with an error of `kind`; `false` if the backend cannot be
    /// made to fail that way. [`Backend::heal`] undoes it.
    fn provoke(&mut self, storage: &mut Self::Storage, kind: StorageErrorKind, key: &str) -> bool;

    /// Undoes every [`Backend::provoke`].
    fn heal(&mut self, storage: &mut Self::Storage);
}

/// Runs every case against `backend`, panicking with the case's name on the
/// first failure. Returns the names of the cases run; cases the backend
/// declined (by `false` or `None`) are left out.
pub fn run<B: Backend>(backend: &mut B) -> Vec<String> {
    let mut ran = Vec::new();
    let mut case = |name: &str, f: &mut dyn FnMut(&mut B) -> bool| {
        if f(backend) {
            ran.push(name.to_owned());
        }
    };
    case("load-newest-n-oldest-first", &mut |b| {
        load_newest_n_oldest_first(b);
        true
    });
    case("batch-order", &mut |b| {
        batch_order(b);
        true
    });
    case("absent-is-not-an-error", &mut |b| {
        absent_is_not_an_error(b);
        true
    });
    case("reopen-keeps-everything", &mut reopen_keeps_everything);
    for cell in [BadCell::Blob, BadCell::InvalidUtf8, BadCell::Null] {
        case(&format!("bad-cell-{cell:?}"), &mut |b| bad_cell(b, cell));
    }
    for &kind in StorageErrorKind::FAILURES {
        case(&format!("typed-error-{kind}"), &mut |b| {
            typed_error(b, kind)
        });
    }
    case("settings-merge-rewrite-unset", &mut |b| {
        settings(b);
        true
    });
    case("user-data", &mut |b| {
        user_data(b);
        true
    });
    ran
}

fn row<'a>(namespace: &'a str, key: &'a str, value: &'a str) -> Row<'a> {
    Row {
        namespace,
        key,
        value: value.into(),
    }
}

fn upserts<'a>(rows: Vec<Row<'a>>) -> Batch<'a> {
    Batch {
        upsert: rows,
        ..Batch::default()
    }
}

fn keys(rows: &[StoredRow]) -> Vec<&str> {
    rows.iter().map(|r| r.key.as_str()).collect()
}

fn ok<T>(what: &str, r: Result<T, StorageError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected storage error: {e}"),
    }
}

fn load_newest_n_oldest_first<B: Backend>(b: &mut B) {
    let mut s = b.open();
    let names: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    ok(
        "write ten rows",
        s.write(&upserts(names.iter().map(|k| row("ns", k, "1")).collect())),
    );
    ok(
        "write another namespace",
        s.write(&upserts(vec![row("other", "x", "1")])),
    );
    ok("rewrite k2", s.write(&upserts(vec![row("ns", "k2", "2")])));
    let rows = ok("load 3", s.load("ns", 3));
    assert_eq!(keys(&rows), ["k8", "k9", "k2"], "newest 3, oldest first");
    assert_eq!(rows[2].value, Ok("2".to_owned()), "the rewritten value");
    assert_eq!(ok("load all", s.load("ns", 100)).len(), 10);
    assert!(ok("load missing", s.load("missing", 5)).is_empty());
    assert!(ok("load 0", s.load("ns", 0)).is_empty());
}

fn batch_order<B: Backend>(b: &mut B) {
    let mut s = b.open();
    ok(
        "seed",
        s.write(&upserts(vec![
            row("a", "1", "1"),
            row("a", "2", "1"),
            row("b", "1", "1"),
            row("b", "2", "1"),
        ])),
    );
    ok(
        "clear, delete, upsert",
        s.write(&Batch {
            clear: vec!["a"],
            delete: vec![RowKey {
                namespace: "b",
                key: "1",
            }],
            upsert: vec![row("a", "3", "3"), row("b", "1", "new")],
        }),
    );
    assert_eq!(keys(&ok("load a", s.load("a", 10))), ["3"]);
    let rows = ok("load b", s.load("b", 10));
    assert_eq!(keys(&rows), ["2", "1"]);
    assert_eq!(rows[1].value, Ok("new".to_owned()));
}

fn absent_is_not_an_error<B: Backend>(b: &mut B) {
    let mut s = b.open();
    assert_eq!(ok("get absent", s.get("ns", "nope")), None);
    ok(
        "delete absent",
        s.write(&Batch {
            clear: vec!["never"],
            delete: vec![RowKey {
                namespace: "ns",
                key: "nope",
            }],
            upsert: vec![],
        }),
    );
    assert!(ok("settings of an unknown chat", s.get_chat_settings(404)).is_empty());
    assert!(ok("data of an unknown user", s.get_user_data(404, 405)).is_empty());
    ok(
        "unset an absent setting",
        s.write_chat_settings(404, &SettingsChange::Unset("nope".into())),
    );
}

fn reopen_keeps_everything<B: Backend>(b: &mut B) -> bool {
    let mut s = b.open();
    ok(
        "write rows",
        s.write(&upserts(vec![
            row("ns", "a", "[1]"),
            row("ns", "b", "\"é\""),
        ])),
    );
    ok(
        "write settings",
        s.write_chat_settings(
            -100,
            &SettingsChange::Merge(vec![("lang".into(), "en".into())]),
        ),
    );
    ok(
        "write user data",
        s.set_user_data(-100, 7, "k", "{\"a\":1}"),
    );
    let Some(mut s) = b.reopen(s) else {
        return false;
    };
    assert_eq!(keys(&ok("load", s.load("ns", 10))), ["a", "b"]);
    assert_eq!(ok("get", s.get("ns", "b")).as_deref(), Some("\"é\""));
    assert_eq!(
        ok("settings", s.get_chat_settings(-100)),
        [("lang".to_owned(), "en".to_owned())]
    );
    assert_eq!(
        ok("user data", s.get_user_data(-100, 7)),
        [("k".to_owned(), "{\"a\":1}".to_owned())]
    );
    true
}

fn bad_cell<B: Backend>(b: &mut B, cell: BadCell) -> bool {
    let mut s = b.open();
    ok(
        "write good rows",
        s.write(&upserts(vec![row("ns", "good1", "1")])),
    );
    if !b.put_bad_cell(&mut s, "ns", "bad", cell) {
        return false;
    }
    ok(
        "write another good row",
        s.write(&upserts(vec![row("ns", "good2", "2")])),
    );
    let rows = ok("load with a bad cell", s.load("ns", 10));
    let bad: Vec<&StoredRow> = rows.iter().filter(|r| r.value.is_err()).collect();
    assert_eq!(bad.len(), 1, "exactly the bad row is marked: {rows:?}");
    assert_eq!(bad[0].key, "bad");
    assert_eq!(
        rows.iter().filter(|r| r.value.is_ok()).count(),
        2,
        "{rows:?}"
    );
    match s.get("ns", "bad") {
        Err(e) => assert_eq!(e.kind, StorageErrorKind::Corrupt, "{e}"),
        Ok(v) => panic!("get of a {cell:?} cell returned {v:?}, not a corrupt error"),
    }
    assert_eq!(
        ok("get a good row", s.get("ns", "good2")).as_deref(),
        Some("2")
    );
    true
}

fn typed_error<B: Backend>(b: &mut B, kind: StorageErrorKind) -> bool {
    let mut s = b.open();
    ok("seed", s.write(&upserts(vec![row("ns", "keep", "1")])));
    if !b.provoke(&mut s, kind, "boom") {
        return false;
    }
    let failed = s.write(&Batch {
        clear: vec!["ns"],
        delete: vec![],
        upsert: vec![row("ns", "fine", "1"), row("ns", "boom", "1")],
    });
    match failed {
        Err(e) => assert_eq!(e.kind, kind, "the error's kind: {e}"),
        Ok(()) => panic!("a provoked {kind} failure did not fail the write"),
    }
    b.heal(&mut s);
    let rows = ok("load after a failed batch", s.load("ns", 10));
    assert_eq!(keys(&rows), ["keep"], "a failed batch applied nothing");
    ok(
        "write after healing",
        s.write(&upserts(vec![row("ns", "after", "1")])),
    );
    true
}

fn settings<B: Backend>(b: &mut B) {
    let mut s = b.open();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    ok(
        "merge",
        s.write_chat_settings(
            1,
            &SettingsChange::Merge(pairs(&[("b", "two"), ("a", "1")])),
        ),
    );
    ok(
        "merge again",
        s.write_chat_settings(1, &SettingsChange::Merge(pairs(&[("a", "one")]))),
    );
    ok(
        "other chat",
        s.write_chat_settings(2, &SettingsChange::Merge(pairs(&[("x", "y")]))),
    );
    assert_eq!(
        ok("get", s.get_chat_settings(1)),
        pairs(&[("a", "one"), ("b", "two")])
    );
    ok(
        "rewrite",
        s.write_chat_settings(
            1,
            &SettingsChange::Rewrite(pairs(&[("c", "3"), ("a", "uno")])),
        ),
    );
    assert_eq!(
        ok("after rewrite", s.get_chat_settings(1)),
        pairs(&[("a", "uno"), ("c", "3")])
    );
    ok(
        "unset",
        s.write_chat_settings(1, &SettingsChange::Unset("a".into())),
    );
    assert_eq!(
        ok("after unset", s.get_chat_settings(1)),
        pairs(&[("c", "3")])
    );
    ok(
        "rewrite to nothing",
        s.write_chat_settings(1, &SettingsChange::Rewrite(vec![])),
    );
    assert!(ok("after empty rewrite", s.get_chat_settings(1)).is_empty());
    assert_eq!(
        ok("the other chat is untouched", s.get_chat_settings(2)),
        pairs(&[("x", "y")])
    );
}

fn user_data<B: Backend>(b: &mut B) {
    let mut s = b.open();
    ok("set", s.set_user_data(1, 2, "k", "[1]"));
    ok("replace", s.set_user_data(1, 2, "k", "[2]"));
    ok("another key", s.set_user_data(1, 2, "a", "true"));
    ok("another user", s.set_user_data(1, 3, "k", "[3]"));
    ok("another chat", s.set_user_data(9, 2, "k", "[9]"));
    assert_eq!(
        ok("get", s.get_user_data(1, 2)),
        [
            ("a".to_owned(), "true".to_owned()),
            ("k".to_owned(), "[2]".to_owned())
        ]
    );
    assert_eq!(
        ok("get other", s.get_user_data(9, 2)),
        [("k".to_owned(), "[9]".to_owned())]
    );
}
