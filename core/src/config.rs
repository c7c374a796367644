//! The namespace table: what a namespace is configured with, the default table,
//! and the one place a table is validated.

use hashbrown::HashSet;

use crate::{validate, CacheError};

/// Namespace of chat entries `{"settings": {...}, "info": {...}}`, keyed by chat id.
pub const CHATS: &str = "chats";
/// Namespace of per-chat user entries `{"data": {...}}`, keyed `"{chat}:{user}"`.
pub const CHAT_USERS: &str = "chatUsers";
/// Namespace of per-user UI state objects, keyed by user id.
pub const USERS: &str = "users";
/// Namespace of the bot's per-chat data kept across restarts (spam warnings),
/// keyed by chat id. Not in the seed's table: the bot's hosts configure it.
pub const CHAT_PERSISTENT: &str = "chatPersistent";
/// Capacity of each namespace of the default table.
pub const DEFAULT_MAX_ENTRIES: u32 = 1000;

/// When a namespace's changes reach storage. Serializes to its kebab-case
/// [`name`](Persistence::name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Never: storage is not called for this namespace.
    MemoryOnly,
    /// On every mutation, before the call returns.
    OnChange,
    /// On `persist_all`, or when a changed entry has to be evicted.
    OnShutdown,
}

impl Persistence {
    /// True for the policies whose data lives in storage too.
    pub fn is_persisted(self) -> bool {
        self != Persistence::MemoryOnly
    }

    /// The kebab-case name used in the WIT, policy files and every host.
    pub fn name(self) -> &'static str {
        match self {
            Persistence::MemoryOnly => "memory-only",
            Persistence::OnChange => "on-change",
            Persistence::OnShutdown => "on-shutdown",
        }
    }

    /// The policy of a kebab-case name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Persistence::MemoryOnly,
            Persistence::OnChange,
            Persistence::OnShutdown,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

/// The configuration of one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// Unique, non-empty name of at most 1024 bytes.
    pub name: String,
    /// Capacity in entries, at least 1.
    pub max_entries: u32,
    /// When changes reach storage.
    pub persistence: Persistence,
}

impl NamespaceConfig {
    /// A namespace table in the JSON encoding of WIT values every host uses
    /// (`conformance/README.md`): an array of objects with `name`,
    /// `max-entries` (a number, or a decimal string) and `persistence` (a case
    /// name). `None` if `json` is not one; what the table says is checked by
    /// `configure`, not here.
    pub fn table_from_json(json: &serde_json::Value) -> Option<Vec<NamespaceConfig>> {
        json.as_array()?
            .iter()
            .map(|c| {
                let max = &c["max-entries"];
                Some(NamespaceConfig {
                    name: c["name"].as_str()?.to_owned(),
                    max_entries: u32::try_from(
                        max.as_u64().or_else(|| max.as_str()?.parse().ok())?,
                    )
                    .ok()?,
                    persistence: Persistence::from_name(c["persistence"].as_str()?)?,
                })
            })
            .collect()
    }
}

/// The seed's table, which a new cache starts with: `chats` on-shutdown,
/// `chatUsers` on-change, `users` memory-only, [`DEFAULT_MAX_ENTRIES`] each.
pub fn default_table() -> Vec<NamespaceConfig> {
    [
        (CHATS, Persistence::OnShutdown),
        (CHAT_USERS, Persistence::OnChange),
        (USERS, Persistence::MemoryOnly),
    ]
    .into_iter()
    .map(|(name, persistence)| NamespaceConfig {
        name: name.to_owned(),
        max_entries: DEFAULT_MAX_ENTRIES,
        persistence,
    })
    .collect()
}

/// Refuses an empty table, empty, oversized or duplicate names, and zero
/// capacities, naming the first problem found.
pub fn validate_table(configs: &[NamespaceConfig]) -> Result<(), CacheError> {
    if configs.is_empty() {
        return Err(CacheError::InvalidConfig(
            "at least one namespace is required".to_owned(),
        ));
    }
    let mut seen = HashSet::new();
    for config in configs {
        if config.name.is_empty() {
            return Err(CacheError::InvalidConfig(
                "a namespace name is empty".to_owned(),
            ));
        }
        if config.name.len() > validate::MAX_KEY_BYTES {
            return Err(CacheError::InvalidConfig(format!(
                "namespace name of {} bytes is over the limit of {}",
                config.name.len(),
                validate::MAX_KEY_BYTES
            )));
        }
        if let Some(why) = validate::nul(&config.name) {
            return Err(CacheError::InvalidConfig(format!("namespace name {why}")));
        }
        if config.max_entries == 0 {
            return Err(CacheError::InvalidConfig(format!(
                "namespace {:?} has max-entries 0; it must be at least 1",
                config.name
            )));
        }
        if !seen.insert(config.name.as_str()) {
            return Err(CacheError::InvalidConfig(format!(
                "namespace {:?} is listed twice",
                config.name
            )));
        }
    }
    Ok(())
}
