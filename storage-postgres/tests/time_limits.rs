//! Every wait on the server has a limit and a typed error: a server that accepts
//! connections and never answers (a black hole: a listening socket nobody reads)
//! fails the open with `unavailable` within the connect limit, and a statement past
//! `statement_timeout` fails with `busy`, the stored data unchanged.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::{server_url, Schema};
use cache_core::{BotStorage, StorageErrorKind};
use cache_storage_postgres::{PostgresOptions, PostgresStorage};

/// A port that accepts TCP connections (the kernel completes them into the
/// backlog) and never answers.
fn black_hole() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[test]
fn a_server_that_never_answers_fails_the_open_within_the_urls_connect_timeout() {
    let (_hole, port) = black_hole();
    let t = Instant::now();
    let err = PostgresStorage::open(&format!(
        "postgres://cache@127.0.0.1:{port}/bot?connect_timeout=1"
    ))
    .expect_err("nobody answers");
    let took = t.elapsed();
    assert_eq!(err.kind, StorageErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("no answer within 1s"), "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn without_a_url_limit_the_storages_connect_timeout_applies() {
    let (_hole, port) = black_hole();
    let options = PostgresOptions {
        connect_timeout: Duration::from_millis(300),
        ..PostgresOptions::default()
    };
    let t = Instant::now();
    let err =
        PostgresStorage::open_with(&format!("postgres://cache@127.0.0.1:{port}/bot"), options)
            .expect_err("nobody answers");
    assert_eq!(err.kind, StorageErrorKind::Unavailable, "{err}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The default is 10 s, not forever.
    assert_eq!(
        PostgresOptions::default().connect_timeout,
        cache_storage_postgres::DEFAULT_CONNECT_TIMEOUT
    );
}

#[test]
fn a_statement_past_statement_timeout_is_busy_and_changes_nothing() {
    let Some(url) = server_url() else { return };
    let schema = Schema::new(&url, "stmt");
    let mut s = schema.open(PostgresOptions {
        lock_timeout: Duration::from_secs(30),
        statement_timeout: Duration::from_millis(300),
        ..PostgresOptions::default()
    });
    s.set_user_data(-1, 5, "karma", "1").expect("first write");
    // Another session holds the row: the write waits, past statement_timeout
    // (and well before lock_timeout).
    let mut other = schema.client();
    let mut tx = other.transaction().expect("begin");
    tx.execute("SELECT * FROM user_data FOR UPDATE", &[])
        .expect("lock the row");
    let t = Instant::now();
    let err = s
        .set_user_data(-1, 5, "karma", "2")
        .expect_err("the statement is cancelled");
    assert_eq!(err.kind, StorageErrorKind::Busy, "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    tx.rollback().expect("rollback");
    assert_eq!(
        s.get_user_data(-1, 5).expect("read"),
        vec![("karma".to_owned(), "1".to_owned())]
    );
}
