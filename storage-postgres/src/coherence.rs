//! What one process knows about the rows it caches, shared between its
//! storage and its listener, and the notifications processes send each other.
//!
//! Every write sends, in its own transaction, one notification per changed
//! thing ([`RemoteChange`]). A process remembers the version (`updated_at` in
//! microseconds) of every row it read, loaded or wrote; a notification from
//! another process drops that memory along with the cached entry. A batch that
//! would overwrite or delete a row that changed after the version this process
//! remembers fails with `conflict` and names the rows ([`Coherence::take_conflicts`]):
//! a stale copy is never written back.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use cache_core::RemoteChange;

/// The default notification channel.
pub const DEFAULT_CHANNEL: &str = "gromozeka_cache";

/// The channel of the cache whose tables are in `schema`: `base` scoped to that
/// schema, so that caches in different schemas of one database never hear (and
/// drop their copies and pending changes for) each other's changes. At most 63
/// bytes, PostgreSQL's limit for a channel name: a longer one keeps a hash of the
/// schema in place of its name.
pub fn scoped_channel(base: &str, schema: &str) -> String {
    const LIMIT: usize = 63;
    let full = format!("{base}:{schema}");
    if full.len() <= LIMIT {
        return full;
    }
    // FNV-1a: stable across builds and processes, which std's hashers do not promise.
    let hash = schema.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let suffix = format!(":{hash:016x}");
    let mut end = LIMIT - suffix.len();
    while !base.is_char_boundary(end.min(base.len())) {
        end -= 1;
    }
    format!("{}{suffix}", &base[..end.min(base.len())])
}

/// The schema the connection's tables are in (the first existing schema of its
/// `search_path`), which scopes its channel.
pub(crate) fn current_schema(client: &mut postgres::Client) -> Result<String, postgres::Error> {
    client
        .query_one("SELECT coalesce(current_schema(), '')", &[])?
        .try_get(0)
}

/// The largest payload PostgreSQL accepts is 8000 bytes; longer keys are sent
/// as a change of their whole namespace.
const MAX_PAYLOAD: usize = 7900;

/// The notification payload of `change`: a JSON array, `["r", ns, key, version]`
/// (or `["r", ns, key]` without a version), `["n", ns]`, `["s", chat]` or
/// `["u", chat, user]`.
pub fn payload(change: &RemoteChange) -> String {
    let value = match change {
        RemoteChange::Row {
            namespace,
            key,
            version: Some(v),
        } => serde_json::json!(["r", namespace, key, v]),
        RemoteChange::Row {
            namespace,
            key,
            version: None,
        } => serde_json::json!(["r", namespace, key]),
        RemoteChange::Namespace(namespace) => serde_json::json!(["n", namespace]),
        RemoteChange::ChatSettings(chat) => serde_json::json!(["s", chat]),
        RemoteChange::UserData { chat_id, user_id } => serde_json::json!(["u", chat_id, user_id]),
    };
    let text = value.to_string();
    match change {
        RemoteChange::Row { namespace, .. } if text.len() > MAX_PAYLOAD => {
            payload(&RemoteChange::Namespace(namespace.clone()))
        }
        _ => text,
    }
}

/// Reads a payload written by [`payload`]; `None` if it is not one.
pub fn parse(payload: &str) -> Option<RemoteChange> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let items = value.as_array()?;
    let text = |i: usize| items.get(i).and_then(|v| v.as_str()).map(str::to_owned);
    let int = |i: usize| items.get(i).and_then(|v| v.as_i64());
    match (items.first()?.as_str()?, items.len()) {
        ("r", 3) => Some(RemoteChange::Row {
            namespace: text(1)?,
            key: text(2)?,
            version: None,
        }),
        ("r", 4) => Some(RemoteChange::Row {
            namespace: text(1)?,
            key: text(2)?,
            version: Some(int(3)?),
        }),
        ("n", 2) => Some(RemoteChange::Namespace(text(1)?)),
        ("s", 2) => Some(RemoteChange::ChatSettings(int(1)?)),
        ("u", 3) => Some(RemoteChange::UserData {
            chat_id: int(1)?,
            user_id: int(2)?,
        }),
        _ => None,
    }
}

/// How many row versions one generation of [`Seen`] holds: a process remembers
/// at most twice this many (about 30 MB at 64-byte keys).
pub const REMEMBERED_ROWS: usize = 1 << 17;

/// The versions this process saw, bounded: two generations, the older dropped
/// whole when the current one fills. Forgetting a version is always safe: a
/// write of that row is then checked against the baseline, which is older
/// than any version seen since listening, so it can only be refused more often
/// (and a refused write re-reads the row), never accept a stale copy.
#[derive(Default)]
struct Seen {
    current: HashMap<(String, String), i64>,
    older: HashMap<(String, String), i64>,
    limit: usize,
}

