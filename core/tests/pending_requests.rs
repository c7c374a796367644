//! What lets a host answer storage requests *between* calls (an async database):
//! a `pending` request is never tolerated, a failed call counts no hit or miss,
//! and a failed load loads nothing. Calling again once the request is answered
//! then does what one call over a storage that answers at once would have done.

use cache_core::{
    Batch, BotCache, BotStorage, Cache, CacheError, FailRule, MemoryStorage, MockStorage,
    NamespaceConfig, Persistence, SettingsChange, Storage, StorageError, StorageErrorKind,
    StoredRow, CHATS,
};

fn ns(name: &str, max_entries: u32, persistence: Persistence) -> NamespaceConfig {
    NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence,
    }
}

fn rule(kind: StorageErrorKind) -> Option<FailRule> {
    Some(FailRule::always(StorageError::new(kind, "not now")))
}

/// (size, dirty, hits, misses) of namespace `name`.
fn counts<S: Storage>(cache: &Cache<S>, name: &str) -> (u32, u32, u64, u64) {
    let s = cache
        .stats()
        .into_iter()
        .find(|s| s.name == name)
        .expect("namespace");
    (s.size, s.dirty, s.hits, s.misses)
}

#[test]
fn a_pending_eviction_write_fails_a_read_through_and_changes_nothing() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "b", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 1, Persistence::OnShutdown)])
        .expect("configure");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    let before = counts(&cache, "c");

    cache.storage_mut().fail_writes = rule(StorageErrorKind::Pending);
    let err = cache
        .get("c", "b")
        .expect_err("caching b must evict dirty a");
    assert!(err.is_pending(), "{err:?}");
    assert_eq!(counts(&cache, "c"), before, "no entry and no count changed");

    cache.storage_mut().fail_writes = None;
    assert_eq!(cache.get("c", "b"), Ok(Some("2".to_owned())));
    assert_eq!(
        cache.storage().row("c", "a"),
        Some("1"),
        "a was written as it left"
    );
    assert_eq!(counts(&cache, "c"), (1, 0, before.2, before.3 + 1));
}

#[test]
fn any_other_failure_of_that_write_is_tolerated() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "b", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 1, Persistence::OnShutdown)])
        .expect("configure");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    cache.storage_mut().fail_writes = rule(StorageErrorKind::Unavailable);
    assert_eq!(
        cache.get("c", "b"),
        Ok(Some("2".to_owned())),
        "answered, not cached"
    );
    let (size, dirty, _, misses) = counts(&cache, "c");
    assert_eq!((size, dirty, misses), (1, 1, 1));
}

#[test]
fn a_failed_call_counts_no_hit_or_miss() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "b", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .expect("configure");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    cache.storage_mut().fail_reads = rule(StorageErrorKind::Pending);
    cache
        .get_many("c", &["a", "b"])
        .expect_err("b must be read from storage");
    cache
        .get("c", "b")
        .expect_err("b must be read from storage");
    assert_eq!(
        counts(&cache, "c"),
        (1, 0, 0, 0),
        "neither the hit on a nor the misses count"
    );

    cache.storage_mut().fail_reads = None;
    assert_eq!(
        cache.get_many("c", &["a", "b"]),
        Ok(vec![Some("1".to_owned()), Some("2".to_owned())])
    );
    assert_eq!(counts(&cache, "c"), (2, 0, 1, 1));
}

