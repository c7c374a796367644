//! The cache: a table of namespaces and the storage behind them.

mod configure;
mod counts;
mod durable;
mod expiry;
mod store;

use serde_json::Value;

use crate::config::{self, NamespaceConfig, Persistence};
use crate::declared::{Declared, FieldShape};
use crate::namespace::{Key, Namespace, NamespaceStats, Pending};
use crate::storage::{Batch, RowKey, Storage};
use crate::{validate, CacheError};

/// How a store of entries treats their dirty marks and storage.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A change by the caller: written now (on-change) or marked dirty (on-shutdown).
    Mutation,
    /// Caching what storage already holds: never written, the dirty mark kept as it
    /// was; if making room fails, the entries are simply not cached.
    Refresh,
}

/// An entry about to be stored: key, JSON text, and the text parsed if the
/// caller already has it.
pub(crate) struct NewEntry {
    key: Key,
    value: Box<str>,
    parsed: Option<Box<Value>>,
}

impl NewEntry {
    fn text(key: String, value: String) -> Self {
        NewEntry {
            key: Key::from(key),
            value: value.into_boxed_str(),
            parsed: None,
        }
    }
}

/// Namespaced LRU maps over a [`Storage`]. One value per service: the
/// component holds exactly one; native users may hold many.
pub struct Cache<S> {
    namespaces: Vec<Namespace>,
    /// Declarations by namespace name, see [`Cache::mirror`] and [`Cache::record`].
    declared: Vec<(Box<str>, Declared)>,
    storage: S,
    /// The counts of the call running now (see `counts.rs`).
    counted: Vec<counts::Counted>,
    /// How many calls are running, one inside the other.
    depth: u32,
    /// The cache's time in milliseconds, set by the host (see `expiry.rs`).
    now: u64,
    /// The namespace table was replaced since the host last asked (see `journal.rs`).
    replaced: bool,
}

impl<S: Storage> Cache<S> {
    /// A cache with the seed's table ([`config::default_table`]).
    pub fn new(storage: S) -> Self {
        let namespaces = config::default_table()
            .into_iter()
            .map(|c| Namespace::new(c, Declared::default()))
            .collect();
        Cache {
            namespaces,
            declared: Vec::new(),
            storage,
            counted: Vec::new(),
            depth: 0,
            now: 0,
            replaced: false,
        }
    }

    /// Declares `field`, a top-level field of the entries of `namespace`, a
    /// *mirror*: a copy of data whose durable home is another store. The field
    /// is dropped from every row written to storage and from every row read
    /// from it. A generic [`set`](Cache::set) or [`set_many`](Cache::set_many)
    /// of a value holding it is `InvalidJson` in a persisted namespace, since
    /// storage would never keep it; in a memory-only namespace, where nothing
    /// reaches storage, it primes the copy, and is `InvalidJson` unless the
    /// field has `shape`. [`set_json`](Cache::set_json) and
    /// [`refresh_json`](Cache::refresh_json) accept it: they are how the owner
    /// of the other store keeps the copy. Applies to the namespace of that
    /// name now and after every `configure`.
    pub fn mirror(&mut self, namespace: &str, field: &str, shape: FieldShape) {
        self.declare(namespace, |d| d.mirror = Some((field.into(), shape)));
    }

    /// Declares the entries of `namespace` *records*, objects of optional
    /// fields in which an empty object means no entry: such an entry (after
    /// its mirrored field is dropped) is written to storage as a delete, and
    /// a stored `{}` row is neither loaded nor read through. Applies to the
    /// namespace of that name now and after every `configure`.
    pub fn record(&mut self, namespace: &str) {
        self.declare(namespace, |d| d.record = true);
    }

    fn declare(&mut self, namespace: &str, change: impl Fn(&mut Declared)) {
        match self.declared.iter_mut().find(|(ns, _)| &**ns == namespace) {
            Some((_, declared)) => change(declared),
            None => {
                let mut declared = Declared::default();
                change(&mut declared);
                self.declared.push((namespace.into(), declared));
            }
        }
        for ns in &mut self.namespaces {
            if ns.name() == namespace {
                change(&mut ns.declared);
            }
        }
    }

    fn declared_of(&self, namespace: &str) -> Declared {
        self.declared
            .iter()
            .find(|(ns, _)| &**ns == namespace)
            .map(|(_, declared)| declared.clone())
            .unwrap_or_default()
    }