impl Seen {
    fn with_limit(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            ..Self::default()
        }
    }

    fn insert(&mut self, row: (String, String), version: i64) {
        self.older.remove(&row);
        if self.current.len() >= self.limit && !self.current.contains_key(&row) {
            self.older = std::mem::take(&mut self.current);
        }
        self.current.insert(row, version);
    }

    fn get(&self, row: &(String, String)) -> Option<i64> {
        self.current
            .get(row)
            .or_else(|| self.older.get(row))
            .copied()
    }

    fn remove(&mut self, row: &(String, String)) {
        self.current.remove(row);
        self.older.remove(row);
    }

    fn retain(&mut self, keep: impl Fn(&(String, String)) -> bool) {
        self.current.retain(|row, _| keep(row));
        self.older.retain(|row, _| keep(row));
    }

    fn clear(&mut self) {
        self.current.clear();
        self.older.clear();
    }

    fn len(&self) -> usize {
        self.current.len() + self.older.len()
    }
}

struct State {
    /// (namespace, key) → the version this process last saw.
    seen: Seen,
    /// Rows a failed batch found changed by another process.
    conflicts: Vec<(String, String)>,
    /// Server process ids of this process's storage connections: their
    /// notifications are this process's own.
    own_pids: HashSet<i32>,
    /// The server's clock (µs) when the listener first listened: every change
    /// committed since is notified to this process. A row this process never saw
    /// counts as seen at this version.
    baseline: Option<i64>,
}

/// One process's view, shared by its [`PostgresStorage`](crate::PostgresStorage)
/// and its [`Listener`](crate::Listener) (wrap it in an `Arc`).
pub struct Coherence {
    state: Mutex<State>,
}

impl Default for Coherence {
    fn default() -> Self {
        Self::remembering(REMEMBERED_ROWS)
    }
}

