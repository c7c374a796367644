//! `CacheServiceBuilder::open` with a `postgres://` URL: the real component over a
//! real PostgreSQL server (from `GROMOZEKA_TEST_PG_URL`, which `scripts/postgres start`
//! prints; required under CI), and everything acknowledged is there after reopening.

mod common;

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
