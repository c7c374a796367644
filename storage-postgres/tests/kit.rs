//! The storage test kit against a real PostgreSQL server: once in a UTF-8
//! database (the usual case) and once in a `SQL_ASCII` one, where a cell can
//! hold bytes that are not UTF-8.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{admin, server_url, url_of_database, Schema};
use cache_core::StorageErrorKind;
use cache_storage_kit::{Backend, BadCell};
use cache_storage_postgres::{PostgresOptions, PostgresStorage};
use postgres::Client;

/// The kit's constructor: each storage on a fresh schema.
struct Pg {
    url: String,
    ascii: bool,
    schemas: Vec<Schema>,
    /// A transaction holding a lock (busy) or taking part in a deadlock (conflict).
    locker: Option<Client>,
    deadlock: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Pg {
    fn new(url: &str, ascii: bool) -> Self {
        Pg {
            url: url.to_owned(),
            ascii,
            schemas: Vec::new(),
            locker: None,
            deadlock: None,
        }
    }

    fn schema(&self) -> &Schema {
        self.schemas.last().expect("a storage was opened")
    }
}

fn options() -> PostgresOptions {
    PostgresOptions {
        lock_timeout: Duration::from_millis(200),
        ..PostgresOptions::default()
    }
}

fn backend_pid(s: &mut PostgresStorage) -> i32 {
    s.client()
        .expect("connection")
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pid")
        .get(0)
}

impl Backend for Pg {
    type Storage = PostgresStorage;

    fn open(&mut self) -> PostgresStorage {
        self.schemas.push(Schema::new(&self.url, "kit"));
        self.schema().open(options())
    }

    fn reopen(&mut self, storage: PostgresStorage) -> Option<PostgresStorage> {
        drop(storage);
        Some(self.schema().open(options()))
    }

    fn put_bad_cell(
        &mut self,
        s: &mut PostgresStorage,
        namespace: &str,
        key: &str,
        cell: BadCell,
    ) -> bool {
        let c = s.client().expect("connection");
        match cell {
            // A text column cannot hold binary data in PostgreSQL.
            BadCell::Blob => return false,
            // Only a SQL_ASCII database stores bytes unchecked.
            BadCell::InvalidUtf8 if !self.ascii => return false,
            BadCell::InvalidUtf8 => c
                .batch_execute(&format!(
                    "INSERT INTO cache_storage VALUES ('{namespace}', '{key}', E'\\xC3\\x28', '2020-01-01')"
                ))
                .expect("insert invalid UTF-8"),
            // The cache's `value` column is NOT NULL; a NULL can still arrive in
            // a table declared without it.
            BadCell::Null => c
                .batch_execute(&format!(
                    "ALTER TABLE cache_storage ALTER COLUMN value DROP NOT NULL;
                     INSERT INTO cache_storage VALUES ('{namespace}', '{key}', NULL, '2020-01-01')"
                ))
                .expect("insert NULL"),
        }
        true
    }

