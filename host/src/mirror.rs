//! The contract's types as wasmtime's bindgen generates them ([`crate::bindings`]),
//! converted to and from `cache_core`'s, which are this crate's API. Every
//! conversion comes from core's one list of the contract's cases and fields
//! (`cache_core::contract_mirror!`), which the guest uses too.

use crate::bindings::exports::gromozeka::cache::{bot, types};
use crate::bindings::gromozeka::cache::rows;

cache_core::contract_mirror!(types, rows, bot);

/// A namespace table as the guest's `configure` takes it.
pub(crate) fn table(namespaces: &[crate::NamespaceConfig]) -> Vec<types::NamespaceConfig> {
    namespaces.iter().cloned().map(Into::into).collect()
}
