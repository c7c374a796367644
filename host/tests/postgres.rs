//! `CacheServiceBuilder::open` with a `postgres://` URL: the real component over a
//! real PostgreSQL server (from `GROMOZEKA_TEST_PG_URL`, which `scripts/postgres start`
//! prints; required under CI), and everything acknowledged is there after reopening.

use crate::common;

use cache_host::SettingsMode;

use common::pg_url as server_url;

#[test]
fn a_postgres_url_opens_the_service_on_postgresql() -> Result<(), cache_host::Error> {
    let Some(url) = server_url() else {
        return Ok(());
    };
    let schema = format!("t_host_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("admin");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");

    let cache = common::builder().open(&db)?;
    cache.set("chatUsers", "1:2", r#"{"n":1}"#)?;
    cache.set_chat_info(-100, r#"{"title":"t"}"#)?;
    cache.set_chat_settings(-100, r#"{"lang":"en"}"#, SettingsMode::Merge)?;
    cache.set_user_data(-100, 7, "karma", "3")?;
    cache.close()?;

    let stored: i64 = admin
        .query_one(&format!("SELECT count(*) FROM {schema}.cache_storage"), &[])
        .expect("count")
        .get(0);
    assert_eq!(
        stored, 2,
        "the on-change row and the persisted on-shutdown row"
    );

    let cache = common::builder().open(&db)?;
    assert_eq!(
        cache.get("chatUsers", "1:2")?.as_deref(),
        Some(r#"{"n":1}"#)
    );
    assert_eq!(
        cache.get_chat_info(-100)?.as_deref(),
        Some(r#"{"title":"t"}"#)
    );
    assert_eq!(cache.get_chat_settings(-100)?, r#"{"lang":"en"}"#);
    assert_eq!(cache.get_user_data(-100, 7)?, r#"{"karma":3}"#);
    cache.close()?;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop");
    Ok(())
}

/// The server process of every connection named `application_name`.
fn backends(admin: &mut postgres::Client, application_name: &str) -> Vec<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&application_name],
        )
        .expect("pg_stat_activity")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn signal(pids: &[i32], sig: &str) {
    for pid in pids {
        let status = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} {pid}");
    }
}

#[test]
fn a_stalled_server_is_waited_for_not_counted_as_guest_time() -> Result<(), cache_host::Error> {
    let Some(url) = server_url() else {
        return Ok(());
    };
    let name = format!("t_stall_{}", std::process::id());
    let db = common::pg_schema(&url, &name);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("admin");
    let cache = common::builder()
        .call_time_limit(std::time::Duration::from_millis(200))
        .open(&db)?;
    // A pending on-shutdown change, which a trap (a restarted instance) would drop.
    cache.set_chat_info(-100, r#"{"title":"pending"}"#)?;
    assert_eq!(
        cache.pending_changes("chats")?.keys,
        vec!["-100".to_owned()]
    );
    let pids = backends(&mut admin, &name);
    assert!(!pids.is_empty(), "the cache's connections are named {name}");

    // The server's processes stop for 1.5 s (7 times the call's CPU bound) while an
    // on-change write waits on them.
    signal(&pids, "-STOP");
    let resume = {
        let pids = pids.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            signal(&pids, "-CONT");
        })
    };
    let t = std::time::Instant::now();
    let written = cache.set_user_data(-100, 7, "karma", "3");
    let waited = t.elapsed();
    resume.join().expect("resume");
    written?;
    assert!(
        waited >= std::time::Duration::from_millis(1000),
        "{waited:?}"
    );
    assert_eq!(cache.restarts(), 0, "no trap, no restart");
    assert_eq!(
        cache.pending_changes("chats")?.keys,
        vec!["-100".to_owned()],
        "the pending change is still pending"
    );
    cache.close()?;

    let cache = common::builder().open(&db)?;
    assert_eq!(
        cache.get_chat_info(-100)?.as_deref(),
        Some(r#"{"title":"pending"}"#)
    );
    assert_eq!(cache.get_user_data(-100, 7)?, r#"{"karma":3}"#);
    cache.close()?;
    admin
        .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
        .expect("drop");
    Ok(())
}
