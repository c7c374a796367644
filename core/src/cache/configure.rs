//! `configure`: replacing the namespace table without dropping a pending change.

use super::{write, Cache};
use crate::config::{self, NamespaceConfig, Persistence};
use crate::namespace::Namespace;
use crate::storage::{Batch, Storage};
use crate::CacheError;

impl<S: Storage> Cache<S> {
    /// Replaces the namespace table; see `configure` in `wit/cache.wit`.
    /// Kept namespaces keep their entries and counters. Pending changes that
    /// would otherwise be dropped (a namespace removed or no longer
    /// on-shutdown, dirty entries evicted by a smaller capacity) and entries of
    /// a namespace turned on-change are written first, in one write; if it
    /// fails, nothing changes.
    pub fn configure(&mut self, configs: Vec<NamespaceConfig>) -> Result<(), CacheError> {
        config::validate_table(&configs)?;
        let find = |name: &str| configs.iter().find(|c| c.name == name);
        let flushes: Vec<Flush> = self
            .namespaces
            .iter()
            .map(|ns| Flush::needed(ns, find(ns.name())))
            .collect();
        let mut batch = Batch::default();
        for (ns, flush) in self.namespaces.iter().zip(&flushes) {
            match *flush {
                Flush::Nothing => {}
                Flush::AllPending => ns.push_all_pending(&mut batch),
                Flush::EvictedDirty(victims) => {
                    ns.push_pending_removals(&mut batch);
                    let evicted = ns.entries.iter().rev().take(victims);
                    for (key, e) in evicted.filter(|(_, e)| e.dirty) {
                        ns.push_row(&mut batch, key, &e.value);
                    }
                }
                Flush::AllEntries => {
                    for (key, e) in ns.entries.iter().rev() {
                        ns.push_row(&mut batch, key, &e.value);
                    }
                }
            }
        }
        if !batch.is_empty() {
            write(&mut self.storage, &batch)?;
        }
        // The write (if any) succeeded: apply the new table.
        self.replaced = true;
        let mut old: Vec<Namespace> = std::mem::take(&mut self.namespaces);
        for (ns, flush) in old.iter_mut().zip(flushes) {
            match flush {
                Flush::AllPending => ns.mark_all_written(),
                Flush::EvictedDirty(_) => ns.mark_removals_written(),
                Flush::Nothing | Flush::AllEntries => {}
            }
        }
        for config in configs {
            let ns = match old.iter().position(|ns| ns.name() == config.name) {
                Some(i) => {
                    let mut ns = old.swap_remove(i);
                    if ns.persistence() == Persistence::MemoryOnly
                        && config.persistence == Persistence::OnShutdown
                    {
                        // Storage has never seen these entries: they are now pending.
                        for entry in ns.entries.values_mut() {
                            entry.dirty = true;
                        }
                        ns.dirty_entries = u32::try_from(ns.entries.len()).unwrap_or(u32::MAX);
                    }
                    ns.config = config;
                    if ns.persistence().is_persisted() {
                        // Expiry is memory-only (see `expire_after_write`).
                        ns.expire_after = None;
                    }
                    let capacity = ns.capacity();
                    ns.entries.set_limit(capacity);
                    ns.evict_to(capacity, self.now);
                    ns
                }
                None => {
                    let declared = self.declared_of(&config.name);
                    Namespace::new(config, declared)
                }
            };
            self.namespaces.push(ns);
        }
        Ok(())
    }
}

/// What `configure` must write for an existing namespace before the table changes.
#[derive(Clone, Copy)]
enum Flush {
    /// Nothing: no pending change would be dropped.
    Nothing,
    /// Every pending change: the namespace goes, or stops being on-shutdown.
    AllPending,
    /// The dirty entries among this many least recent ones, which a smaller
    /// capacity evicts, with the pending removals.
    EvictedDirty(usize),
    /// Every entry: a memory-only namespace becomes on-change.
    AllEntries,
}

impl Flush {
    fn needed(ns: &Namespace, new: Option<&NamespaceConfig>) -> Flush {
        let Some(new) = new else {
            return Flush::AllPending;
        };
        match (ns.persistence(), new.persistence) {
            (Persistence::OnShutdown, Persistence::OnShutdown) => {
                let victims = ns.entries.len().saturating_sub(new.max_entries as usize);
                if ns.entries.iter().rev().take(victims).any(|(_, e)| e.dirty) {
                    Flush::EvictedDirty(victims)
                } else {
                    Flush::Nothing
                }
            }
            (Persistence::OnShutdown, _) => Flush::AllPending,
            (Persistence::MemoryOnly, Persistence::OnChange) => Flush::AllEntries,
            _ => Flush::Nothing,
        }
    }
}