    /// The storage, for inspection.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, for tests that change it behind the cache's back.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// The namespace at `index` in the table (see [`position`](Self::position)).
    pub(crate) fn namespace_at(&mut self, index: usize) -> Option<&mut Namespace> {
        self.namespaces.get_mut(index)
    }

    pub(crate) fn namespace_mut(&mut self, namespace: &str) -> Option<&mut Namespace> {
        let index = self.position(namespace)?;
        self.namespaces.get_mut(index)
    }

    /// Whether the table was replaced since the last call; clears the mark.
    pub(crate) fn take_replaced(&mut self) -> bool {
        std::mem::take(&mut self.replaced)
    }

    pub(crate) fn namespaces_mut(&mut self) -> impl Iterator<Item = &mut Namespace> {
        self.namespaces.iter_mut()
    }

    /// The configuration of `namespace`, or `UnknownNamespace`.
    pub fn config_of(&self, namespace: &str) -> Result<&NamespaceConfig, CacheError> {
        Ok(&self.namespaces[self.index(namespace)?].config)
    }

    /// Where `namespace` is in the table, if it is.
    pub(crate) fn position(&self, namespace: &str) -> Option<usize> {
        self.namespaces.iter().position(|ns| ns.name() == namespace)
    }

    /// [`position`](Self::position), or `UnknownNamespace`.
    fn index(&self, namespace: &str) -> Result<usize, CacheError> {
        self.position(namespace)
            .ok_or_else(|| CacheError::UnknownNamespace(namespace.to_owned()))
    }

    /// The value of `key`; a miss in a persisted namespace reads through storage.
    pub fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, CacheError> {
        validate::key(key)?;
        let idx = self.index(namespace)?;
        self.counted(|cache| cache.lookup(idx, key))
    }

    /// The value of each key, in order; see [`Cache::get`].
    pub fn get_many<K: AsRef<str>>(
        &mut self,
        namespace: &str,
        keys: &[K],
    ) -> Result<Vec<Option<String>>, CacheError> {
        for key in keys {
            validate::key(key.as_ref())?;
        }
        let idx = self.index(namespace)?;
        self.counted(|cache| {
            keys.iter()
                .map(|key| cache.lookup(idx, key.as_ref()))
                .collect()
        })
    }

    /// Looks `key` up in namespace `idx`: a hit makes it most recent; a miss
    /// reads through storage when storage may hold it.
    fn lookup(&mut self, idx: usize, key: &str) -> Result<Option<String>, CacheError> {
        let now = self.now;
        self.namespaces[idx].expire(key, now);
        if let Some(entry) = self.namespaces[idx].entries.get(key) {
            let value = String::from(&*entry.value);
            self.count(idx, true);
            return Ok(Some(value));
        }
        // A miss counts once the lookup cannot fail any more.
        let found = self.read_through(idx, key)?;
        self.count(idx, false);
        Ok(found)
    }

    /// The value storage holds for a key missing from memory, cached clean;
    /// `None` when storage cannot have one the cache should see.
    fn read_through(&mut self, idx: usize, key: &str) -> Result<Option<String>, CacheError> {
        let ns = &self.namespaces[idx];
        if !ns.storage_may_have(key) {
            return Ok(None);
        }
        let found = self
            .storage
            .get(ns.name(), key)
            .map_err(|e| CacheError::storage("rows.get", e))?;
        let Some(value) = found else {
            return Ok(None);
        };
        validate::value(&value).map_err(|e| stored_value_error(ns.name(), key, e))?;
        let value = ns.without_mirror(&value).into_owned();
        if ns.is_empty_record(&value) {
            return Ok(None);
        }
        self.store(
            idx,
            vec![NewEntry::text(key.to_owned(), value.clone())],
            Mode::Refresh,
        )?;
        Ok(Some(value))
    }

    /// Calls `f` with the value of `key` parsed as JSON (`None` if absent),
    /// reading through storage as [`get`](Cache::get) does. The parsed value is
    /// kept with the entry, so repeated reads of a held entry parse it once.
    pub fn get_json<R>(
        &mut self,
        namespace: &str,
        key: &str,
        f: impl FnOnce(Option<&Value>) -> R,
    ) -> Result<R, CacheError> {
        self.counted(|cache| cache.get_json_uncounted(namespace, key, f))
    }

