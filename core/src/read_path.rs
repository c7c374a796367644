//! What a host needs to answer reads from its own copies of earlier answers
//! and keep the cache exact (`sync` in `wit/cache.wit`):
//! - [`Read::entry`]: the one entry each copyable read's answer comes from;
//! - [`Cache::replay`]: the hits the host answered, applied in order as the
//!   cache's own hits (recency and hit counts), before anything that depends on them;
//! - the change journal ([`Cache::take_changes`]): which entries changed or left
//!   memory since the host last asked, so it drops the copies made from them.
//!
//! The journal is bounded: past [`MAX_KEYS`] keys a namespace's journal
//! collapses into "the whole namespace changed", which costs the host its
//! copies of that namespace but no memory here. A host that never asks pays
//! for at most that many keys per namespace.

use crate::config::{CHATS, CHAT_USERS, USERS};
use crate::lru_map::Handle;
use crate::{Cache, Storage};

/// Keys journaled per namespace before it collapses into "all of it".
pub const MAX_KEYS: usize = 256;

/// A change a host copy may depend on, as reported by [`Cache::take_changes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The entry of `key` in `namespace` was written, removed or had a field
    /// dropped.
    Entry {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// Any entry of the namespace may have changed.
    Namespace(String),
    /// Any entry of any namespace may have changed (the table was replaced).
    Everything,
}

/// One namespace's changes since the last [`Cache::take_changes`].
#[derive(Default)]
pub(crate) struct Journal {
    keys: Vec<Box<str>>,
    whole: bool,
}

impl Journal {
    /// The entry of `key` changed.
    pub(crate) fn note(&mut self, key: &str) {
        if self.whole {
            return;
        }
        if self.keys.len() >= MAX_KEYS {
            self.note_all();
        } else {
            self.keys.push(key.into());
        }
    }

    /// Any entry may have changed.
    pub(crate) fn note_all(&mut self) {
        self.whole = true;
        self.keys = Vec::new();
    }

    fn take(&mut self, namespace: &str, out: &mut Vec<Change>) {
        if std::mem::take(&mut self.whole) {
            out.push(Change::Namespace(namespace.to_owned()));
        }
        out.extend(self.keys.drain(..).map(|key| Change::Entry {
            namespace: namespace.to_owned(),
            key: key.into(),
        }));
    }
}

impl<S: Storage> Cache<S> {
    /// Every change since the last call, and clears the journal. A key may be
    /// named more than once; [`Change::Everything`] comes first if present.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        if self.take_replaced() {
            out.push(Change::Everything);
        }
        for ns in self.namespaces_mut() {
            let (name, changes) = (&ns.config.name, &mut ns.changes);
            changes.take(name, &mut out);
        }
        out
    }
}

/// A read whose answer a host may keep and serve again itself: a generic `get`
/// or one of the bot's lookups, each answered from exactly one entry. `S` is
/// the string type: `Read<&str>` looks up what `Read<Box<str>>` keys (they
/// hash alike, and are [`Equivalent`](hashbrown::Equivalent)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Read<S = String> {
    /// `get(namespace, key)`.
    Get {
        /// The namespace.
        namespace: S,
        /// The key.
        key: S,
    },
    /// `get-chat-settings(chat-id)`.
    ChatSettings(i64),
    /// `get-chat-info(chat-id)`.
    ChatInfo(i64),
    /// `get-user-data(chat-id, user-id)`.
    UserData {
        /// The chat.
        chat_id: i64,
        /// The user.
        user_id: i64,
    },
    /// `get-user-state(user-id, state-key)`.
    UserState {
        /// The user.
        user_id: i64,
        /// The item of the user's state.
        state_key: S,
    },
}

impl<'a> Read<&'a str> {
    /// The read a call of the contract's function `name` makes with `args` (JSON
    /// as the hosts encode WIT values: an `s64` a number or a decimal string), if
    /// it is one a host may answer from a copy; `None` for any other call.
    pub fn of_call(name: &str, args: &'a [serde_json::Value]) -> Option<Self> {
        let text = |i: usize| args.get(i)?.as_str();
        let id = |i: usize| match args.get(i)? {
            serde_json::Value::String(s) => s.parse().ok(),
            n => n.as_i64(),
        };
        Some(match name {
            "cache.get" => Read::Get {
                namespace: text(0)?,
                key: text(1)?,
            },
            "bot.get-chat-settings" => Read::ChatSettings(id(0)?),
            "bot.get-chat-info" => Read::ChatInfo(id(0)?),
            "bot.get-user-data" => Read::UserData {
                chat_id: id(0)?,
                user_id: id(1)?,
            },
            "bot.get-user-state" => Read::UserState {
                user_id: id(0)?,
                state_key: text(1)?,
            },
            _ => return None,
        })
    }
}

impl<S: AsRef<str>> Read<S> {
    /// The namespace of the entry this read's answer comes from.
    pub fn namespace(&self) -> &str {
        match self {
            Read::Get { namespace, .. } => namespace.as_ref(),
            Read::ChatSettings(_) | Read::ChatInfo(_) => CHATS,
            Read::UserData { .. } => CHAT_USERS,
            Read::UserState { .. } => USERS,
        }
    }

