//! `cache-host --db postgres://…` against the real test server: write commands
//! create the tables and store, read commands connect read-only (a schema without
//! the tables is not migrated by them), and export/import/inspect work on it.

use crate::cli_common;
use crate::common;

use std::path::Path;

use cli_common::{assert_code, run, run_with_stdin, text};

fn tables(url: &str, schema: &str) -> i64 {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("admin");
    admin
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema],
        )
        .and_then(|r| r.try_get(0))
        .expect("count tables")
}

#[test]
fn every_command_works_on_postgresql_and_read_commands_never_migrate() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = format!("t_cli_{}", std::process::id());
    let db = common::pg_schema(&url, &schema);
    let db = Path::new(&db);

    // Read commands on a schema without the tables: they fail, and create nothing.
    for args in [
        &["get", "chatUsers", "1:2"][..],
        &["stats"],
        &["inspect"],
        &["export"],
    ] {
        let out = run(db, args);
        assert_ne!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stdout)
        );
        assert_eq!(tables(&url, &schema), 0, "{args:?} must not migrate");
    }

    let out = run(db, &["set", "chatUsers", "1:2", r#"{"n":1}"#]);
    assert_code(&out, 0);
    assert!(tables(&url, &schema) >= 3, "set creates the tables");
    // chats is on-shutdown: stored when the command closes the service.
    assert_code(&run(db, &["set", "chats", "-100", r#"{"title":"t"}"#]), 0);

    let out = run(db, &["get", "chatUsers", "1:2"]);
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout).trim(), r#"{"n":1}"#);
    let out = run(db, &["get", "chats", "-100"]);
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout).trim(), r#"{"title":"t"}"#);
    assert_code(&run(db, &["get", "chatUsers", "9:9"]), cli_common::ABSENT);

    let out = run(db, &["inspect"]);
    assert_code(&out, 0);
    let inspected = text(&out.stdout);
    assert!(inspected.contains("chatUsers"), "{inspected}");
    assert!(inspected.contains("chats"), "{inspected}");

    let out = run(db, &["export"]);
    assert_code(&out, 0);
    let exported = text(&out.stdout);
    assert_eq!(exported.lines().count(), 2, "{exported}");

    let line = r#"{"namespace":"chatUsers","key":"3:4","value":"{\"n\":3}"}"#;
    assert_code(&run_with_stdin(db, &["import", "-"], line.as_bytes()), 0);
    let out = run(db, &["get", "chatUsers", "3:4"]);
    assert_eq!(text(&out.stdout).trim(), r#"{"n":3}"#);

    assert_code(&run(db, &["delete", "chatUsers", "1:2"]), 0);
    assert_code(&run(db, &["get", "chatUsers", "1:2"]), cli_common::ABSENT);
    assert_code(&run(db, &["persist"]), 0);
    let out = run(db, &["stats"]);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("chatUsers"));

    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("admin");
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop the test schema");
}

#[test]
fn a_server_that_accepts_and_never_answers_fails_within_connect_timeout() {
    // A listening socket nobody reads: the kernel accepts, nothing answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = hole.local_addr().expect("addr").port();
    let url = format!("postgres://cache@127.0.0.1:{port}/bot?connect_timeout=1");
    for args in [
        &["set", "chatUsers", "1:2", "1"][..],
        &["get", "chatUsers", "1:2"],
    ] {
        let t = std::time::Instant::now();
        let out = run(Path::new(&url), args);
        assert_code(&out, cli_common::FAILED);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} took {:?}",
            t.elapsed()
        );
        let err = text(&out.stderr);
        assert!(err.contains("no answer within 1s"), "{args:?}: {err}");
    }
}
