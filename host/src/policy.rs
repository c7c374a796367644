//! [`Policy`]: the namespace table, from an optional TOML file.
//!
//! ```toml
//! [[namespace]]
//! name = "chats"
//! max_entries = 1000
//! persistence = "on-shutdown"   # or "on-change", "memory-only"
//!
//! [write_back]          # optional; these are the defaults (see WriteBack)
//! max_age_secs = 5      # write back on-shutdown changes this old; 0 = never by age
//! max_pending = 256     # ... or once this many are pending; 0 = never by count
//! ```
//!
//! Without a file, [`Policy::default`] is the seed's table: `chats` on-shutdown,
//! `chatUsers` on-change, `users` memory-only, 1000 entries each.

use std::path::Path;

use serde::Deserialize;

use crate::service::WriteBack;
use crate::{Error, NamespaceConfig, Persistence};

/// The namespace table given to the component's `configure` on every (re)start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    namespaces: Vec<NamespaceConfig>,
    write_back: WriteBack,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(rename = "namespace", default)]
    namespaces: Vec<NamespaceEntry>,
    write_back: Option<WriteBackEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBackEntry {
    max_age_secs: Option<f64>,
    max_pending: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceEntry {
    name: String,
    #[serde(alias = "max-entries")]
    max_entries: u32,
    #[serde(deserialize_with = "deserialize_persistence")]
    persistence: Persistence,
}

/// A persistence policy by its kebab-case name ([`Persistence::from_name`]).
fn deserialize_persistence<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Persistence, D::Error> {
    let name = String::deserialize(d)?;
    Persistence::from_name(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown persistence {name:?}; expected \"memory-only\", \"on-change\" or \"on-shutdown\""
        ))
    })
}

impl Default for Policy {
    /// The seed's table ([`cache_core::config::default_table`]).
    fn default() -> Self {
        Self {
            namespaces: cache_core::config::default_table(),
            write_back: WriteBack::default(),
        }
    }
}

impl Policy {
    /// A policy of the given namespaces, checked by the same rules as the
    /// component's `configure` ([`cache_core::config::validate_table`]).
    pub fn new(namespaces: Vec<NamespaceConfig>) -> Result<Self, String> {
        cache_core::config::validate_table(&namespaces).map_err(|e| match e {
            cache_core::CacheError::InvalidConfig(why) => why,
            other => other.to_string(),
        })?;
        Ok(Self {
            namespaces,
            write_back: WriteBack::default(),
        })
    }

    /// Parses a policy from TOML text (see the module docs for the format).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        let namespaces = file
            .namespaces
            .into_iter()
            .map(|n| NamespaceConfig {
                name: n.name,
                max_entries: n.max_entries,
                persistence: n.persistence,
            })
            .collect();
        let policy = Self::new(namespaces)?;
        let Some(entry) = file.write_back else {
            return Ok(policy);
        };
        let default = WriteBack::default();
        let age = match entry.max_age_secs {
            Some(secs) => WriteBack::age_from_secs(secs)?,
            None => default.max_age,
        };
        let pending = match entry.max_pending {
            Some(n) => WriteBack::pending_from_count(n),
            None => default.max_pending,
        };
        Ok(policy.with_write_back(WriteBack {
            max_age: age,
            max_pending: pending,
        }))
    }

    /// Reads and parses a policy file; errors name the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let policy_error = |message: String| Error::Policy {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| policy_error(e.to_string()))?;
        Self::from_toml(&text).map_err(policy_error)
    }

    /// The namespaces, in configuration order.
    pub fn namespaces(&self) -> &[NamespaceConfig] {
        &self.namespaces
    }

    /// When pending on-shutdown changes are written back.
    pub fn write_back(&self) -> WriteBack {
        self.write_back
    }

    /// This policy with another write-back schedule.
    pub fn with_write_back(mut self, write_back: WriteBack) -> Self {
        self.write_back = write_back;
        self
    }

    /// The configuration of one namespace, if it is defined.
    pub fn namespace(&self, name: &str) -> Option<&NamespaceConfig> {
        self.namespaces.iter().find(|n| n.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_policy_file() {
        let p = Policy::from_toml(
            r#"
            [[namespace]]
            name = "chats"
            max_entries = 10
            persistence = "on-shutdown"
            [[namespace]]
            name = "users"
            max-entries = 5
            persistence = "memory-only"
            "#,
        )
        .unwrap();
        assert_eq!(p.namespaces().len(), 2);
        assert_eq!(p.namespace("users").unwrap().max_entries, 5);
        assert_eq!(
            p.namespace("chats").unwrap().persistence,
            Persistence::OnShutdown
        );
    }

    #[test]
    fn rejects_bad_policies_with_a_reason() {
        let bad = [
            ("", "at least one namespace"),
            (
                "[[namespace]]\nname = \"a\"\nmax_entries = 0\npersistence = \"on-change\"",
                "at least 1",
            ),
            (
                "[[namespace]]\nname = \"a\"\nmax_entries = 1\npersistence = \"sometimes\"",
                "sometimes",
            ),
            (
                "[[namespace]]\nname = \"a\"\nmax_entries = 1\npersistence = \"on-change\"\n\
                 [[namespace]]\nname = \"a\"\nmax_entries = 1\npersistence = \"on-change\"",
                "twice",
            ),
            (
                "[[namespace]]\nname = \"a\"\nmax_entries = 1\npersistence = \"on-change\"\ncolour = 1",
                "colour",
            ),
        ];
        for (text, reason) in bad {
            let err = Policy::from_toml(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }

    #[test]
    fn reads_the_write_back_section() {
        let table = "[[namespace]]\nname = \"a\"\nmax_entries = 1\npersistence = \"on-shutdown\"\n";
        let p = Policy::from_toml(table).unwrap();
        assert_eq!(p.write_back(), WriteBack::default());
        let p = Policy::from_toml(&format!("{table}[write_back]\nmax_age_secs = 0.5\n")).unwrap();
        assert_eq!(
            p.write_back().max_age,
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(
            p.write_back().max_pending,
            Some(WriteBack::DEFAULT_MAX_PENDING)
        );
        let p = Policy::from_toml(&format!(
            "{table}[write_back]\nmax_age_secs = 0\nmax_pending = 0\n"
        ))
        .unwrap();
        assert_eq!(p.write_back(), WriteBack::NEVER);
        for bad in [
            "max_age_secs = -1",
            "max_age_secs = nan",
            "max_age_secs = 1e30",
            "every = 3",
        ] {
            let err = Policy::from_toml(&format!("{table}[write_back]\n{bad}\n")).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn default_is_the_seed_table() {
        let p = Policy::default();
        let names: Vec<_> = p.namespaces().iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["chats", "chatUsers", "users"]);
        assert_eq!(
            p.namespace("chatUsers").unwrap().persistence,
            Persistence::OnChange
        );
    }
}
