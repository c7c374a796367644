//! The WIT's copies of core's types, converted both ways by one list of cases
//! and fields.
//!
//! Each bindgen (the guest's wit-bindgen, the host's wasmtime bindgen)
//! generates its own copy of the contract's types. Core's types are the ones
//! the crates above the bindgens use; [`contract_mirror!`](crate::contract_mirror)
//! writes every `From` conversion between them and a bindgen's copy, so the
//! case and field lists live here once. A case or field added on one side
//! only fails to compile, on every side.

/// `From` both ways between core's types and a bindgen's copy of the
/// contract's: given the modules (in scope) the bindgen generated for the
/// `types`, `rows` and `bot` interfaces, converts [`Persistence`](crate::Persistence),
/// [`NamespaceConfig`](crate::NamespaceConfig), [`NamespaceStats`](crate::NamespaceStats),
/// [`Pending`](crate::Pending), [`SkippedRow`](crate::SkippedRow),
/// [`LoadReport`](crate::LoadReport), [`PersistReport`](crate::PersistReport),
/// [`CacheError`](crate::CacheError), [`StorageError`](crate::StorageError),
/// [`StorageErrorKind`](crate::StorageErrorKind) and [`SettingsMode`](crate::SettingsMode).
#[macro_export]
macro_rules! contract_mirror {
    ($types:ident, $rows:ident, $bot:ident) => {
        $crate::__cases_mirror!(Persistence, $types::Persistence:
            MemoryOnly, OnChange, OnShutdown);
        $crate::__cases_mirror!(StorageErrorKind, $rows::StorageErrorKind: Busy, Full, ReadOnly,
            Corrupt, Constraint, Schema, Unavailable, Conflict, Other, Pending);
        $crate::__cases_mirror!(SettingsMode, $bot::SettingsMode: Merge, Rewrite);
        $crate::__record_mirror!(StorageError, $rows::StorageError { kind, message });
        $crate::__record_mirror!(NamespaceConfig, $types::NamespaceConfig {
            name, max_entries, persistence });
        $crate::__record_mirror!(NamespaceStats, $types::NamespaceStats { name, persistence,
            size, max_entries, dirty, hits, misses, evictions, expirations });
        $crate::__record_mirror!(Pending, $types::Pending { keys, cleared });
        $crate::__record_mirror!(SkippedRow, $types::SkippedRow { namespace, key, reason });
        $crate::__record_mirror!(LoadReport, $types::LoadReport { loaded } lists { skipped });
        $crate::__record_mirror!(PersistReport, $types::PersistReport { written, deleted });
        $crate::__cases_mirror!(CacheError, $types::CacheError: UnknownNamespace(why),
            InvalidJson(why), InvalidConfig(why), TooLarge(why), InvalidKey(why), Storage(e));
    };
}

/// An enum or a variant, converted case by case: a case with a payload names
/// a binding for it (`Storage(e)`), and the payload is converted too.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases_mirror {
    ($core:ident, $wit:ty: $($case:ident $(($payload:ident))?),+ $(,)?) => {
        const _: () = {
            use $crate::$core as Core;
            type Wit = $wit;

            impl From<Wit> for Core {
                fn from(value: Wit) -> Self {
                    match value {
                        $(Wit::$case $(($payload))? => Core::$case $(($payload.into()))?,)+
                    }
                }
            }

            impl From<Core> for Wit {
                fn from(value: Core) -> Self {
                    match value {
                        $(Core::$case $(($payload))? => Wit::$case $(($payload.into()))?,)+
                    }
                }
            }
        };
    };
}

