//! The names every host shares (persistence, error cases, storage error kinds)
//! and the one validation of a namespace table.

use cache_core::config::{default_table, validate_table};
use cache_core::{
    CacheError, NamespaceConfig, Persistence, StorageError, StorageErrorKind, CHATS, CHAT_USERS,
    DEFAULT_MAX_ENTRIES, MAX_KEY_BYTES, USERS,
};

fn ns(name: &str, max_entries: u32) -> NamespaceConfig {
    NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence: Persistence::OnChange,
    }
}

#[test]
fn persistence_names_round_trip() {
    for (p, name, persisted) in [
        (Persistence::MemoryOnly, "memory-only", false),
        (Persistence::OnChange, "on-change", true),
        (Persistence::OnShutdown, "on-shutdown", true),
    ] {
        assert_eq!(p.name(), name);
        assert_eq!(Persistence::from_name(name), Some(p));
        assert_eq!(p.is_persisted(), persisted);
    }
    assert_eq!(Persistence::from_name("sometimes"), None);
}

#[test]
fn error_names_are_the_wit_names() {
    let cases = [
        (
            CacheError::UnknownNamespace("x".into()),
            "unknown-namespace",
        ),
        (CacheError::InvalidJson("x".into()), "invalid-json"),
        (CacheError::InvalidConfig("x".into()), "invalid-config"),
        (CacheError::TooLarge("x".into()), "too-large"),
        (CacheError::InvalidKey("x".into()), "invalid-key"),
        (
            CacheError::Storage(StorageError::new(StorageErrorKind::Busy, "x")),
            "storage",
        ),
    ];
    for (e, name) in cases {
        assert_eq!(e.case(), name);
    }
    let names: Vec<&str> = StorageErrorKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "busy",
            "full",
            "read-only",
            "corrupt",
            "constraint",
            "schema",
            "unavailable",
            "conflict",
            "other",
            "pending"
        ]
    );
    let e = StorageError::new(StorageErrorKind::ReadOnly, "cannot write");
    assert_eq!(e.to_string(), "cannot write [read-only]");
    assert_eq!(StorageErrorKind::Full.to_string(), "full");
}

#[test]
fn the_default_table_is_the_seeds() {
    let table = default_table();
    let names: Vec<(&str, Persistence, u32)> = table
        .iter()
        .map(|c| (c.name.as_str(), c.persistence, c.max_entries))
        .collect();
    assert_eq!(
        names,
        [
            (CHATS, Persistence::OnShutdown, DEFAULT_MAX_ENTRIES),
            (CHAT_USERS, Persistence::OnChange, DEFAULT_MAX_ENTRIES),
            (USERS, Persistence::MemoryOnly, DEFAULT_MAX_ENTRIES),
        ]
    );
    assert_eq!(validate_table(&table), Ok(()));
}

#[test]
fn invalid_tables_are_refused_with_the_reason() {
    let long = "n".repeat(MAX_KEY_BYTES + 1);
    let longest = "n".repeat(MAX_KEY_BYTES);
    for (table, reason) in [
        (vec![], "at least one"),
        (vec![ns("", 1)], "empty"),
        (vec![ns(&long, 1)], "over the limit"),
        (vec![ns("a", 0)], "max-entries 0"),
        (vec![ns("a\0b", 1)], "NUL character at byte 1"),
        (vec![ns("a", 1), ns("b", 1), ns("a", 2)], "listed twice"),
    ] {
        match validate_table(&table) {
            Err(CacheError::InvalidConfig(why)) => assert!(why.contains(reason), "{why}"),
            other => panic!("{table:?}: expected invalid-config, got {other:?}"),
        }
    }
    assert_eq!(
        validate_table(&[ns(&longest, 1), ns("b", u32::MAX)]),
        Ok(())
    );
}

/// Every storage-error kind is found by its WIT name, and nothing else is.
#[test]
fn storage_error_kinds_are_found_by_their_names() {
    for kind in StorageErrorKind::ALL {
        assert_eq!(StorageErrorKind::from_name(kind.name()), Some(kind));
    }
    for other in ["", "Busy", "read_only", "nope"] {
        assert_eq!(StorageErrorKind::from_name(other), None, "{other:?}");
    }
}
