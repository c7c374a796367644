//! The component as a whole, in wasmtime: its world, and differential runs
//! against the native core (same operations, same answers).
