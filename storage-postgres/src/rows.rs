//! The generic row store ([`Storage`]) on PostgreSQL: load, get, and the
//! atomic batch with its stale-row check and its notifications.

use std::collections::HashSet;

use cache_core::{Batch, Storage, StorageError, StorageErrorKind, StoredRow};

use crate::{coherence, schema, Cell, Fail, PostgresStorage, RemoteChange};

/// The last occurrence of each key, in the order of those last occurrences:
/// applying them at once equals applying all in order.
pub(crate) fn last_of_each<'a, T>(
    items: &'a [T],
    key: impl Fn(&'a T) -> (&'a str, &'a str),
) -> Vec<&'a T> {
    let mut seen = HashSet::new();
    let mut out: Vec<&'a T> = items.iter().rev().filter(|i| seen.insert(key(i))).collect();
    out.reverse();
    out
}

impl Storage for PostgresStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        let coherence = self.options.coherence.clone();
        self.run(
            || format!("load namespace {namespace:?}"),
            |c| {
                let rows = c.client.query(
                    &c.statement(schema::ROWS_LOAD),
                    &[&namespace, &i64::from(limit)],
                )?;
                let mut out = Vec::with_capacity(rows.len());
                let mut versions = Vec::new();
                for r in rows.iter().rev() {
                    let key = r.try_get::<_, Cell>(0)?;
                    let value = r.try_get::<_, Cell>(1)?.text("the value");
                    let version: Option<i64> = r.try_get(2)?;
                    match key.0 {
                        Ok(key) => {
                            if let Some(v) = version {
                                versions.push((key.clone(), v));
                            }
                            out.push(StoredRow { key, value });
                        }
                        Err(reason) => out.push(StoredRow {
                            key: format!("<a key that {reason}>"),
                            value: Err(format!("the key {reason}")),
                        }),
                    }
                }
                if let Some(coherence) = coherence {
                    coherence.saw_many(versions.iter().map(|(k, v)| (namespace, k.as_str(), *v)));
                }
                Ok(out)
            },
        )
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        let coherence = self.options.coherence.clone();
        let found = self.run(
            || format!("read {namespace:?}/{key:?}"),
            |c| {
                let row = c
                    .client
                    .query_opt(&c.statement(schema::ROWS_GET), &[&namespace, &key])?;
                let Some(row) = row else {
                    // Seen absent: a row another process inserts since is newer.
                    if let Some(coherence) = &coherence {
                        coherence.saw(namespace, key, 0);
                    }
                    return Ok(None);
                };
                let value = row.try_get::<_, Cell>(0)?.text("the value");
                let version: Option<i64> = row.try_get(1)?;
                if let (Some(coherence), Some(v)) = (coherence, version) {
                    coherence.saw(namespace, key, v);
                }
                Ok(Some(value))
            },
        )?;
        match found {
            None => Ok(None),
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(reason)) => Err(StorageError::new(
                StorageErrorKind::Corrupt,
                format!(
                    "row {namespace:?}/{key:?} on {}: {reason}; delete or rewrite the row",
                    self.server
                ),
            )),
        }
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.writable(|| "write a batch".to_owned())?;
        let cleared: HashSet<&str> = batch.clear.iter().copied().collect();
        let upserts = last_of_each(&batch.upsert, |r| (r.namespace, r.key));
        let coherence = self.options.coherence.clone();
        // Every row this batch overwrites or deletes (outside the namespaces it
        // clears), with the version this process saw it at, if it did: the rows
        // are locked for the transaction (advisory locks serialize writers of a
        // key, even of one not yet stored), and a seen row changed since fails
        // the batch.
        let checks: Vec<(&str, &str, Option<i64>)> = match &coherence {
            None => Vec::new(),
            Some(coh) => batch
                .delete
                .iter()
                .map(|k| (k.namespace, k.key))
                .chain(upserts.iter().map(|r| (r.namespace, r.key)))
                .filter(|(ns, _)| !cleared.contains(ns))
                .map(|(ns, key)| (ns, key, coh.seen(ns, key)))
                .collect(),
        };
        // What the other processes are told, in this transaction: the cleared
        // namespaces, the deleted rows (version 0: absent), and each upserted row
        // with the version it is written at (known once the upsert ran).
        let mut changes: Vec<RemoteChange> = batch
            .clear
            .iter()
            .map(|ns| RemoteChange::Namespace((*ns).to_owned()))
            .collect();
        changes.extend(
            batch
                .delete
                .iter()
                .filter(|k| !cleared.contains(k.namespace))
                .map(|k| RemoteChange::Row {
                    namespace: k.namespace.to_owned(),
                    key: k.key.to_owned(),
                    version: Some(0),
                }),
        );
        let floor = self.last_written;
        let op = || {
            format!(
                "write a batch ({} clear, {} delete, {} upsert)",
                batch.clear.len(),
                batch.delete.len(),
                batch.upsert.len()
            )
        };
        let (notify_statement, channel) = {
            let c = self.connection()?;
            (c.statement(schema::NOTIFY), c.channel.clone())
        };
        let now = self.run(op, |c| {
            let mut tx = c.client.transaction()?;
            if !checks.is_empty() {
                let (ns, keys, seen): (Vec<&str>, Vec<&str>, Vec<Option<i64>>) = unzip3(&checks);
                // The key locks first: the check below then runs in a snapshot
                // taken after every earlier writer of these keys committed.
                tx.execute(&c.statements[schema::ROWS_KEY_LOCK], &[&ns, &keys])?;
                let locked = tx.query(&c.statements[schema::ROWS_LOCK], &[&ns, &keys, &seen])?;
                let mut stale = Vec::new();
                for r in &locked {
                    if r.try_get::<_, Option<bool>>(2)?.unwrap_or(false) {
                        stale.push((
                            r.try_get::<_, String>(0)?,
                            r.try_get::<_, String>(1)?,
                            r.try_get::<_, i64>(3)?,
                        ));
                    }
                }
                // A row deleted (or its namespace cleared) since it was seen is
                // stale too: writing it back would bring it back.
                let removed =
                    tx.query(&c.statements[schema::ROWS_REMOVED], &[&ns, &keys, &seen])?;
                for r in &removed {
                    let row = (r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?);
                    if !stale
                        .iter()
                        .any(|(ns, key, _)| (ns, key) == (&row.0, &row.1))
                    {
                        stale.push((row.0, row.1, r.try_get::<_, i64>(2)?));
                    }
                }
                if !stale.is_empty() {
                    return Err(Fail::Stale(stale));
                }
            }
            if !batch.clear.is_empty() {
                tx.execute(&c.statements[schema::ROWS_CLEAR], &[&batch.clear])?;
            }
            if !batch.delete.is_empty() {
                let ns: Vec<&str> = batch.delete.iter().map(|k| k.namespace).collect();
                let keys: Vec<&str> = batch.delete.iter().map(|k| k.key).collect();
                tx.execute(&c.statements[schema::ROWS_DELETE], &[&ns, &keys])?;
            }
            let mut now = floor;
            if !upserts.is_empty() {
                let ns: Vec<&str> = upserts.iter().map(|r| r.namespace).collect();
                let keys: Vec<&str> = upserts.iter().map(|r| r.key).collect();
                let values: Vec<&str> = upserts.iter().map(|r| &*r.value).collect();
                now = tx
                    .query_one(
                        &c.statements[schema::ROWS_UPSERT],
                        &[&ns, &keys, &values, &floor],
                    )?
                    .try_get(0)?;
            }
            if let Some(channel) = &channel {
                let upserted = upserts
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !cleared.contains(r.namespace))
                    .map(|(i, r)| RemoteChange::Row {
                        namespace: r.namespace.to_owned(),
                        key: r.key.to_owned(),
                        version: Some(now.saturating_add(i as i64 + 1)),
                    });
                let payloads: Vec<String> = changes
                    .iter()
                    .cloned()
                    .chain(upserted)
                    .map(|c| coherence::payload(&c))
                    .collect();
                tx.execute(&notify_statement, &[channel, &payloads])?;
            }
            tx.commit()?;
            Ok(now)
        })?;
        self.last_written = now.saturating_add(upserts.len() as i64);
        if let Some(coherence) = coherence {
            for ns in &batch.clear {
                coherence.unsee_namespace(ns);
            }
            for k in &batch.delete {
                coherence.unsee(k.namespace, k.key);
            }
            coherence.saw_many(
                upserts
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.namespace, r.key, now.saturating_add(i as i64 + 1))),
            );
        }
        Ok(())
    }
}

#[allow(clippy::type_complexity)]
fn unzip3<'a>(
    items: &[(&'a str, &'a str, Option<i64>)],
) -> (Vec<&'a str>, Vec<&'a str>, Vec<Option<i64>>) {
    let mut a = Vec::with_capacity(items.len());
    let mut b = Vec::with_capacity(items.len());
    let mut c = Vec::with_capacity(items.len());
    for (x, y, z) in items {
        a.push(*x);
        b.push(*y);
        c.push(*z);
    }
    (a, b, c)
}
