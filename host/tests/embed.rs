//! The embedding example of the crate docs (and the README), run for real.

use crate::common;

use cache_host::CacheService;
use cache_host::SettingsMode;

#[test]
fn readme_embedding_example_works() -> Result<(), cache_host::Error> {
    let (dir, db) = common::temp_db();
    let policy = dir.path().join("cache-policy.toml");
    std::fs::write(
        &policy,
        "[[namespace]]\nname = \"chats\"\nmax_entries = 1000\npersistence = \"on-shutdown\"\n\
         [[namespace]]\nname = \"chatUsers\"\nmax_entries = 1000\npersistence = \"on-change\"\n\
         [[namespace]]\nname = \"users\"\nmax_entries = 1000\npersistence = \"memory-only\"\n",
    )
    .unwrap();

    let cache = CacheService::builder(common::wasm_path())
        .policy_file(&policy)? // optional; default: the seed's table
        .open_sqlite(&db)?;
    cache.set_chat_settings(-100123, r#"{"lang":"en"}"#, SettingsMode::Merge)?; // written through to SQLite
    let settings: String = cache.get_chat_settings(-100123)?; // JSON text
    cache.set_user_state(42, "step", r#""menu""#)?; // memory-only
    let worker = cache.clone(); // Send + Sync: clones share the one instance
    std::thread::spawn(move || worker.set_user_data(-100123, 42, "karma", "1"))
        .join()
        .expect("worker thread")?;
    cache.close()?; // persist-all (also done when the last clone is dropped)

    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&settings).unwrap()["lang"],
        "en"
    );
    let cache = CacheService::open(common::wasm_path(), &db)?;
    let data: serde_json::Value = serde_json::from_str(&cache.get_user_data(-100123, 42)?).unwrap();
    assert_eq!(data["karma"], 1);
    assert_eq!(cache.get_user_state(42, "step")?, None);
    Ok(())
}
