//! `component_api`: the component's exported API (`cache` and `bot`), called
//! with arbitrary namespaces, keys, JSON values, ids, settings modes and
//! namespace tables, in wasmtime through `cache_host::CacheService` over a
//! failing `MockStorage`.
//!
//! The host's read path is on or off, as the input's first field says.
//!
//! Invariants, checked after every call:
//! - no trap and no panic: every failure is one of the typed errors;
//! - the component answers exactly as the native `BotCache` does on the same
//!   calls (results, error cases, stats, and the storage calls it made);
//! - a call that fails changes nothing observable: stored rows, settings, user
//!   data and each namespace's pending changes are as before (it may have
//!   cached a row it read through storage).
use crate::{assert_typed, case, reset_big_budget, runtime, Id, JsonText, NsName, Text};
use arbitrary::Arbitrary;
use cache_core::{BotCache, CacheError, FailRule, MockStorage, StorageError, StorageErrorKind};
use cache_host::{CacheService, Error, NamespaceConfig, Persistence, SettingsMode};

/// One call of the API, made on the component and on the native core.
#[derive(Arbitrary, Debug)]
pub enum Call {
    Configure(Vec<(NsName, u8, u8)>),
    Get(NsName, Text),
    GetMany(NsName, Vec<Text>),
    Set(NsName, Text, JsonText),
    SetMany(NsName, Vec<(Text, JsonText)>),
    Delete(NsName, Text),
    Clear(NsName),
    Load,
    Persist,
    Forget(NsName, Text),
    ForgetNamespace(NsName),
    ForgetAll,
    PendingChanges(NsName),
    GetChatSettings(Id),
    SetChatSettings(Id, JsonText, bool),
    UnsetChatSetting(Id, Text),
    ForgetChatSettings(Id),
    GetChatInfo(Id),
    SetChatInfo(Id, JsonText),
    GetUserData(Id, Id),
    SetUserData(Id, Id, Text, JsonText),
    ForgetUserData(Id, Id),
    GetUserState(Id, Text),
    SetUserState(Id, Text, JsonText),
    ClearUserState(Id, Option<Text>),
    /// Index into `StorageErrorKind::ALL`, and how many calls fail (`None`: all).
    FailWrites(Option<(u8, Option<u8>)>),
    FailReads(Option<(u8, Option<u8>)>),
}

/// What a call returned, comparable between the component and the native core.
type Outcome = Result<String, &'static str>;

fn native<T: std::fmt::Debug>(r: Result<T, CacheError>) -> Outcome {
    r.map(|v| format!("{v:?}")).map_err(|e| e.case())
}

fn hosted<T: std::fmt::Debug>(what: &str, r: Result<T, Error>) -> Outcome {
    assert_typed(what, &r);
    r.map(|v| format!("{v:?}")).map_err(|e| case(&e))
}

fn persistence(n: u8) -> (Persistence, cache_core::Persistence) {
    match n % 3 {
        0 => (Persistence::MemoryOnly, cache_core::Persistence::MemoryOnly),
        1 => (Persistence::OnChange, cache_core::Persistence::OnChange),
        _ => (Persistence::OnShutdown, cache_core::Persistence::OnShutdown),
    }
}

fn rule(spec: &Option<(u8, Option<u8>)>) -> Option<FailRule> {
    spec.map(|(kind, times)| FailRule {
        error: StorageError::new(
            StorageErrorKind::ALL[usize::from(kind) % StorageErrorKind::ALL.len()],
            "injected",
        ),
        times: times.map(|n| u64::from(n % 4)),
        functions: None,
    })
}

/// Everything a caller can observe without changing it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: Vec<(String, String, String)>,
    settings: Vec<((i64, String), String)>,
    user_data: Vec<((i64, i64, String), String)>,
    /// (name, pending changes) per namespace.
    pending: Vec<(String, u32)>,
    /// Entries held per namespace. A failed call may change these: a read
    /// through storage caches what storage holds, even if the call then fails.
    sizes: Vec<u32>,
}

impl Snapshot {
    /// Everything a failed call must leave as it was.
    fn data(&self) -> impl PartialEq + std::fmt::Debug + '_ {
        (&self.rows, &self.settings, &self.user_data, &self.pending)
    }
}

fn storage_part(s: &MockStorage) -> Snapshot {
    Snapshot {
        rows: s
            .rows()
            .map(|(n, k, v)| (n.to_owned(), k.to_owned(), v.to_owned()))
            .collect(),
        settings: s.chat_settings.clone().into_iter().collect(),
        user_data: s.user_data.clone().into_iter().collect(),
        pending: Vec::new(),
        sizes: Vec::new(),
    }
}

fn snapshot_native(bot: &BotCache<MockStorage>) -> Snapshot {
    let mut snap = storage_part(bot.cache_ref().storage());
    for s in bot.cache_ref().stats() {
        snap.pending.push((s.name, s.dirty));
        snap.sizes.push(s.size);
    }
    snap
}

