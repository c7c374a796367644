//! The cache as a WebAssembly component: the WIT contract in `wit/` bound to
//! [`cache_core::Cache`]. Built for `wasm32-unknown-unknown` (see the
//! justfile's `build`), it imports only `gromozeka:cache/storage` and exports
//! `cache` and `bot`. Every export returns errors as `cache-error` values; no
//! input can make it trap. Natively this crate holds only the guest's byte
//! comparison ([`mem_compare`]), for its tests.

#[cfg(target_arch = "wasm32")]
mod guest;
pub mod mem_compare;
