//! `CacheService::call_by_name` and `Contract`: every export callable by its WIT
//! name with JSON values, typed from the component; answers and errors as the
//! typed methods give them; a call that does not match the contract runs nothing.

use crate::common;

use cache_host::{CacheService, Error, SettingsMode};
use serde_json::{json, Value};

fn open() -> (tempfile::TempDir, CacheService) {
    let (dir, db) = common::temp_db();
    let cache = common::builder().open_sqlite(&db).unwrap();
    (dir, cache)
}

#[test]
fn the_contract_lists_every_export_with_its_types() {
    let runtime = common::runtime();
    let contract = runtime.contract();
    let names: Vec<&str> = contract.names().collect();
    for name in [
        "cache.get",
        "cache.set-many",
        "cache.stats",
        "bot.set-user-data",
        "bot.clear-user-state",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let described = contract.describe();
    assert_eq!(
        described["functions"]["bot.clear-user-state"]["params"],
        json!([["user-id", "s64"], ["state-key", {"option": "string"}]])
    );
    assert_eq!(
        described["functions"]["bot.forget-user-data"]["result"],
        "bool"
    );
    let text: Value = serde_json::from_str(&contract.describe_text()).unwrap();
    assert_eq!(
        text, described,
        "describe_text is describe, one function per line"
    );
}

#[test]
fn calls_by_name_answer_as_the_typed_methods() {
    let (_dir, cache) = open();
    let call = |name: &str, args: Value| cache.call_by_name(name, args.as_array().unwrap());
    assert_eq!(
        call("bot.set-user-data", json!([-100, "42", "karma", "1"])).unwrap(),
        Value::Null
    );
    assert_eq!(
        call("bot.get-user-data", json!([-100, 42])).unwrap(),
        json!(r#"{"karma":1}"#)
    );
    assert_eq!(cache.get_user_data(-100, 42).unwrap(), r#"{"karma":1}"#);
    cache
        .set_chat_settings(7, r#"{"lang":"en"}"#, SettingsMode::Merge)
        .unwrap();
    call(
        "bot.set-chat-settings",
        json!([7, r#"{"tz":"UTC"}"#, "merge"]),
    )
    .unwrap();
    let settings: Value =
        serde_json::from_str(cache.get_chat_settings(7).unwrap().as_str()).unwrap();
    assert_eq!(settings, json!({"lang": "en", "tz": "UTC"}));
    call(
        "cache.set-many",
        json!(["users", [["1", "{\"a\":1}"], ["2", "[2]"]]]),
    )
    .unwrap();
    assert_eq!(
        call("cache.get-many", json!(["users", ["2", "3", "1"]])).unwrap(),
        json!(["[2]", null, "{\"a\":1}"])
    );
    let served = cache.read_path_stats().served;
    assert_eq!(
        call("cache.get-many", json!(["users", ["1", "2"]])).unwrap(),
        json!(["{\"a\":1}", "[2]"])
    );
    assert_eq!(
        cache.read_path_stats().served,
        served + 2,
        "a get-many of copied keys by name is served from the copies"
    );
    let stats = call("cache.stats", json!([])).unwrap();
    let users = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "users")
        .unwrap();
    assert_eq!(
        (users["size"].clone(), users["persistence"].clone()),
        (json!(2), json!("memory-only"))
    );
    assert_eq!(
        call("cache.persist-all", json!([])).unwrap(),
        json!({"written": 0, "deleted": 0})
    );
    call(
        "cache.configure",
        json!([[{"name": "users", "max-entries": 5, "persistence": "on-change"}]]),
    )
    .unwrap();
    assert_eq!(
        cache.namespaces()[0].max_entries,
        5,
        "configure by name goes through the service"
    );
}

#[test]
fn a_read_served_from_a_copy_sees_a_change_made_by_name() {
    let (_dir, cache) = open();
    cache.set("users", "1", "1").unwrap();
    for _ in 0..3 {
        assert_eq!(cache.get("users", "1").unwrap().as_deref(), Some("1"));
    }
    cache
        .call_by_name("cache.set", &[json!("users"), json!("1"), json!("2")])
        .unwrap();
    assert_eq!(cache.get("users", "1").unwrap().as_deref(), Some("2"));
    assert!(
        cache.read_path_stats().served > 0,
        "the reads above were served from copies"
    );
}

#[test]
fn an_err_answer_is_the_typed_error() {
    let (_dir, cache) = open();
    let err = cache
        .call_by_name("cache.set", &[json!("nosuch"), json!("k"), json!("1")])
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownNamespace(ref n) if n.contains("nosuch")),
        "{err:?}"
    );
    let err = cache
        .call_by_name("cache.set", &[json!("users"), json!("k"), json!("{no")])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidJson(_)), "{err:?}");
}

#[test]
fn a_call_that_does_not_match_the_contract_runs_nothing() {
    let (_dir, cache) = open();
    let bad = [
        ("cache.nosuch", json!([])),
        ("cache.set", json!(["users", "k"])),
        ("cache.set", json!(["users", "k", 1])),
        ("bot.get-user-data", json!([1.5, 2])),
        ("bot.get-user-data", json!(["9223372036854775808", 2])),
        ("bot.set-chat-settings", json!([1, "{}", "replace"])),
        (
            "cache.configure",
            json!([[{"name": "users", "max-entries": 5}]]),
        ),
        (
            "cache.configure",
            json!([[{"name": "users", "max-entries": 5, "persistence": "on-change", "ttl": 1}]]),
        ),
    ];
    for (name, args) in bad {
        let err = cache
            .call_by_name(name, args.as_array().unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::BadCall(_)), "{name} {args}: {err:?}");
    }
    assert_eq!(
        cache.namespaces()[0].max_entries,
        1000,
        "no bad configure ran"
    );
    assert_eq!(cache.restarts(), 0);
}

#[test]
fn an_expiry_set_by_name_holds_for_reads_served_from_copies() {
    let (_dir, cache) = open();
    cache
        .call_by_name("cache.expire-after-write", &[json!("users"), json!(200)])
        .unwrap();
    cache.set("users", "k", "1").unwrap();
    for _ in 0..3 {
        assert_eq!(cache.get("users", "k").unwrap().as_deref(), Some("1"));
    }
    std::thread::sleep(std::time::Duration::from_millis(450));
    assert_eq!(
        cache.get("users", "k").unwrap(),
        None,
        "expired, not served from a copy"
    );
}

#[test]
fn the_services_own_calls_are_not_callable_by_name() {
    let (_dir, cache) = open();
    for (name, args) in [
        ("cache.set-time", json!([0])),
        (
            "cache.sync",
            json!([{"namespaces": [], "entries": [], "keys": "", "handles": []}]),
        ),
    ] {
        let err = cache.call_by_name(name, args.as_array().unwrap());
        assert!(
            matches!(err, Err(Error::BadCall(ref m)) if m.contains("own call")),
            "{name}: {err:?}"
        );
    }
}