fn snapshot_hosted(service: &CacheService<MockStorage>) -> Snapshot {
    let mut snap = service
        .with_storage(|s| storage_part(s))
        .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
    let stats = service.stats();
    assert_typed("stats", &stats);
    for s in stats.unwrap_or_default() {
        snap.pending.push((s.name, s.dirty));
        snap.sizes.push(s.size);
    }
    snap
}

fn apply(
    call: &Call,
    bot: &mut BotCache<MockStorage>,
    svc: &CacheService<MockStorage>,
) -> (Outcome, Outcome) {
    let what = format!("{call:?}");
    let mode = |rewrite: bool| {
        if rewrite {
            (SettingsMode::Rewrite, cache_core::SettingsMode::Rewrite)
        } else {
            (SettingsMode::Merge, cache_core::SettingsMode::Merge)
        }
    };
    match call {
        Call::Configure(table) => {
            let (hosted_table, native_table): (Vec<_>, Vec<_>) = table
                .iter()
                .map(|(name, cap, p)| {
                    let (hp, np) = persistence(*p);
                    let cap = u32::from(*cap % 6);
                    let name = name.text();
                    let h = NamespaceConfig {
                        name: name.clone(),
                        max_entries: cap,
                        persistence: hp,
                    };
                    let n = cache_core::NamespaceConfig {
                        name,
                        max_entries: cap,
                        persistence: np,
                    };
                    (h, n)
                })
                .unzip();
            (
                native(bot.cache().configure(native_table)),
                hosted(&what, svc.configure(&hosted_table)),
            )
        }
        Call::Get(ns, key) => {
            let (ns, key) = (ns.text(), key.text());
            (
                native(bot.cache().get(&ns, &key)),
                hosted(&what, svc.get(&ns, &key)),
            )
        }
        Call::GetMany(ns, keys) => {
            let ns = ns.text();
            let keys: Vec<String> = keys.iter().map(Text::text).collect();
            (
                native(bot.cache().get_many(&ns, &keys)),
                hosted(&what, svc.get_many(&ns, &keys)),
            )
        }
        Call::Set(ns, key, value) => {
            let (ns, key, value) = (ns.text(), key.text(), value.text());
            let n = native(bot.cache().set(&ns, key.clone(), value.clone()));
            (n, hosted(&what, svc.set(&ns, &key, &value)))
        }
        Call::SetMany(ns, entries) => {
            let ns = ns.text();
            let entries: Vec<(String, String)> =
                entries.iter().map(|(k, v)| (k.text(), v.text())).collect();
            let n = native(bot.cache().set_many(&ns, entries.clone()));
            (n, hosted(&what, svc.set_many(&ns, &entries)))
        }
        Call::Delete(ns, key) => {
            let (ns, key) = (ns.text(), key.text());
            (
                native(bot.cache().delete(&ns, &key)),
                hosted(&what, svc.delete(&ns, &key)),
            )
        }
        Call::Clear(ns) => {
            let ns = ns.text();
            (
                native(bot.cache().clear_namespace(&ns)),
                hosted(&what, svc.clear_namespace(&ns)),
            )
        }
        Call::Load => {
            // The host adds namespaces the table does not cover to `skipped`; compare the count loaded.
            let n = native(bot.cache().load_from_storage().map(|r| r.loaded));
            (n, hosted(&what, svc.load_from_storage().map(|r| r.loaded)))
        }
        Call::Persist => {
            let n = native(bot.cache().persist_all().map(|r| (r.written, r.deleted)));
            (
                n,
                hosted(&what, svc.persist_all().map(|r| (r.written, r.deleted))),
            )
        }
        Call::Forget(ns, key) => {
            let (ns, key) = (ns.text(), key.text());
            (
                Ok(format!("{:?}", bot.cache().forget(&ns, &key))),
                hosted(&what, svc.forget(&ns, &key)),
            )
        }
        Call::ForgetNamespace(ns) => {
            let ns = ns.text();
            let n = Ok(format!("{:?}", bot.cache().forget_namespace(&ns)));
            (n, hosted(&what, svc.forget_namespace(&ns)))
        }
        Call::ForgetAll => (
            Ok(format!("{:?}", bot.cache().forget_all())),
            hosted(&what, svc.forget_all()),
        ),
        Call::PendingChanges(ns) => {
            let ns = ns.text();
            let n = native(
                bot.cache()
                    .pending_changes(&ns)
                    .map(|p| (p.keys, p.cleared)),
            );
            let h = svc.pending_changes(&ns).map(|p| (p.keys, p.cleared));
            (n, hosted(&what, h))
        }
        Call::GetChatSettings(chat) => (
            native(bot.get_chat_settings(chat.get())),
            hosted(&what, svc.get_chat_settings(chat.get())),
        ),
        Call::SetChatSettings(chat, settings, rewrite) => {
            let (text, (hm, nm)) = (settings.text(), mode(*rewrite));
            let n = native(bot.set_chat_settings(chat.get(), &text, nm));
            (
                n,
                hosted(&what, svc.set_chat_settings(chat.get(), &text, hm)),
            )
        }
        Call::UnsetChatSetting(chat, key) => {
            let key = key.text();
            let n = native(bot.unset_chat_setting(chat.get(), &key));
            (n, hosted(&what, svc.unset_chat_setting(chat.get(), &key)))
        }
        Call::ForgetChatSettings(chat) => {
            let n = Ok(format!("{:?}", bot.forget_chat_settings(chat.get())));
            (n, hosted(&what, svc.forget_chat_settings(chat.get())))
        }
        Call::GetChatInfo(chat) => (
            native(bot.get_chat_info(chat.get())),
            hosted(&what, svc.get_chat_info(chat.get())),
        ),
        Call::SetChatInfo(chat, info) => {
            let info = info.text();
            (
                native(bot.set_chat_info(chat.get(), &info)),
                hosted(&what, svc.set_chat_info(chat.get(), &info)),
            )
        }
        Call::GetUserData(chat, user) => {
            let n = native(bot.get_user_data(chat.get(), user.get()));
            (n, hosted(&what, svc.get_user_data(chat.get(), user.get())))
        }
        Call::SetUserData(chat, user, key, value) => {
            let (key, value) = (key.text(), value.text());
            let n = native(bot.set_user_data(chat.get(), user.get(), &key, &value));
            (
                n,
                hosted(
                    &what,
                    svc.set_user_data(chat.get(), user.get(), &key, &value),
                ),
            )
        }
        Call::ForgetUserData(chat, user) => {
            let n = Ok(format!(
                "{:?}",
                bot.forget_user_data(chat.get(), user.get())
            ));
            (
                n,
                hosted(&what, svc.forget_user_data(chat.get(), user.get())),
            )
        }
        Call::GetUserState(user, key) => {
            let key = key.text();
            (
                native(bot.get_user_state(user.get(), &key)),
                hosted(&what, svc.get_user_state(user.get(), &key)),
            )
        }
        Call::SetUserState(user, key, value) => {
            let (key, value) = (key.text(), value.text());
            let n = native(bot.set_user_state(user.get(), &key, &value));
            (
                n,
                hosted(&what, svc.set_user_state(user.get(), &key, &value)),
            )
        }
        Call::ClearUserState(user, key) => {
            let key = key.as_ref().map(Text::text);
            let n = native(bot.clear_user_state(user.get(), key.as_deref()));
            (
                n,
                hosted(&what, svc.clear_user_state(user.get(), key.as_deref())),
            )
        }
        Call::FailWrites(spec) | Call::FailReads(spec) => {
            let writes = matches!(call, Call::FailWrites(_));
            let set = |s: &mut MockStorage| {
                if writes {
                    s.fail_writes = rule(spec);
                } else {
                    s.fail_reads = rule(spec);
                }
            };
            set(bot.cache().storage_mut());
            svc.with_storage(set)
                .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
            (Ok(String::new()), Ok(String::new()))
        }
    }
}