    fn provoke(&mut self, s: &mut PostgresStorage, kind: StorageErrorKind, key: &str) -> bool {
        match kind {
            StorageErrorKind::Busy => {
                let mut other = self.schema().client();
                other
                    .batch_execute("BEGIN; LOCK TABLE cache_storage IN ACCESS EXCLUSIVE MODE")
                    .expect("take the table lock");
                self.locker = Some(other);
            }
            StorageErrorKind::ReadOnly => s
                .client()
                .expect("connection")
                .batch_execute("SET default_transaction_read_only = on")
                .expect("read-only session"),
            StorageErrorKind::Constraint => s
                .client()
                .expect("connection")
                .batch_execute(&format!(
                    "ALTER TABLE cache_storage ADD CONSTRAINT kit_refuse CHECK (key <> '{key}') NOT VALID"
                ))
                .expect("check constraint"),
            // PostgreSQL cannot be made to fill a disk here: a trigger raises the
            // server's own disk_full error, as the storage manager would.
            StorageErrorKind::Full => s
                .client()
                .expect("connection")
                .batch_execute(&format!(
                    "CREATE FUNCTION kit_full() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                         IF NEW.key = '{key}' THEN
                             RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                         END IF;
                         RETURN NEW;
                     END $$;
                     CREATE TRIGGER kit_full BEFORE INSERT OR UPDATE ON cache_storage
                         FOR EACH ROW EXECUTE FUNCTION kit_full();"
                ))
                .expect("disk-full trigger"),
            // Someone changed the table under the running storage.
            StorageErrorKind::Schema => s
                .client()
                .expect("connection")
                .batch_execute("ALTER TABLE cache_storage RENAME COLUMN value TO kit_value")
                .expect("rename a column"),
            // The server ends the storage's connection.
            StorageErrorKind::Unavailable => {
                let pid = backend_pid(s);
                let ended: bool = admin(&self.url)
                    .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                    .expect("terminate")
                    .get(0);
                assert!(ended, "the storage's backend was terminated");
            }
            // A real deadlock: another transaction holds an uncommitted row with
            // key `key`, which the batch must wait for, and then waits for a row
            // the batch deleted. The storage's session detects it first.
            StorageErrorKind::Conflict => {
                let pid = backend_pid(s);
                s.client()
                    .expect("connection")
                    .batch_execute("SET deadlock_timeout = '50ms'")
                    .expect("deadlock_timeout");
                let mut other = self.schema().client();
                other
                    .batch_execute(&format!(
                        "BEGIN; INSERT INTO cache_storage VALUES ('ns', '{key}', '0', '2000-01-01')"
                    ))
                    .expect("hold an uncommitted row");
                let mut monitor = admin(&self.url);
                let (heal, healed) = mpsc::channel::<()>();
                let thread = std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    loop {
                        let waiting: bool = monitor
                            .query_one(
                                "SELECT coalesce((SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1), false)",
                                &[&pid],
                            )
                            .expect("watch the storage")
                            .get(0);
                        if waiting {
                            break;
                        }
                        assert!(Instant::now() < deadline, "the storage never waited for the row");
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    other
                        .batch_execute("UPDATE cache_storage SET value = value WHERE namespace = 'ns' AND key = 'keep'")
                        .expect("the other side of the deadlock proceeds once the storage gave up");
                    let _ = healed.recv();
                    other.batch_execute("ROLLBACK").expect("roll back");
                });
                self.deadlock = Some((heal, thread));
            }
            StorageErrorKind::Corrupt | StorageErrorKind::Other | StorageErrorKind::Pending => {
                return false
            }
        }
        true
    }

    fn heal(&mut self, s: &mut PostgresStorage) {
        if let Some(mut other) = self.locker.take() {
            other.batch_execute("ROLLBACK").expect("release the lock");
        }
        if let Some((heal, thread)) = self.deadlock.take() {
            heal.send(()).expect("signal");
            thread.join().expect("the deadlock thread");
        }
        let c = s.client().expect("connection");
        c.batch_execute("SET default_transaction_read_only = off")
            .expect("writable session");
        c.batch_execute(
                "ALTER TABLE cache_storage DROP CONSTRAINT IF EXISTS kit_refuse;
                 DROP TRIGGER IF EXISTS kit_full ON cache_storage;
                 DROP FUNCTION IF EXISTS kit_full();
                 DO $$ BEGIN
                     IF EXISTS (SELECT 1 FROM information_schema.columns
                                WHERE table_schema = current_schema() AND table_name = 'cache_storage'
                                  AND column_name = 'kit_value') THEN
                         ALTER TABLE cache_storage RENAME COLUMN kit_value TO value;
                     END IF;
                 END $$;",
            )
            .expect("heal");
    }
}

const EVERY_DATABASE: [&str; 15] = [
    "load-newest-n-oldest-first",
    "batch-order",
    "absent-is-not-an-error",
    "reopen-keeps-everything",
    "bad-cell-Null",
    "typed-error-busy",
    "typed-error-full",
    "typed-error-read-only",
    "typed-error-constraint",
    "typed-error-schema",
    "typed-error-unavailable",
    "typed-error-conflict",
    "settings-merge-rewrite-unset",
    "user-data",
    "typed-error-busy",
];

fn assert_ran(ran: &[String], expected: &[&str]) {
    for e in expected {
        assert!(ran.iter().any(|r| r == e), "{e} did not run: {ran:?}");
    }
}

#[test]
fn passes_the_storage_kit_in_a_utf8_database() {
    let Some(url) = server_url() else { return };
    let ran = cache_storage_kit::run(&mut Pg::new(&url, false));
    assert_ran(&ran, &EVERY_DATABASE);
    assert!(
        !ran.iter().any(|r| r == "bad-cell-InvalidUtf8"),
        "a UTF-8 database cannot hold it"
    );
}

#[test]
fn passes_the_storage_kit_in_a_sql_ascii_database() {
    let Some(url) = server_url() else { return };
    let db = "gromozeka_test_sql_ascii";
    let mut a = admin(&url);
    let exists: bool = a
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&db],
        )
        .expect("look up")
        .get(0);
    if !exists {
        a.batch_execute(&format!("CREATE DATABASE {db} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"))
            .expect("create a SQL_ASCII database");
    }
    let ran = cache_storage_kit::run(&mut Pg::new(&url_of_database(&url, db), true));
    assert_ran(&ran, &EVERY_DATABASE);
    assert_ran(&ran, &["bad-cell-InvalidUtf8"]);
}