/// A record, converted field by field; the fields after `lists` are lists
/// converted element by element.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_mirror {
    ($core:ident, $wit:ty { $($field:ident),+ $(,)? } $(lists { $($list:ident),+ })?) => {
        const _: () = {
            use $crate::$core as Core;
            type Wit = $wit;

            impl From<Wit> for Core {
                fn from(value: Wit) -> Self {
                    Self {
                        $($field: value.$field.into(),)+
                        $($($list: value.$list.into_iter().map(Into::into).collect(),)+)?
                    }
                }
            }

            impl From<Core> for Wit {
                fn from(value: Core) -> Self {
                    Self {
                        $($field: value.$field.into(),)+
                        $($($list: value.$list.into_iter().map(Into::into).collect(),)+)?
                    }
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    //! A stand-in for a bindgen's copy of the contract, with every field
    //! given a value of its own, so that a field or case mapped to another
    //! one does not survive the round trip.

    mod types {
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Persistence {
            MemoryOnly,
            OnChange,
            OnShutdown,
        }
        #[derive(Debug, PartialEq)]
        pub struct NamespaceConfig {
            pub name: String,
            pub max_entries: u32,
            pub persistence: Persistence,
        }
        #[derive(Debug, PartialEq)]
        pub struct NamespaceStats {
            pub name: String,
            pub persistence: Persistence,
            pub size: u32,
            pub max_entries: u32,
            pub dirty: u32,
            pub hits: u64,
            pub misses: u64,
            pub evictions: u64,
            pub expirations: u64,
        }
        #[derive(Debug, PartialEq)]
        pub struct Pending {
            pub keys: Vec<String>,
            pub cleared: bool,
        }
        #[derive(Debug, PartialEq)]
        pub struct SkippedRow {
            pub namespace: String,
            pub key: String,
            pub reason: String,
        }
        #[derive(Debug, PartialEq)]
        pub struct LoadReport {
            pub loaded: u32,
            pub skipped: Vec<SkippedRow>,
        }
        #[derive(Debug, PartialEq)]
        pub struct PersistReport {
            pub written: u32,
            pub deleted: u32,
        }
        #[derive(Debug, PartialEq)]
        pub enum CacheError {
            UnknownNamespace(String),
            InvalidJson(String),
            InvalidConfig(String),
            TooLarge(String),
            InvalidKey(String),
            Storage(super::rows::StorageError),
        }
    }

    mod rows {
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum StorageErrorKind {
            Busy,
            Full,
            ReadOnly,
            Corrupt,
            Constraint,
            Schema,
            Unavailable,
            Conflict,
            Other,
            Pending,
        }
        #[derive(Debug, PartialEq)]
        pub struct StorageError {
            pub kind: StorageErrorKind,
            pub message: String,
        }
    }

    mod bot {
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum SettingsMode {
            Merge,
            Rewrite,
        }
    }

    crate::contract_mirror!(types, rows, bot);

    use crate::{
        CacheError, LoadReport, NamespaceConfig, NamespaceStats, PersistReport, Persistence,
        SettingsMode, SkippedRow, StorageError, StorageErrorKind,
    };

    /// `core` converted to the WIT's copy `W` and back: the copy's `Debug`
    /// names the same cases and fields with the same values.
    fn round_trip<W, C>(core: C)
    where
        C: Clone + std::fmt::Debug + PartialEq + From<W>,
        W: From<C> + std::fmt::Debug,
    {
        let wit = W::from(core.clone());
        assert_eq!(format!("{wit:?}"), format!("{core:?}"));
        assert_eq!(C::from(wit), core);
    }

    #[test]
    fn every_case_maps_to_its_namesake_and_back() {
        for kind in StorageErrorKind::ALL {
            round_trip::<rows::StorageErrorKind, _>(kind);
        }
        for p in [
            Persistence::MemoryOnly,
            Persistence::OnChange,
            Persistence::OnShutdown,
        ] {
            round_trip::<types::Persistence, _>(p);
        }
        for mode in [SettingsMode::Merge, SettingsMode::Rewrite] {
            round_trip::<bot::SettingsMode, _>(mode);
        }
        let storage = StorageError::new(StorageErrorKind::Corrupt, "rows.load: bad cell");
        let text = |s: &str| s.to_owned();
        for e in [
            CacheError::UnknownNamespace(text("a")),
            CacheError::InvalidJson(text("b")),
            CacheError::InvalidConfig(text("c")),
            CacheError::TooLarge(text("d")),
            CacheError::InvalidKey(text("e")),
            CacheError::Storage(storage.clone()),
        ] {
            round_trip::<types::CacheError, _>(e);
        }
    }

    #[test]
    fn every_field_maps_to_its_namesake_and_back() {
        round_trip::<types::NamespaceConfig, _>(NamespaceConfig {
            name: "chats".into(),
            max_entries: 7,
            persistence: Persistence::OnShutdown,
        });
        round_trip::<types::NamespaceStats, _>(NamespaceStats {
            name: "users".into(),
            persistence: Persistence::OnChange,
            size: 1,
            max_entries: 2,
            dirty: 3,
            hits: 4,
            misses: 5,
            evictions: 6,
            expirations: 7,
        });
        round_trip::<types::Pending, _>(crate::Pending {
            keys: vec!["a".into(), "b".into()],
            cleared: true,
        });
        let skipped = |n: &str| SkippedRow {
            namespace: format!("ns{n}"),
            key: format!("key{n}"),
            reason: format!("why{n}"),
        };
        round_trip::<types::LoadReport, _>(LoadReport {
            loaded: 9,
            skipped: vec![skipped("1"), skipped("2")],
        });
        round_trip::<types::PersistReport, _>(PersistReport {
            written: 10,
            deleted: 11,
        });
        round_trip::<rows::StorageError, _>(StorageError::new(StorageErrorKind::Busy, "locked"));
    }
}
