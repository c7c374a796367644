//! The in-memory backends run the storage kit (here, so that `cargo mutants -p cache-core` sees it): `MemoryStorage` (which cannot fail,
//! hold a bad cell or outlive a close), and `MockStorage`, which can fail with
//! every kind of error and stores unreadable cells.

use cache_core::{FailRule, MemoryStorage, MockStorage, StorageError, StorageErrorKind};
use cache_storage_kit::{run, Backend, BadCell};

struct Memory;

impl Backend for Memory {
    type Storage = MemoryStorage;
    fn open(&mut self) -> MemoryStorage {
        MemoryStorage::new()
    }
    fn reopen(&mut self, _: MemoryStorage) -> Option<MemoryStorage> {
        None
    }
    fn put_bad_cell(&mut self, _: &mut MemoryStorage, _: &str, _: &str, _: BadCell) -> bool {
        false
    }
    fn provoke(&mut self, _: &mut MemoryStorage, _: StorageErrorKind, _: &str) -> bool {
        false
    }
    fn heal(&mut self, _: &mut MemoryStorage) {}
}

struct Mock;

impl Backend for Mock {
    type Storage = MockStorage;
    fn open(&mut self) -> MockStorage {
        MockStorage::new()
    }
    fn reopen(&mut self, _: MockStorage) -> Option<MockStorage> {
        None
    }
    fn put_bad_cell(&mut self, s: &mut MockStorage, ns: &str, key: &str, cell: BadCell) -> bool {
        s.put_unreadable_row(ns, key, &format!("the value is {cell:?}"));
        true
    }
    fn provoke(&mut self, s: &mut MockStorage, kind: StorageErrorKind, _: &str) -> bool {
        s.fail_writes = Some(FailRule::always(StorageError::new(kind, "provoked")));
        true
    }
    fn heal(&mut self, s: &mut MockStorage) {
        s.fail_writes = None;
    }
}

#[test]
fn memory_storage_passes_the_kit() {
    let ran = run(&mut Memory);
    assert_eq!(
        ran,
        [
            "load-newest-n-oldest-first",
            "batch-order",
            "absent-is-not-an-error",
            "settings-merge-rewrite-unset",
            "user-data"
        ]
    );
}

#[test]
fn mock_storage_passes_the_kit_with_every_error_kind() {
    let ran = run(&mut Mock);
    assert_eq!(
        ran.len(),
        5 + 3 + StorageErrorKind::FAILURES.len(),
        "{ran:?}"
    );
}
