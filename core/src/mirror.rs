//! The WIT's copies of core's enums, converted both ways by one case list.
//!
//! Each bindgen (the guest's, the host's) generates its own `storage-error-kind`
//! and `persistence` enums. These macros write the `From` conversions between
//! them and core's enums, so the case lists live here once; a case added on one
//! side only fails to compile, on every side.

/// `From` both ways between [`StorageErrorKind`](crate::StorageErrorKind) and
/// `$wit`, the WIT's `storage-error-kind` as a bindgen generates it (in scope
/// under that name).
#[macro_export]
macro_rules! storage_error_kind_mirror {
    ($wit:ident) => {
        $crate::__mirror!(StorageErrorKind, $wit: Busy, Full, ReadOnly, Corrupt, Constraint,
            Schema, Unavailable, Conflict, Other, Pending);
    };
}

/// `From` both ways between [`Persistence`](crate::Persistence) and `$wit`, the
/// WIT's `persistence` as a bindgen generates it (in scope under that name).
#[macro_export]
macro_rules! persistence_mirror {
    ($wit:ident) => {
        $crate::__mirror!(Persistence, $wit: MemoryOnly, OnChange, OnShutdown);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __mirror {
    ($core:ident, $wit:ident: $($case:ident),+ $(,)?) => {
        const _: () = {
            use $crate::$core as Core;

            impl From<$wit> for Core {
                fn from(value: $wit) -> Self {
                    match value {
                        $($wit::$case => Core::$case,)+
                    }
                }
            }

            impl From<Core> for $wit {
                fn from(value: Core) -> Self {
                    match value {
                        $(Core::$case => $wit::$case,)+
                    }
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use crate::{Persistence, StorageErrorKind};

    /// A stand-in for a bindgen's copy of the enums.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum WitKind {
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
    crate::storage_error_kind_mirror!(WitKind);

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum WitPersistence {
        MemoryOnly,
        OnChange,
        OnShutdown,
    }
    crate::persistence_mirror!(WitPersistence);

    #[test]
    fn every_case_maps_to_its_namesake_and_back() {
        for kind in StorageErrorKind::ALL {
            let wit = WitKind::from(kind);
            assert_eq!(format!("{wit:?}"), format!("{kind:?}"));
            assert_eq!(StorageErrorKind::from(wit), kind);
        }
        for p in [
            Persistence::MemoryOnly,
            Persistence::OnChange,
            Persistence::OnShutdown,
        ] {
            let wit = WitPersistence::from(p);
            assert_eq!(format!("{wit:?}"), format!("{p:?}"));
            assert_eq!(Persistence::from(wit), p);
        }
    }
}
