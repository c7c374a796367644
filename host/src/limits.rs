//! [`Limits`]: the sandbox of one instance. The guest's memory limit follows the
//! namespace table: every entry may hold a key and a value of the component's size
//! limits, so the table's capacity in bytes is known, and the limit is set to hold
//! it. A fixed limit that cannot hold it is refused when the table is configured,
//! with both numbers, instead of trapping once the cache fills up.

use std::time::Duration;

use crate::{Error, NamespaceConfig};

/// The most linear memory a wasm32 guest can address: 4 GiB.
pub const WASM32_MAX_MEMORY: usize = 1 << 32;

/// Memory the component needs besides its entries (code data, stack, allocator
/// slack, one call's working copies).
pub const BASE_MEMORY: usize = 16 << 20;

/// The sandbox limits of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory of the guest, in bytes: growing past it fails inside the
    /// guest (which then traps). `None` (the default) follows the namespace table
    /// ([`table_memory`]), at most [`WASM32_MAX_MEMORY`]. A fixed limit below what
    /// the table needs makes `configure` fail with [`Error::MemoryLimit`].
    pub memory_bytes: Option<usize>,
    /// Maximum wall-clock time of one call into the guest, less the time it waits in
    /// storage calls, rounded up to whole epoch ticks; past it the guest traps with
    /// an interrupt. `Duration::ZERO` interrupts
    /// every call at its first check (useful only in tests). Default 10 s.
    pub call_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: None,
            call_time: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The memory limit in bytes: the fixed one, else the wasm32 maximum (the
    /// service narrows it to the table with [`Limits::for_table`]).
    pub fn memory(&self) -> usize {
        self.memory_bytes.unwrap_or(WASM32_MAX_MEMORY)
    }

    /// These limits with the memory limit resolved for `table`: the fixed limit if
    /// it holds the table's capacity, else [`Error::MemoryLimit`]; without a fixed
    /// limit, the table's capacity, at most [`WASM32_MAX_MEMORY`] (a bigger table is
    /// accepted; its entries then share those 4 GiB).
    pub fn for_table(&self, table: &[NamespaceConfig]) -> Result<Limits, Error> {
        let needed = table_memory(table);
        let memory = match self.memory_bytes {
            Some(limit) if (limit as u64) < needed => {
                return Err(Error::MemoryLimit {
                    needed,
                    limit: limit as u64,
                })
            }
            Some(limit) => limit,
            None => usize::try_from(needed)
                .unwrap_or(usize::MAX)
                .min(WASM32_MAX_MEMORY),
        };
        Ok(Limits {
            memory_bytes: Some(memory),
            ..*self
        })
    }
}

/// The bytes `table` can hold when full: [`BASE_MEMORY`] plus, per entry, a key of
/// [`cache_core::MAX_KEY_BYTES`] and a value of [`cache_core::MAX_VALUE_BYTES`].
pub fn table_memory(table: &[NamespaceConfig]) -> u64 {
    let per_entry = (cache_core::MAX_KEY_BYTES + cache_core::MAX_VALUE_BYTES) as u64;
    table.iter().fold(BASE_MEMORY as u64, |sum, n| {
        sum.saturating_add(u64::from(n.max_entries).saturating_mul(per_entry))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Persistence;

    fn table(entries: &[u32]) -> Vec<NamespaceConfig> {
        entries
            .iter()
            .enumerate()
            .map(|(i, &max_entries)| NamespaceConfig {
                name: format!("n{i}"),
                max_entries,
                persistence: Persistence::OnChange,
            })
            .collect()
    }

    const ENTRY: u64 = (1 << 20) + 1024;

    #[test]
    fn the_default_follows_the_table() {
        let t = table(&[1000, 1000, 1000]);
        assert_eq!(table_memory(&t), BASE_MEMORY as u64 + 3000 * ENTRY);
        let resolved = Limits::default().for_table(&t).unwrap();
        assert_eq!(
            resolved.memory_bytes,
            Some(BASE_MEMORY + 3000 * ENTRY as usize)
        );
        assert_eq!(resolved.call_time, Limits::default().call_time);
    }

    #[test]
    fn the_default_stops_at_what_wasm32_addresses() {
        let t = table(&[100_000, u32::MAX]);
        let resolved = Limits::default().for_table(&t).unwrap();
        assert_eq!(resolved.memory_bytes, Some(WASM32_MAX_MEMORY));
    }

    #[test]
    fn a_fixed_limit_must_hold_the_table() {
        let t = table(&[10]);
        let needed = BASE_MEMORY as u64 + 10 * ENTRY;
        let fits = Limits {
            memory_bytes: Some(needed as usize),
            ..Limits::default()
        };
        assert_eq!(
            fits.for_table(&t).unwrap().memory_bytes,
            Some(needed as usize)
        );
        let short = Limits {
            memory_bytes: Some(needed as usize - 1),
            ..Limits::default()
        };
        match short.for_table(&t) {
            Err(Error::MemoryLimit { needed: n, limit }) => {
                assert_eq!((n, limit), (needed, needed - 1));
            }
            other => panic!("expected a memory-limit error, got {other:?}"),
        }
    }
}