/// One input: the read path on or off, then the calls.
pub type Input = (bool, Vec<Call>);

/// Runs one input; panics where an invariant breaks.
pub fn run(input: Input) {
    let (read_path, calls) = input;
    reset_big_budget();
    let service = CacheService::builder("unused")
        .runtime(runtime().clone())
        .read_path(read_path)
        .build(MockStorage::new())
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let mut bot = BotCache::new(MockStorage::new());
    if let Err(e) = bot.cache().load_from_storage() {
        panic!("native start: {e:?}");
    }
    for call in &calls {
        let (before_native, before_hosted) = (snapshot_native(&bot), snapshot_hosted(&service));
        let (n, h) = apply(call, &mut bot, &service);
        assert_eq!(
            n, h,
            "the component and the native core disagree on {call:?}"
        );
        let (after_native, after_hosted) = (snapshot_native(&bot), snapshot_hosted(&service));
        assert_eq!(after_native, after_hosted, "state differs after {call:?}");
        if h.is_err() {
            assert_eq!(
                before_hosted.data(),
                after_hosted.data(),
                "the failed call {call:?} changed the component's state"
            );
            assert_eq!(
                before_native.data(),
                after_native.data(),
                "the failed call {call:?} changed the native state"
            );
        }
        let calls_hosted = service
            .with_storage(|s| s.calls.clone())
            .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
        assert_eq!(
            bot.cache_ref().storage().calls,
            calls_hosted,
            "storage calls differ after {call:?}"
        );
    }
    assert_eq!(
        service.read_path_stats().stale,
        0,
        "the read path served a stale copy"
    );
    // Closing persists; with storage still failing it may fail, but only typed.
    let closed = service.close();
    assert_typed("close", &closed);
}