impl Coherence {
    /// An empty view remembering up to 2 × [`REMEMBERED_ROWS`] row versions.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty view remembering up to 2 × `rows` row versions.
    pub fn remembering(rows: usize) -> Self {
        Self {
            state: Mutex::new(State {
                seen: Seen::with_limit(rows),
                conflicts: Vec::new(),
                own_pids: HashSet::new(),
                baseline: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that this process saw `namespace`/`key` at `version`.
    pub(crate) fn saw(&self, namespace: &str, key: &str, version: i64) {
        self.lock()
            .seen
            .insert((namespace.to_owned(), key.to_owned()), version);
    }

    /// Records several rows seen, keeping the newest version of each.
    pub(crate) fn saw_many<'a>(&self, rows: impl IntoIterator<Item = (&'a str, &'a str, i64)>) {
        let mut state = self.lock();
        for (namespace, key, version) in rows {
            state
                .seen
                .insert((namespace.to_owned(), key.to_owned()), version);
        }
    }

    /// The version a write of a row is checked against: the version this
    /// process last saw or was told of, else the [`baseline`](Self::baseline)
    /// (a row another process wrote since this process listens is one it was
    /// told of), else `None` (no listener: unchecked).
    pub(crate) fn seen(&self, namespace: &str, key: &str) -> Option<i64> {
        let state = self.lock();
        state
            .seen
            .get(&(namespace.to_owned(), key.to_owned()))
            .or(state.baseline)
    }

    /// Records when the listener first listened (later calls keep the first).
    pub(crate) fn set_baseline(&self, version: i64) {
        self.lock().baseline.get_or_insert(version);
    }

    /// The server's clock (µs) when this process's listener first listened.
    pub fn baseline(&self) -> Option<i64> {
        self.lock().baseline
    }

    /// Forgets what this process knew about a row a batch cleared or deleted.
    pub(crate) fn unsee(&self, namespace: &str, key: &str) {
        self.lock()
            .seen
            .remove(&(namespace.to_owned(), key.to_owned()));
    }

    /// Forgets every row of a namespace.
    pub(crate) fn unsee_namespace(&self, namespace: &str) {
        self.lock().seen.retain(|(ns, _)| ns != namespace);
    }

    /// Applies another process's change, once the cached copy is dropped: what
    /// this process knew of the row is gone, so a write of it is checked against
    /// the [`baseline`](Self::baseline) until the row is read again. Not against
    /// the version the change carries: a read-modify-write of this process that
    /// read the old value before the change was delivered must still fail.
    pub fn changed(&self, change: &RemoteChange) {
        match change {
            RemoteChange::Row { namespace, key, .. } => self.unsee(namespace, key),
            RemoteChange::Namespace(namespace) => self.unsee_namespace(namespace),
            RemoteChange::ChatSettings(_) | RemoteChange::UserData { .. } => {}
        }
    }

    /// Forgets every row: the listener may have missed changes.
    pub fn unsee_all(&self) {
        self.lock().seen.clear();
    }

    /// Records rows a failed batch found changed by another process, at the
    /// versions it found, so that the next write of them is not refused again
    /// once the caller dropped its stale copy.
    pub(crate) fn conflicted(&self, rows: Vec<(String, String, i64)>) {
        let mut state = self.lock();
        for (namespace, key, version) in rows {
            state.seen.insert((namespace.clone(), key.clone()), version);
            state.conflicts.push((namespace, key));
        }
    }

    /// The rows recent writes refused because another process changed them
    /// since this process saw them; the caller drops its cached copies.
    pub fn take_conflicts(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.lock().conflicts)
    }

    /// Marks a storage connection's server pid as this process's own.
    pub(crate) fn own_pid(&self, pid: i32) {
        self.lock().own_pids.insert(pid);
    }

    /// True if a notification from server pid `pid` came from this process.
    pub fn is_own(&self, pid: i32) -> bool {
        self.lock().own_pids.contains(&pid)
    }

    /// How many rows this process remembers a version of.
    pub fn remembered(&self) -> usize {
        self.lock().seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_scoped_to_the_schema_and_fit_postgresqls_limit() {
        assert_eq!(
            scoped_channel("gromozeka_cache", "bot"),
            "gromozeka_cache:bot"
        );
        assert_ne!(
            scoped_channel("gromozeka_cache", "bot"),
            scoped_channel("gromozeka_cache", "bot2")
        );
        let a = format!("{}_a", "s".repeat(60));
        let b = format!("{}_b", "s".repeat(60));
        let long = ["ы".repeat(40), "x".repeat(80)];
        for base in ["gromozeka_cache", long[0].as_str(), long[1].as_str()] {
            let (ca, cb) = (scoped_channel(base, &a), scoped_channel(base, &b));
            assert!(ca.len() <= 63 && cb.len() <= 63, "{ca} {cb}");
            assert_ne!(ca, cb);
            assert_eq!(ca, scoped_channel(base, &a), "stable");
        }
        // Exactly at the limit the name is kept whole.
        let fits = "f".repeat(63 - "gromozeka_cache:".len());
        assert_eq!(
            scoped_channel("gromozeka_cache", &fits),
            format!("gromozeka_cache:{fits}")
        );
    }

    #[test]
    fn payloads_round_trip_and_long_keys_become_namespace_changes() {
        for change in [
            RemoteChange::Row {
                namespace: "chats".into(),
                key: "a\t\"b\"\n".into(),
                version: Some(1_700_000_000_000_000),
            },
            RemoteChange::Row {
                namespace: "chats".into(),
                key: "k".into(),
                version: None,
            },
            RemoteChange::Namespace("users".into()),
            RemoteChange::ChatSettings(-1001234567890),
            RemoteChange::UserData {
                chat_id: -5,
                user_id: 7,
            },
        ] {
            assert_eq!(parse(&payload(&change)), Some(change));
        }
        let long = RemoteChange::Row {
            namespace: "ns".into(),
            key: "\u{1}".repeat(2000),
            version: Some(0),
        };
        assert_eq!(
            parse(&payload(&long)),
            Some(RemoteChange::Namespace("ns".into()))
        );
        assert_eq!(parse("not json"), None);
        assert_eq!(parse("[\"r\", \"ns\"]"), None);
    }

    #[test]
    fn a_row_not_known_is_checked_against_the_baseline() {
        let coherence = Coherence::new();
        assert_eq!(coherence.seen("ns", "k"), None, "no listener: unchecked");
        coherence.set_baseline(100);
        coherence.set_baseline(500);
        assert_eq!(coherence.baseline(), Some(100), "the first baseline stays");
        assert_eq!(coherence.seen("ns", "k"), Some(100));
        coherence.saw("ns", "k", 300);
        assert_eq!(coherence.seen("ns", "k"), Some(300));
        // Told of a change: a write based on what was read before must fail.
        coherence.changed(&RemoteChange::Row {
            namespace: "ns".into(),
            key: "k".into(),
            version: Some(400),
        });
        assert_eq!(coherence.seen("ns", "k"), Some(100));
        coherence.conflicted(vec![("ns".into(), "k".into(), 400)]);
        assert_eq!(coherence.seen("ns", "k"), Some(400), "the conflict read it");
        assert_eq!(coherence.take_conflicts(), vec![("ns".into(), "k".into())]);
        assert!(coherence.take_conflicts().is_empty());
    }

    #[test]
    fn remembered_versions_are_bounded_and_a_forgotten_one_falls_back_to_the_baseline() {
        let coherence = Coherence::remembering(3);
        coherence.set_baseline(100);
        for i in 0..10 {
            coherence.saw("ns", &i.to_string(), 1000 + i);
            assert!(
                coherence.remembered() <= 6,
                "{} remembered",
                coherence.remembered()
            );
        }
        // The newest generation is kept whole; the oldest rows went back to the baseline.
        assert_eq!(coherence.seen("ns", "9"), Some(1009));
        assert_eq!(coherence.seen("ns", "8"), Some(1008));
        assert_eq!(coherence.seen("ns", "0"), Some(100));
        // Seeing a remembered row again neither duplicates nor rotates it.
        let before = coherence.remembered();
        coherence.saw("ns", "9", 2000);
        assert_eq!(coherence.remembered(), before);
        assert_eq!(coherence.seen("ns", "9"), Some(2000));
        // A row in the older generation, seen again, moves to the current one.
        coherence.saw("ns", "6", 3000);
        coherence.unsee_namespace("ns");
        assert_eq!(coherence.remembered(), 0);
        assert_eq!(coherence.seen("ns", "6"), Some(100));
    }
}