/// A bot with a cached chat entry that holds no settings, and settings in storage.
fn bot_with_stored_settings() -> BotCache<MockStorage> {
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache()
        .set(CHATS, "1".into(), r#"{"info":{"title":"t"}}"#.into())
        .expect("set chat");
    bot.cache()
        .storage_mut()
        .chat_settings
        .insert((1, "lang".into()), "en".into());
    bot
}

#[test]
fn a_bot_read_that_waits_for_storage_counts_as_one_call() {
    let mut waited = bot_with_stored_settings();
    waited.cache().storage_mut().fail_reads = rule(StorageErrorKind::Pending);
    let err = waited
        .get_chat_settings(1)
        .expect_err("settings are read from storage");
    assert!(err.is_pending(), "{err:?}");
    assert_eq!(
        counts(waited.cache_ref(), CHATS).2,
        0,
        "the hit on the chat's entry is undone"
    );
    waited.cache().storage_mut().fail_reads = None;
    assert_eq!(
        waited.get_chat_settings(1),
        Ok(r#"{"lang":"en"}"#.to_owned())
    );

    let mut direct = bot_with_stored_settings();
    assert_eq!(
        direct.get_chat_settings(1),
        Ok(r#"{"lang":"en"}"#.to_owned())
    );
    assert_eq!(waited.cache_ref().stats(), direct.cache_ref().stats());
}

/// Fails `load` of one namespace, answers everything else from memory.
struct FailingLoad {
    inner: MemoryStorage,
    failing: &'static str,
}

impl Storage for FailingLoad {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        if namespace == self.failing {
            return Err(StorageError::new(StorageErrorKind::Pending, "later"));
        }
        self.inner.load(namespace, limit)
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        self.inner.get(namespace, key)
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        self.inner.write(batch)
    }
}

#[test]
fn a_failed_load_loads_nothing() {
    let mut inner = MemoryStorage::new();
    inner.put_row("first", "k", "1");
    inner.put_row("second", "k", "2");
    let mut cache = Cache::new(FailingLoad {
        inner,
        failing: "second",
    });
    cache
        .configure(vec![
            ns("first", 10, Persistence::OnShutdown),
            ns("second", 10, Persistence::OnShutdown),
        ])
        .expect("configure");
    let err = cache
        .load_from_storage()
        .expect_err("second cannot be read");
    assert!(err.is_pending(), "{err:?}");
    assert_eq!(
        counts(&cache, "first").0,
        0,
        "first was read but not loaded"
    );

    cache.storage_mut().failing = "none";
    assert_eq!(cache.load_from_storage().map(|r| r.loaded), Ok(2));
}

#[test]
fn the_counts_journal_is_empty_between_calls() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "b", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .expect("configure");
    cache.get("c", "b").expect("get");
    cache.get_many("c", &["b", "x"]).expect("get_many");
    let mark = cache.begin_call();
    cache.end_call(mark, true);
    assert_eq!(mark, 0, "no count of a finished call is kept");
}

#[test]
fn a_failed_bot_call_undoes_its_misses_too() {
    let mut waited = BotCache::new(MockStorage::new());
    // The entry's read-through answers (a counted miss); the user data read waits.
    waited.cache().storage_mut().fail_reads = Some(FailRule {
        error: StorageError::new(StorageErrorKind::Pending, "not now"),
        times: None,
        functions: Some(vec!["get-user-data".into()]),
    });
    let err = waited
        .get_user_data(1, 2)
        .expect_err("data is read from storage");
    assert!(err.is_pending(), "{err:?}");
    assert!(
        waited
            .cache_ref()
            .stats()
            .iter()
            .all(|s| s.misses == 0 && s.hits == 0),
        "{:?}",
        waited.cache_ref().stats()
    );
}

#[test]
fn a_pending_eviction_fails_a_bot_read_that_caches_a_copy() {
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache()
        .configure(vec![ns(CHATS, 1, Persistence::OnShutdown)])
        .expect("configure");
    bot.cache()
        .set(CHATS, "2".into(), r#"{"info":{"title":"t"}}"#.into())
        .expect("a dirty chat");
    bot.cache()
        .storage_mut()
        .chat_settings
        .insert((1, "lang".into()), "en".into());
    bot.cache().storage_mut().fail_writes = rule(StorageErrorKind::Pending);
    let err = bot
        .get_chat_settings(1)
        .expect_err("caching chat 1 evicts the dirty chat 2");
    assert!(err.is_pending(), "{err:?}");
    assert_eq!(bot.cache_ref().storage().row(CHATS, "2"), None);

    bot.cache().storage_mut().fail_writes = None;
    assert_eq!(bot.get_chat_settings(1), Ok(r#"{"lang":"en"}"#.to_owned()));
    assert!(
        bot.cache_ref().storage().row(CHATS, "2").is_some(),
        "written as it left"
    );
}

/// Answers from memory, except that the `n`-th row `get` fails with `kind`.
struct FailingNthGet {
    inner: MemoryStorage,
    gets: u32,
    n: u32,
    kind: StorageErrorKind,
}

impl Storage for FailingNthGet {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        self.inner.load(namespace, limit)
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        self.gets += 1;
        if self.gets == self.n {
            return Err(StorageError::new(self.kind, "the n-th get"));
        }
        self.inner.get(namespace, key)
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        self.inner.write(batch)
    }
}

impl BotStorage for FailingNthGet {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        self.inner.get_chat_settings(chat_id)
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        self.inner.write_chat_settings(chat_id, change)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.inner.get_user_data(chat_id, user_id)
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        self.inner.set_user_data(chat_id, user_id, key, value)
    }
}

/// A bot read of stored settings for a chat not held: the second `get` is the
/// read of the entry the copy is cached in.
fn settings_read_whose_caching_read_fails(kind: StorageErrorKind) -> Result<String, CacheError> {
    let mut inner = MemoryStorage::new();
    inner.chat_settings.insert((1, "lang".into()), "en".into());
    let mut bot = BotCache::new(FailingNthGet {
        inner,
        gets: 0,
        n: 2,
        kind,
    });
    bot.get_chat_settings(1)
}

#[test]
fn only_a_pending_read_fails_the_caching_of_a_copy() {
    assert_eq!(
        settings_read_whose_caching_read_fails(StorageErrorKind::Unavailable),
        Ok(r#"{"lang":"en"}"#.to_owned()),
        "best effort: answered, not cached"
    );
    let err = settings_read_whose_caching_read_fails(StorageErrorKind::Pending)
        .expect_err("a pending read is never tolerated");
    assert!(err.is_pending(), "{err:?}");
}