    fn get_json_uncounted<R>(
        &mut self,
        namespace: &str,
        key: &str,
        f: impl FnOnce(Option<&Value>) -> R,
    ) -> Result<R, CacheError> {
        validate::key(key)?;
        let idx = self.index(namespace)?;
        let Cache {
            namespaces,
            counted,
            now,
            ..
        } = self;
        let ns = &mut namespaces[idx];
        ns.expire(key, *now);
        if let Some(entry) = ns.entries.get_mut(key) {
            ns.hits += 1;
            counted.push((idx, true));
            if entry.parsed.is_none() {
                let value = serde_json::from_str(&entry.value).map_err(|e| {
                    CacheError::InvalidJson(format!("cached value of {namespace}/{key}: {e}"))
                })?;
                entry.parsed = Some(Box::new(value));
            }
            return Ok(f(entry.parsed.as_deref()));
        }
        match self.read_through(idx, key)? {
            None => {
                self.count(idx, false);
                Ok(f(None))
            }
            Some(text) => {
                let value: Value = serde_json::from_str(&text).map_err(|e| {
                    CacheError::InvalidJson(format!("stored value of {namespace}/{key}: {e}"))
                })?;
                self.count(idx, false);
                Ok(f(Some(&value)))
            }
        }
    }

    /// Stores `value` under `key`; see `set` in `wit/cache.wit`.
    pub fn set(&mut self, namespace: &str, key: String, value: String) -> Result<(), CacheError> {
        validate::key(&key)?;
        validate::value(&value)?;
        let idx = self.index(namespace)?;
        self.check_mirror(idx, &key, &value)?;
        self.store(idx, vec![NewEntry::text(key, value)], Mode::Mutation)
    }

    /// Stores `value` under `key` as [`set`](Cache::set) does; the value may
    /// hold the namespace's mirrored field (see [`Cache::mirror`]).
    pub fn set_json(
        &mut self,
        namespace: &str,
        key: String,
        value: Value,
    ) -> Result<(), CacheError> {
        self.put_json(namespace, key, value, Mode::Mutation)
    }

    /// Caches `value` under `key` as what storage already holds: nothing is
    /// written and the entry's dirty mark stays as it was (an absent entry is
    /// clean). If making room would need a write that fails, the value is not
    /// cached and `Ok` is returned: the next read goes to storage. The value may
    /// hold the namespace's mirrored field.
    pub fn refresh_json(
        &mut self,
        namespace: &str,
        key: String,
        value: Value,
    ) -> Result<(), CacheError> {
        self.put_json(namespace, key, value, Mode::Refresh)
    }

    fn put_json(
        &mut self,
        namespace: &str,
        key: String,
        value: Value,
        mode: Mode,
    ) -> Result<(), CacheError> {
        validate::key(&key)?;
        if value.is_null() {
            return Err(CacheError::InvalidJson(
                "value is JSON null; delete the key instead".to_owned(),
            ));
        }
        // Straight into a byte buffer (`Value`'s `Display` goes through `fmt::Write`).
        let text = serde_json::to_string(&value)
            .map_err(|e| CacheError::InvalidJson(format!("value: {e}")))?;
        let idx = self.index(namespace)?;
        // The limit is on what storage would hold: the mirrored field (a copy
        // whose home is another store) does not count. Only an oversize text
        // pays for stripping it.
        validate::value_size(&text)
            .or_else(|_| validate::value_size(&self.namespaces[idx].without_mirror(&text)))?;
        validate::depth(&text)?;
        let entry = NewEntry {
            key: Key::from(key),
            value: text.into_boxed_str(),
            parsed: Some(Box::new(value)),
        };
        self.store(idx, vec![entry], mode)
    }

    /// Checks a generic write of a value holding the namespace's mirrored
    /// field: refused in a persisted namespace, shape-checked in a memory-only
    /// one (see [`Cache::mirror`]).
    fn check_mirror(&self, idx: usize, key: &str, value: &str) -> Result<(), CacheError> {
        let ns = &self.namespaces[idx];
        let (Some(field_value), Some((field, shape))) =
            (ns.mirrored_value(value), ns.declared.mirror.as_ref())
        else {
            return Ok(());
        };
        if ns.persistence().is_persisted() {
            return Err(CacheError::InvalidJson(format!(
                "{}/{key}: the field {field:?} is kept in the bot's own table, not in the \
                 cache's rows; set it with the bot's API",
                ns.name()
            )));
        }
        shape.check(&field_value).map_err(|why| {
            CacheError::InvalidJson(format!("{}/{key}: the field {field:?} {why}", ns.name()))
        })
    }

