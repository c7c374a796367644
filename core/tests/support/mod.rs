//! Helpers shared by the integration tests.

use cache_core::{Cache, MemoryStorage, NamespaceConfig, Persistence};

/// A cache over memory with one namespace, `n`.
pub fn one_namespace(max_entries: u32, persistence: Persistence) -> Cache<MemoryStorage> {
    let mut cache = Cache::new(MemoryStorage::new());
    cache
        .configure(vec![NamespaceConfig {
            name: "n".into(),
            max_entries,
            persistence,
        }])
        .expect("configure");
    cache
}