    /// The namespace and key of the entry this read's answer comes from. A hit
    /// of the read is a hit of that entry and nothing else, so a host replays
    /// it as that entry ([`Cache::replay`]); a copy of the answer stays right
    /// until a [`Change`] names the entry or its namespace.
    pub fn entry(&self) -> (&str, String) {
        let key = match self {
            Read::Get { key, .. } => key.as_ref().to_owned(),
            Read::ChatSettings(chat_id) | Read::ChatInfo(chat_id) => chat_id.to_string(),
            Read::UserData { chat_id, user_id } => crate::bot::chat_user_key(*chat_id, *user_id),
            Read::UserState { user_id, .. } => user_id.to_string(),
        };
        (self.namespace(), key)
    }
}

impl<'a> Read<&'a str> {
    /// The same read, owning its strings.
    pub fn into_owned(self) -> Read<Box<str>> {
        self.map_strings(Box::from)
    }

    /// The same read with each string made by `owned` (a host's own string
    /// type for the reads it keeps; see [`matches`](Self::matches)).
    pub fn map_strings<O>(self, mut owned: impl FnMut(&'a str) -> O) -> Read<O> {
        match self {
            Read::Get { namespace, key } => Read::Get {
                namespace: owned(namespace),
                key: owned(key),
            },
            Read::ChatSettings(c) => Read::ChatSettings(c),
            Read::ChatInfo(c) => Read::ChatInfo(c),
            Read::UserData { chat_id, user_id } => Read::UserData { chat_id, user_id },
            Read::UserState { user_id, state_key } => Read::UserState {
                user_id,
                state_key: owned(state_key),
            },
        }
    }

    /// Whether `owned` is this read (as [`map_strings`](Self::map_strings)
    /// made it): the equality a host's map of reads looks them up by, since a
    /// `Read<&str>` and the same read owning its strings hash alike.
    pub fn matches<S: AsRef<str>>(self, owned: &Read<S>) -> bool {
        match (self, owned) {
            (
                Read::Get { namespace, key },
                Read::Get {
                    namespace: n,
                    key: k,
                },
            ) => namespace == n.as_ref() && key == k.as_ref(),
            (Read::ChatSettings(c), Read::ChatSettings(oc))
            | (Read::ChatInfo(c), Read::ChatInfo(oc)) => c == *oc,
            (
                Read::UserData { chat_id, user_id },
                Read::UserData {
                    chat_id: c,
                    user_id: u,
                },
            ) => chat_id == *c && user_id == *u,
            (
                Read::UserState { user_id, state_key },
                Read::UserState {
                    user_id: u,
                    state_key: k,
                },
            ) => user_id == *u && state_key == k.as_ref(),
            _ => false,
        }
    }
}

impl hashbrown::Equivalent<Read<Box<str>>> for Read<&str> {
    fn equivalent(&self, owned: &Read<Box<str>>) -> bool {
        self.matches(owned)
    }
}

/// How a replayed hit names its entry: by key, or by the [`Handle`] an
/// earlier [`Cache::replay`] gave for it, which skips the key's lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named<K> {
    /// By its key.
    Key(K),
    /// By its handle.
    Handle(Handle),
}

/// One entry of a replay: its namespace (an index into the replay's
/// namespaces), the entry, and how many hits it had.
pub type HitOf<K> = (u32, Named<K>, u32);

/// What [`Cache::replay`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Entries that named no held entry (or a namespace outside the batch's
    /// or unknown): 0 unless the host kept a copy it should have dropped,
    /// which it reports as its own defect.
    pub stale: u32,
    /// Per entry, in order, its handle now: how the host may name it in later
    /// replays, until a change names it. `None` for a stale entry.
    pub handles: Vec<Option<Handle>>,
}

impl<S: Storage> Cache<S> {
    /// Applies hits a host answered from its copies: per entry `(namespace,
    /// entry, hits)`, the namespace as an index into `namespaces`, in the order
    /// of each entry's last hit. Each makes the entry the most recent of its
    /// namespace and counts its hits, leaving recency and counts exactly as
    /// the reads would have inside the cache (an LRU order depends only on
    /// the order of last uses; an expired entry is dropped and not counted).
    /// Each of `namespaces` is looked up once, not once per entry.
    pub fn replay<N: AsRef<str>, K: AsRef<str>>(
        &mut self,
        namespaces: &[N],
        hits: &[HitOf<K>],
    ) -> Replayed {
        let found: Vec<Option<usize>> = namespaces
            .iter()
            .map(|name| self.position(name.as_ref()))
            .collect();
        let mut out = Replayed {
            stale: 0,
            handles: Vec::with_capacity(hits.len()),
        };
        let now = self.time();
        for (namespace, entry, count) in hits {
            let at = usize::try_from(*namespace).ok();
            let ns = at
                .and_then(|at| found.get(at).copied().flatten())
                .and_then(|index| self.namespace_at(index));
            let handle = ns.and_then(|ns| {
                let handle = match entry {
                    Named::Key(key) => {
                        let key = key.as_ref();
                        ns.expire(key, now);
                        ns.entries.touch(key).map(|(handle, _)| handle)
                    }
                    Named::Handle(handle) => {
                        ns.expire_at(*handle, now);
                        ns.entries.touch_at(*handle).map(|_| *handle)
                    }
                };
                if handle.is_some() {
                    ns.hits += u64::from(*count);
                }
                handle
            });
            out.stale += u32::from(handle.is_none());
            out.handles.push(handle);
        }
        out
    }
}