    /// Stores every entry, in order, or none of them.
    pub fn set_many(
        &mut self,
        namespace: &str,
        entries: Vec<(String, String)>,
    ) -> Result<(), CacheError> {
        for (key, value) in &entries {
            validate::key(key)?;
            validate::value(value)?;
        }
        let idx = self.index(namespace)?;
        for (key, value) in &entries {
            self.check_mirror(idx, key, value)?;
        }
        let entries = entries
            .into_iter()
            .map(|(k, v)| NewEntry::text(k, v))
            .collect();
        self.store(idx, entries, Mode::Mutation)
    }

    /// Removes `key`; `true` if it was held in memory. See `delete` in `wit/cache.wit`.
    pub fn delete(&mut self, namespace: &str, key: &str) -> Result<bool, CacheError> {
        validate::key(key)?;
        let idx = self.index(namespace)?;
        let ns = &mut self.namespaces[idx];
        match ns.persistence() {
            Persistence::MemoryOnly => {}
            Persistence::OnChange => {
                let batch = Batch {
                    delete: vec![RowKey {
                        namespace: ns.name(),
                        key,
                    }],
                    ..Batch::default()
                };
                write(&mut self.storage, &batch)?;
            }
            Persistence::OnShutdown => {
                if !ns.cleared {
                    ns.deleted.insert(key.into());
                }
            }
        }
        let removed = ns.entries.pop(key);
        ns.changes.note(key);
        if removed.as_ref().is_some_and(|e| e.dirty) {
            ns.dirty_entries -= 1;
        }
        Ok(removed.is_some())
    }

    /// Removes every entry of the namespace, in memory and as its policy says in storage.
    pub fn clear_namespace(&mut self, namespace: &str) -> Result<(), CacheError> {
        let idx = self.index(namespace)?;
        let ns = &mut self.namespaces[idx];
        match ns.persistence() {
            Persistence::MemoryOnly => {}
            Persistence::OnChange => {
                let batch = Batch {
                    clear: vec![ns.name()],
                    ..Batch::default()
                };
                write(&mut self.storage, &batch)?;
            }
            Persistence::OnShutdown => {
                ns.deleted.clear();
                ns.cleared = true;
                ns.dirty_entries = 0;
            }
        }
        ns.entries.clear();
        ns.changes.note_all();
        Ok(())
    }

    /// One snapshot per namespace, in configuration order.
    pub fn stats(&self) -> Vec<NamespaceStats> {
        self.namespaces.iter().map(Namespace::stats).collect()
    }

    /// The changes of `namespace` not yet written; see `pending-changes` in
    /// `wit/cache.wit`.
    pub fn pending_changes(&self, namespace: &str) -> Result<Pending, CacheError> {
        let ns = &self.namespaces[self.index(namespace)?];
        let dirty = ns.entries.iter().filter(|(_, e)| e.dirty).map(|(k, _)| k);
        let mut keys: Vec<String> = dirty.chain(&ns.deleted).map(|k| k.to_string()).collect();
        keys.sort_unstable();
        Ok(Pending {
            keys,
            cleared: ns.cleared,
        })
    }
}

/// Applies `batch` to `storage`, naming the operation in the error.
fn write<S: Storage>(storage: &mut S, batch: &Batch<'_>) -> Result<(), CacheError> {
    storage
        .write(batch)
        .map_err(|e| CacheError::storage("rows.write", e))
}

/// The error for a stored value that fails validation.
fn stored_value_error(namespace: &str, key: &str, error: CacheError) -> CacheError {
    match error {
        CacheError::InvalidJson(why) => {
            CacheError::InvalidJson(format!("stored value of {namespace}/{key}: {why}"))
        }
        CacheError::TooLarge(why) => {
            CacheError::TooLarge(format!("stored value of {namespace}/{key}: {why}"))
        }
        other => other,
    }
}
