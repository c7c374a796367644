//! The coherence of services sharing one PostgreSQL database, in one test process:
//! each service has its own connections, so the server tells them apart as it tells
//! processes apart. (`pg_processes.rs` checks the same with real processes.)

use crate::common;

use std::time::{Duration, Instant};

use cache_host::storage::postgres::{parse_url, shared_options, PostgresStorage};
use cache_host::{CacheService, Error, ServiceStorage, SettingsMode, WriteBack};

type Service = CacheService<Box<dyn ServiceStorage>>;

fn open(db: &str) -> Result<Service, Error> {
    common::builder().write_back(WriteBack::NEVER).open(db)
}

/// Waits until `service` applied more than `before` changes of others.
fn wait_remote(service: &Service, before: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.remote_changes() <= before {
        assert!(
            Instant::now() < deadline,
            "no change of another service was applied within 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn another_services_changes_drop_the_cached_copies_and_own_changes_do_not() -> Result<(), Error> {
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let db = common::pg_schema(&url, &format!("t_coh_{}", std::process::id()));
    let a = open(&db)?;
    let b = open(&db)?;
    a.set("chatUsers", "1:2", r#"{"v":1}"#)?;
    a.set_chat_settings(-5, r#"{"lang":"en"}"#, SettingsMode::Merge)?;
    a.set_user_data(-5, 9, "karma", "1")?;
    // B caches all three.
    assert_eq!(b.get("chatUsers", "1:2")?.as_deref(), Some(r#"{"v":1}"#));
    assert_eq!(b.get_chat_settings(-5)?, r#"{"lang":"en"}"#);
    assert_eq!(b.get_user_data(-5, 9)?, r#"{"karma":1}"#);
    std::thread::sleep(Duration::from_millis(300));
    let a_before = a.remote_changes();

    let before = b.remote_changes();
    a.set("chatUsers", "1:2", r#"{"v":2}"#)?;
    wait_remote(&b, before);
    assert_eq!(b.get("chatUsers", "1:2")?.as_deref(), Some(r#"{"v":2}"#));

    let before = b.remote_changes();
    a.set_chat_settings(-5, r#"{"lang":"de"}"#, SettingsMode::Merge)?;
    wait_remote(&b, before);
    assert_eq!(b.get_chat_settings(-5)?, r#"{"lang":"de"}"#);

    let before = b.remote_changes();
    a.set_user_data(-5, 9, "karma", "2")?;
    wait_remote(&b, before);
    assert_eq!(b.get_user_data(-5, 9)?, r#"{"karma":2}"#);

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        a.remote_changes(),
        a_before,
        "a service must not apply its own notifications"
    );
    // Dropping a service with a listening thread returns promptly.
    let t = Instant::now();
    drop(a);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "drop took {:?}",
        t.elapsed()
    );
    b.close()?;
    Ok(())
}

#[test]
fn an_on_shutdown_write_back_never_overwrites_a_newer_row_it_was_not_told_of() -> Result<(), Error>
{
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let db = common::pg_schema(&url, &format!("t_clob_{}", std::process::id()));
    let seeder = open(&db)?;
    seeder.set("chats", "-1", r#"{"v":"seed"}"#)?; // chats: on-shutdown
    seeder.close()?;
    // A hears nobody (its own channel): only the stale-row check protects the row.
    let mut options = shared_options(false);
    options.channel = Some("t_clob_deaf".into());
    let storage = PostgresStorage::from_config(parse_url(&db)?, options)?;
    let a = common::builder()
        .write_back(WriteBack::NEVER)
        .build(Box::new(storage) as Box<dyn ServiceStorage>)?;
    assert_eq!(a.get("chats", "-1")?.as_deref(), Some(r#"{"v":"seed"}"#));
    a.set("chats", "-1", r#"{"v":"stale"}"#)?;
    a.set("chats", "-2", r#"{"v":"a-only"}"#)?;

    let b = open(&db)?;
    b.set("chats", "-1", r#"{"v":"newer"}"#)?;
    b.persist_all()?;

    // The write-back meets `conflict`: -1 is forgotten, -2 is written.
    let report = a.persist_all()?;
    assert_eq!(report.written, 1, "only the row nobody else changed");
    assert_eq!(a.get("chats", "-1")?.as_deref(), Some(r#"{"v":"newer"}"#));
    // The same key set again after that is a newer change, and is written.
    a.set("chats", "-1", r#"{"v":"a-after"}"#)?;
    a.close()?;
    let c = open(&db)?;
    assert_eq!(c.get("chats", "-1")?.as_deref(), Some(r#"{"v":"a-after"}"#));
    assert_eq!(c.get("chats", "-2")?.as_deref(), Some(r#"{"v":"a-only"}"#));
    c.close()?;
    b.close()?;
    Ok(())
}

#[test]
fn after_the_listener_reconnects_every_clean_entry_is_read_again() -> Result<(), Error> {
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let name = format!("t_reco_{}", std::process::id());
    let db = common::pg_schema(&url, &name);
    let a = open(&db)?;
    a.set("chatUsers", "1:2", r#"{"v":1}"#)?;
    assert_eq!(a.get("chatUsers", "1:2")?.as_deref(), Some(r#"{"v":1}"#));
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("admin");
    // A change nobody is told of (no NOTIFY), as one missed while disconnected.
    admin
        .execute(
            &format!("UPDATE {name}.cache_storage SET value = '{{\"v\":2}}' WHERE key = '1:2'"),
            &[],
        )
        .expect("update");
    assert_eq!(
        a.get("chatUsers", "1:2")?.as_deref(),
        Some(r#"{"v":1}"#),
        "cached"
    );
    let before = a.remote_changes();
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1 AND query LIKE '%clock_timestamp%'",
            &[&name],
        )
        .and_then(|r| r.try_get(0))
        .expect("terminate the listener");
    assert_eq!(killed, 1, "the service's one listening connection");
    // Wait for the reconnect's `forget-all` itself, seen as the cached copy giving
    // way to the stored value.
    wait_remote(&a, before);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.get("chatUsers", "1:2")?.as_deref() != Some(r#"{"v":2}"#) {
        assert!(
            Instant::now() < deadline,
            "the reconnect did not drop the cached copy within 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    a.close()?;
    Ok(())
}

#[test]
fn services_on_different_schemas_of_one_database_do_not_hear_each_other() -> Result<(), Error> {
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let pid = std::process::id();
    let a = open(&common::pg_schema(&url, &format!("t_sch_a_{pid}")))?;
    let b_url = common::pg_schema(&url, &format!("t_sch_b_{pid}"));
    let b = open(&b_url)?;
    // A pending on-shutdown change in A; B writes the same names in its own tables.
    a.set_chat_info(-100, r#"{"title":"a"}"#)?;
    a.set("chatUsers", "1:2", r#"{"v":"a"}"#)?;
    b.set_chat_info(-100, r#"{"title":"b"}"#)?;
    b.set("chatUsers", "1:2", r#"{"v":"b"}"#)?;
    b.persist_all()?;
    // A watcher on B's schema hears B: the notifications were sent.
    let c = open(&b_url)?;
    let before = c.remote_changes();
    b.set("chatUsers", "1:2", r#"{"v":"b2"}"#)?;
    wait_remote(&c, before);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.remote_changes(), 0, "A heard another schema's changes");
    assert_eq!(a.pending_changes("chats")?.keys, vec!["-100".to_owned()]);
    assert_eq!(a.get_chat_info(-100)?.as_deref(), Some(r#"{"title":"a"}"#));
    assert_eq!(a.get("chatUsers", "1:2")?.as_deref(), Some(r#"{"v":"a"}"#));
    a.close()?;
    b.close()?;
    c.close()?;
    Ok(())
}

/// A service that hears nobody (a channel of its own): only the stale-row check at
/// write time protects the rows it writes back.
fn deaf(db: &str, channel: &str) -> Result<Service, Error> {
    let mut options = shared_options(false);
    options.channel = Some(channel.into());
    let storage = PostgresStorage::from_config(parse_url(db)?, options)?;
    common::builder()
        .write_back(WriteBack::NEVER)
        .build(Box::new(storage) as Box<dyn ServiceStorage>)
}

#[test]
fn a_stale_write_back_never_brings_back_a_row_another_process_deleted() -> Result<(), Error> {
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let db = common::pg_schema(&url, &format!("t_tomb_{}", std::process::id()));
    let seeder = open(&db)?;
    for key in ["-1", "-2"] {
        seeder.set("chats", key, r#"{"v":"seed"}"#)?; // chats: on-shutdown
    }
    seeder.set("chatUsers", "1:1", r#"{"v":"seed"}"#)?;
    seeder.close()?;

    let a = deaf(&db, "t_tomb_deaf")?;
    for key in ["-1", "-2"] {
        assert_eq!(a.get("chats", key)?.as_deref(), Some(r#"{"v":"seed"}"#));
        a.set("chats", key, r#"{"v":"stale"}"#)?;
    }
    let b = open(&db)?;
    assert!(b.delete("chats", "-1")?);
    b.persist_all()?;

    // The write-back meets the deletion: -1 is dropped (counted), -2 is written.
    let report = a.persist_all()?;
    assert_eq!(report.written, 1);
    assert_eq!(a.dropped_changes(), 1);
    assert_eq!(a.get("chats", "-1")?, None);

    // A cleared namespace is a deletion of every row it held.
    let a2 = deaf(&db, "t_tomb_deaf2")?;
    assert_eq!(
        a2.get("chatUsers", "1:1")?.as_deref(),
        Some(r#"{"v":"seed"}"#)
    );
    b.clear_namespace("chatUsers")?; // on-change: cleared in storage at once
    let refused = a2.set("chatUsers", "1:1", r#"{"v":"stale"}"#);
    assert!(
        matches!(&refused, Err(Error::Storage(e)) if e.kind == cache_host::StorageErrorKind::Conflict),
        "{refused:?}"
    );
    a2.close()?;
    a.close()?;
    b.close()?;

    let c = open(&db)?;
    assert_eq!(
        c.get("chats", "-1")?,
        None,
        "the deleted row stayed deleted"
    );
    assert_eq!(c.get("chats", "-2")?.as_deref(), Some(r#"{"v":"stale"}"#));
    assert_eq!(c.get("chatUsers", "1:1")?, None);
    c.close()?;
    Ok(())
}

#[test]
fn a_pending_change_dropped_for_another_process_s_deletion_is_counted() -> Result<(), Error> {
    let Some(url) = common::pg_url() else {
        return Ok(());
    };
    let db = common::pg_schema(&url, &format!("t_drop_{}", std::process::id()));
    let a = open(&db)?;
    a.set("chats", "-1", r#"{"v":"a"}"#)?;
    a.persist_all()?;
    a.set("chats", "-1", r#"{"v":"a-pending"}"#)?;
    let b = open(&db)?;
    let before = a.remote_changes();
    assert!(b.delete("chats", "-1")?);
    b.persist_all()?;
    wait_remote(&a, before);
    assert_eq!(a.dropped_changes(), 1, "the drop is counted");
    assert!(a.pending_changes("chats")?.keys.is_empty());
    a.close()?;
    b.close()?;
    let c = open(&db)?;
    assert_eq!(c.get("chats", "-1")?, None);
    c.close()?;
    Ok(())
}
