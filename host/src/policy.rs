//! [`Policy`]: the namespace table, from an optional TOML file.
//!
//! ```toml
//! [[namespace]]
//! name = "chats"
//! max_entries = 1000
//! persistence = "on-shutdown"   # or "on-change", "memory-only"
//! ```
//!
//! Without a file, [`Policy::default`] is the seed's table: `chats` on-shutdown,
//! `chatUsers` on-change, `users` memory-only, 1000 entries each.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::{Error, NamespaceConfig, Persistence};

/// The namespace table given to the component's `configure` on every (re)start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    namespaces: Vec<NamespaceConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(rename = "namespace", default)]
    namespaces: Vec<NamespaceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceEntry {
    name: String,
    #[serde(alias = "max-entries")]
    max_entries: u32,
    persistence: PersistenceName,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum PersistenceName {
    MemoryOnly,
    OnChange,
    OnShutdown,
}

impl Default for Policy {
    /// The seed's table: `chats` on-shutdown, `chatUsers` on-change, `users`
    /// memory-only, 1000 entries each.
    fn default() -> Self {
        let ns = |name: &str, persistence| NamespaceConfig {
            name: name.to_string(),
            max_entries: 1000,
            persistence,
        };
        Self {
            namespaces: vec![
                ns("chats", Persistence::OnShutdown),
                ns("chatUsers", Persistence::OnChange),
                ns("users", Persistence::MemoryOnly),
            ],
        }
    }
}

impl Policy {
    /// A policy of the given namespaces, checked: at least one, names non-empty (at
    /// most 1024 bytes) and unique, `max_entries` at least 1.
    pub fn new(namespaces: Vec<NamespaceConfig>) -> Result<Self, String> {
        if namespaces.is_empty() {
            return Err("no namespace is defined; add at least one [[namespace]]".into());
        }
        let mut seen = HashSet::new();
        for ns in &namespaces {
            if ns.name.is_empty() || ns.name.len() > 1024 {
                return Err(format!(
                    "namespace name {:?} must be 1 to 1024 bytes long",
                    ns.name
                ));
            }
            if !seen.insert(ns.name.as_str()) {
                return Err(format!("namespace {:?} is defined twice", ns.name));
            }
            if ns.max_entries == 0 {
                return Err(format!(
                    "namespace {:?} has max_entries = 0; it must be at least 1",
                    ns.name
                ));
            }
        }
        Ok(Self { namespaces })
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
                persistence: match n.persistence {
                    PersistenceName::MemoryOnly => Persistence::MemoryOnly,
                    PersistenceName::OnChange => Persistence::OnChange,
                    PersistenceName::OnShutdown => Persistence::OnShutdown,
                },
            })
            .collect();
        Self::new(namespaces)
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
            ("", "no namespace"),
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
