//! `export` and `import`: the stored rows of every namespace as JSON Lines, for
//! backups and for moving data between files and hosts.
//!
//! One line per row: `{"namespace":"chats","key":"-100","value":"{\"lang\":\"en\"}"}`.
//! `value` is the stored JSON text as a JSON string, so it round-trips byte for byte
//! (numbers keep every digit, key order and spacing are kept). The bot's own tables
//! (chat settings, user data) are not rows of the cache: they are backed up with the
//! bot's database.
//!
//! `import` is atomic and validated like `set`: every line is parsed first, then every
//! entry goes through the component's own `set` in a session where the imported
//! namespaces are on-shutdown with room for all of them, so nothing reaches storage
//! until the end, where one `persist-all` writes all of it in one storage batch (one
//! transaction). Any refused line stops the import with its line number, and nothing
//! is stored.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use cache_host::{Inspect, NamespaceConfig, Persistence, Policy, Storage};
use serde::{Deserialize, Serialize};

use crate::exit::{self, Failure};
use crate::out::{self, outln};
use crate::Cli;

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    namespace: String,
    key: String,
    /// The JSON text of the value.
    value: String,
}

/// Writes every stored row of every namespace to stdout, namespaces in name order,
/// rows oldest first. Opens the database read-only. Rows whose value cannot be read
/// as text are reported on stderr and make the exit code [`exit::FAILED`] (the export
/// is incomplete); the others are still written.
pub fn export(db: &Path) -> Result<u8, Failure> {
    let storage_error = |e| Failure::from(cache_host::Error::OpenStorage(e));
    let mut storage = crate::open_storage_read_only(db)?;
    let mut namespaces = storage.stored_namespaces().map_err(storage_error)?;
    namespaces.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    let (mut rows_written, mut unreadable) = (0u64, 0u64);
    for usage in namespaces {
        let limit = u32::try_from(usage.rows).unwrap_or(u32::MAX);
        for row in storage
            .load(&usage.namespace, limit)
            .map_err(storage_error)?
        {
            let value = match row.value {
                Ok(value) => value,
                Err(reason) => {
                    eprintln!(
                        "cache-host: {}/{}: not exported: {}",
                        out::shown(&usage.namespace),
                        out::shown(&row.key),
                        out::shown(&reason)
                    );
                    unreadable += 1;
                    continue;
                }
            };
            let line = Line {
                namespace: usage.namespace.clone(),
                key: row.key,
                value,
            };
            let text = serde_json::to_string(&line)
                .map_err(|e| Failure::failed(format!("cannot encode a row as JSON: {e}")))?;
            outln!("{text}");
            rows_written += 1;
        }
    }
    tracing::info!(rows = rows_written, unreadable, "exported");
    if unreadable > 0 {
        return Err(Failure::failed(format!(
            "export incomplete: {unreadable} row(s) could not be read as text (listed above)"
        )));
    }
    Ok(exit::OK)
}

/// Reads JSON Lines from `source` (`-` for stdin, else a file) and stores every entry
/// in one batch, or nothing (see the module docs).
pub fn import(cli: &Cli, source: &str) -> Result<u8, Failure> {
    let text = read_source(source)?;
    let mut by_namespace: BTreeMap<String, Vec<(usize, Line)>> = BTreeMap::new();
    let mut entries = 0usize;
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw).map_err(|e| {
            Failure::usage(format!(
                "{source}: line {}: not an export line ({{\"namespace\",\"key\",\"value\"}} \
                 with string values): {e}; nothing was imported",
                index + 1
            ))
        })?;
        by_namespace
            .entry(line.namespace.clone())
            .or_default()
            .push((index + 1, line));
        entries += 1;
    }

    // The session's table: the policy's, with every imported namespace on-shutdown
    // and large enough to hold all its lines (so nothing is written before the end).
    let base = match &cli.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    let mut table: Vec<NamespaceConfig> = base.namespaces().to_vec();
    for (name, lines) in &by_namespace {
        let Some(config) = table.iter_mut().find(|n| &n.name == name) else {
            let (line, _) = &lines[0];
            return Err(Failure::usage(format!(
                "{source}: line {line}: unknown namespace {name:?} (not in the namespace policy); \
                 nothing was imported"
            )));
        };
        if config.persistence == Persistence::MemoryOnly {
            let (line, _) = &lines[0];
            return Err(Failure::usage(format!(
                "{source}: line {line}: namespace {name:?} is memory-only, so it cannot be \
                 imported into storage; nothing was imported"
            )));
        }
        config.persistence = Persistence::OnShutdown;
        let needed = u32::try_from(lines.len()).unwrap_or(u32::MAX);
        config.max_entries = config.max_entries.max(needed);
    }
    let session = Policy::new(table).map_err(Failure::usage)?;

    let builder = crate::builder(cli)?.policy(session).load_on_start(false);
    let cache = crate::open_db(builder, cli, &crate::read_write(cli))?;
    for (name, lines) in &by_namespace {
        for (line_no, line) in lines {
            if let Err(e) = cache.set(name, &line.key, &line.value) {
                let failure = Failure::from(e);
                // Exits without the service's drop, which would persist what was set.
                crate::exit_without_storing(Failure {
                    code: failure.code,
                    message: format!("{source}: line {line_no}: {}", failure.message),
                });
            }
        }
    }
    // One persist-all: every imported entry in one storage batch.
    crate::close_or_exit(cache);
    outln!(
        "imported {entries} entries into {} namespace(s)",
        by_namespace.len()
    );
    Ok(exit::OK)
}

fn read_source(source: &str) -> Result<String, Failure> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        Ok(text)
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::usage(format!("cannot read {source}: {e}")))
    }
}
