//! [`PostgresStorage`]: the cache's storage on a PostgreSQL server, with the
//! schema and queries of `schema/postgres/` (see its README), and what several
//! processes sharing one database need to keep their caches coherent
//! ([`Coherence`], [`Listener`]).
//!
//! One storage holds one connection (the cache calls its storage one call at a
//! time), with its statements prepared once. A lost connection fails the call
//! with [`StorageErrorKind::Unavailable`] and the next call connects again.
//! Every writing call is one transaction; a failed call applied nothing (when
//! the connection is lost during `COMMIT`, the server alone knows whether it
//! committed, and the error says so).

mod coherence;
mod errors;
mod listener;
mod schema;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use cache_core::{
    Batch, BotStorage, SettingsChange, Storage, StorageError, StorageErrorKind, StoredRow,
};
use postgres::{Client, Config, NoTls, Statement};

pub use coherence::{Change, Coherence, DEFAULT_CHANNEL};
pub use errors::{kind_of_sqlstate, Cell};
pub use listener::{Listener, ListenerEvent};
pub use schema::SCHEMA_VERSION;

/// How [`PostgresStorage::open_with`] connects.
#[derive(Clone)]
pub struct PostgresOptions {
    /// How long a statement waits for another transaction's lock before
    /// failing with [`StorageErrorKind::Busy`] (`lock_timeout`). Default 5 s.
    pub lock_timeout: Duration,
    /// Read only: no migration; reads work and every write fails with
    /// [`StorageErrorKind::ReadOnly`]. Default `false`.
    pub read_only: bool,
    /// The channel every write notifies, in its transaction, with what it
    /// changed ([`Change`]); `None` sends nothing. Default [`DEFAULT_CHANNEL`].
    pub channel: Option<String>,
    /// This process's view of the rows it caches, shared with its
    /// [`Listener`]: when set, a batch that would overwrite or delete a row
    /// another process changed since this process saw it fails with
    /// [`StorageErrorKind::Conflict`]. Default `None` (one process).
    pub coherence: Option<Arc<Coherence>>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(5),
            read_only: false,
            channel: Some(DEFAULT_CHANNEL.to_owned()),
            coherence: None,
        }
    }
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("lock_timeout", &self.lock_timeout)
            .field("read_only", &self.read_only)
            .field("channel", &self.channel)
            .field("coherence", &self.coherence.is_some())
            .finish()
    }
}

/// Rows and bytes stored for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRows {
    /// The namespace.
    pub namespace: String,
    /// Number of rows.
    pub rows: u64,
    /// Bytes of keys plus values.
    pub bytes: u64,
}

struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn statement(&self, sql: &'static str) -> Statement {
        // Every statement was prepared at connect (schema::ALL_STATEMENTS).
        self.statements[sql].clone()
    }
}

/// Why a transaction body stopped.
enum Fail {
    Postgres(postgres::Error),
    /// Rows another process changed since this process saw them.
    Stale(Vec<(String, String)>),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Postgres(e)
    }
}

/// The PostgreSQL storage. See the crate documentation.
pub struct PostgresStorage {
    config: Config,
    /// `host:port/database`, for messages (never the password).
    server: String,
    options: PostgresOptions,
    conn: Option<Conn>,
    /// The newest version (`updated_at` in µs) this storage wrote: the next
    /// batch's rows are newer still.
    last_written: i64,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("server", &self.server)
            .field("options", &self.options)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

/// `host:port/database` of a configuration, without credentials.
pub fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("postgres://{host}:{port}/{db}")
}

/// Parses a `postgres://` or `postgresql://` URL (or a `key=value` string).
pub fn parse_url(url: &str) -> Result<Config, StorageError> {
    url.parse::<Config>().map_err(|e| {
        StorageError::new(
            StorageErrorKind::Other,
            format!("invalid PostgreSQL URL (expected postgres://user@host:port/database): {e}"),
        )
    })
}

impl PostgresStorage {
    /// Connects to the database at `url` with default options, creating or
    /// adopting the tables.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        Self::open_with(url, PostgresOptions::default())
    }

    /// Connects to the database at `url` with `options`. Read-write: applies
    /// the missing migrations (nothing is written when there are none).
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<Self, StorageError> {
        let config = parse_url(url)?;
        Self::from_config(config, options)
    }

    /// Like [`PostgresStorage::open_with`] with a parsed configuration.
    pub fn from_config(config: Config, options: PostgresOptions) -> Result<Self, StorageError> {
        let mut storage = PostgresStorage {
            server: describe(&config),
            config,
            options,
            conn: None,
            last_written: 0,
        };
        storage.connect()?;
        tracing::debug!(server = %storage.server, read_only = storage.options.read_only, "opened PostgreSQL storage");
        Ok(storage)
    }

    /// The server and database, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The options it was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// The connection, connecting again if it was lost: for inspection and
    /// maintenance outside the cache's contract (tests use it to simulate
    /// failures). Statements run here are not part of any storage call.
    pub fn client(&mut self) -> Result<&mut Client, StorageError> {
        Ok(&mut self.connection()?.client)
    }

    /// Rows and sizes stored per namespace, sorted by name.
    pub fn stored_namespaces(&mut self) -> Result<Vec<NamespaceRows>, StorageError> {
        self.run(
            || "list the stored namespaces".to_owned(),
            |c| {
                let rows = c.client.query(&c.statement(schema::ROWS_NAMESPACES), &[])?;
                rows.iter()
                    .map(|r| {
                        Ok(NamespaceRows {
                            namespace: r
                                .try_get::<_, Cell>(0)?
                                .text("namespace")
                                .unwrap_or_else(|e| format!("<{e}>")),
                            rows: r.try_get::<_, i64>(1)?.max(0) as u64,
                            bytes: r.try_get::<_, i64>(2)?.max(0) as u64,
                        })
                    })
                    .collect::<Result<Vec<_>, postgres::Error>>()
                    .map_err(Fail::from)
            },
        )
    }

    /// Row counts of `chat_settings` and `user_data`.
    pub fn table_rows(&mut self) -> Result<(u64, u64), StorageError> {
        self.run(
            || "count the rows of the bot tables".to_owned(),
            |c| {
                let row = c.client.query_one(&c.statement(schema::TABLE_ROWS), &[])?;
                Ok((
                    row.try_get::<_, i64>(0)?.max(0) as u64,
                    row.try_get::<_, i64>(1)?.max(0) as u64,
                ))
            },
        )
    }

    fn error(&self, op: &str, e: &postgres::Error) -> StorageError {
        errors::map_error(&self.server, op, e)
    }

    /// Connects and prepares the session; on failure nothing is kept.
    fn connect(&mut self) -> Result<&mut Conn, StorageError> {
        let open =
            |op: &str, e: postgres::Error| errors::map_error(&describe(&self.config), op, &e);
        let mut client = self.config.connect(NoTls).map_err(|e| open("connect", e))?;
        let mut session = format!(
            "SET lock_timeout = {}",
            self.options.lock_timeout.as_millis().max(1)
        );
        if self.options.read_only {
            session.push_str("; SET default_transaction_read_only = on");
        }
        client
            .batch_execute(&session)
            .map_err(|e| open("set up the session", e))?;
        if self.options.read_only {
            let version =
                schema::version(&mut client).map_err(|e| open("read the schema version", e))?;
            if version > SCHEMA_VERSION {
                return Err(self.newer_schema(version));
            }
        } else {
            schema::migrate(&mut client).map_err(|e| match e {
                schema::MigrateError::Postgres(e) => open("migrate the schema", e),
                schema::MigrateError::Newer(v) => self.newer_schema(v),
            })?;
        }
        let mut statements = HashMap::new();
        for sql in schema::ALL_STATEMENTS {
            let statement = client.prepare(sql).map_err(|e| {
                let base = open("check the tables", e);
                StorageError::new(
                    if base.kind == StorageErrorKind::Unavailable { base.kind } else { StorageErrorKind::Schema },
                    format!(
                        "{}; the tables of {} do not have the columns the cache needs (schema/postgres/migrations)",
                        base.message, self.server
                    ),
                )
            })?;
            statements.insert(sql, statement);
        }
        if let Some(coherence) = &self.options.coherence {
            let pid: i32 = client
                .query_one("SELECT pg_backend_pid()", &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| open("read the backend pid", e))?;
            coherence.own_pid(pid);
        }
        Ok(self.conn.insert(Conn { client, statements }))
    }

    fn connection(&mut self) -> Result<&mut Conn, StorageError> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            tracing::info!(server = %self.server, "connecting to PostgreSQL");
            return self.connect();
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StorageError::new(StorageErrorKind::Other, "no connection"))
    }

    fn newer_schema(&self, version: i64) -> StorageError {
        StorageError::new(
            StorageErrorKind::Schema,
            format!(
                "{} has cache schema version {version}, newer than the {SCHEMA_VERSION} this host understands; \
                 use a newer gromozeka-cache",
                self.server
            ),
        )
    }

    /// Runs `f` on the connection; a lost connection is dropped so that the
    /// next call connects again.
    fn run<T>(
        &mut self,
        op: impl FnOnce() -> String,
        f: impl FnOnce(&mut Conn) -> Result<T, Fail>,
    ) -> Result<T, StorageError> {
        let conn = self.connection()?;
        match f(conn) {
            Ok(v) => Ok(v),
            Err(Fail::Postgres(e)) => {
                if errors::is_connection_lost(&e) {
                    self.conn = None;
                }
                Err(self.error(&op(), &e))
            }
            Err(Fail::Stale(rows)) => {
                let names: Vec<String> = rows
                    .iter()
                    .take(5)
                    .map(|(ns, k)| format!("{ns:?}/{k:?}"))
                    .collect();
                let message = format!(
                    "cannot {} on {}: another process changed {} row(s) since this process read them ({}{}); \
                     the stale cached copies are dropped, retry",
                    op(),
                    self.server,
                    rows.len(),
                    names.join(", "),
                    if rows.len() > 5 { ", ..." } else { "" }
                );
                if let Some(coherence) = &self.options.coherence {
                    coherence.conflicted(rows);
                }
                Err(StorageError::new(StorageErrorKind::Conflict, message))
            }
        }
    }
}

/// The last occurrence of each key, in the order of those last occurrences:
/// applying them at once equals applying all in order.
fn last_of_each<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> (&'a str, &'a str)) -> Vec<&'a T> {
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
        let mut changes: Vec<Change> = batch
            .clear
            .iter()
            .map(|ns| Change::Namespace((*ns).to_owned()))
            .collect();
        changes.extend(
            batch
                .delete
                .iter()
                .map(|k| (k.namespace, k.key))
                .chain(upserts.iter().map(|r| (r.namespace, r.key)))
                .filter(|(ns, _)| !cleared.contains(ns))
                .map(|(ns, key)| Change::Row {
                    namespace: ns.to_owned(),
                    key: key.to_owned(),
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
        let notify_statement = self.connection()?.statement(schema::NOTIFY);
        let channel = self.options.channel.clone();
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
                        stale.push((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?));
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
                let payloads: Vec<String> = changes.iter().map(Change::payload).collect();
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

/// Pairs read from a bot table, with a corrupt cell as an error naming it.
fn text_pairs(
    rows: &[postgres::Row],
    what: &dyn Fn() -> String,
) -> Result<Result<Vec<(String, String)>, String>, postgres::Error> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let key = r.try_get::<_, Cell>(0)?.text("the key");
        let value = r.try_get::<_, Cell>(1)?.text("the value");
        match (key, value) {
            (Ok(k), Ok(v)) => out.push((k, v)),
            (Ok(k), Err(reason)) => return Ok(Err(format!("{} {k:?}: {reason}", what()))),
            (Err(reason), _) => return Ok(Err(format!("{}: {reason}", what()))),
        }
    }
    Ok(Ok(out))
}

impl BotStorage for PostgresStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        let what = || format!("setting of chat {chat_id}");
        let pairs = self.run(
            || format!("read the settings of chat {chat_id}"),
            |c| {
                let rows = c
                    .client
                    .query(&c.statement(schema::SETTINGS_GET), &[&chat_id])?;
                Ok(text_pairs(&rows, &what)?)
            },
        )?;
        pairs.map_err(|reason| {
            StorageError::new(
                StorageErrorKind::Corrupt,
                format!("{reason} on {}; rewrite or delete it", self.server),
            )
        })
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        let notify = self.connection()?.statement(schema::NOTIFY);
        let channel = self.options.channel.clone();
        self.run(
            || format!("write the settings of chat {chat_id}"),
            |c| {
                let mut tx = c.client.transaction()?;
                let pairs = match change {
                    SettingsChange::Unset(key) => {
                        tx.execute(&c.statements[schema::SETTINGS_DELETE], &[&chat_id, key])?;
                        None
                    }
                    SettingsChange::Merge(pairs) => Some(pairs),
                    SettingsChange::Rewrite(pairs) => {
                        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                        tx.execute(
                            &c.statements[schema::SETTINGS_DELETE_OTHERS],
                            &[&chat_id, &keys],
                        )?;
                        Some(pairs)
                    }
                };
                if let Some(pairs) = pairs {
                    let pairs = last_of_each(pairs, |(k, _)| ("", k.as_str()));
                    if !pairs.is_empty() {
                        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                        let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
                        tx.execute(
                            &c.statements[schema::SETTINGS_UPSERT],
                            &[&chat_id, &keys, &values],
                        )?;
                    }
                }
                if let Some(channel) = &channel {
                    tx.execute(
                        &notify,
                        &[channel, &vec![Change::ChatSettings(chat_id).payload()]],
                    )?;
                }
                tx.commit()?;
                Ok(())
            },
        )
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let what = || format!("data of user {user_id} in chat {chat_id}");
        let pairs = self.run(
            || format!("read the data of user {user_id} in chat {chat_id}"),
            |c| {
                let rows = c
                    .client
                    .query(&c.statement(schema::USER_DATA_GET), &[&chat_id, &user_id])?;
                Ok(text_pairs(&rows, &what)?)
            },
        )?;
        pairs.map_err(|reason| {
            StorageError::new(
                StorageErrorKind::Corrupt,
                format!("{reason} on {}; rewrite or delete it", self.server),
            )
        })
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        let notify = self.connection()?.statement(schema::NOTIFY);
        let channel = self.options.channel.clone();
        self.run(
            || format!("write data {key:?} of user {user_id} in chat {chat_id}"),
            |c| {
                let mut tx = c.client.transaction()?;
                tx.execute(
                    &c.statements[schema::USER_DATA_UPSERT],
                    &[&chat_id, &user_id, &key, &value],
                )?;
                if let Some(channel) = &channel {
                    tx.execute(
                        &notify,
                        &[
                            channel,
                            &vec![Change::UserData { chat_id, user_id }.payload()],
                        ],
                    )?;
                }
                tx.commit()?;
                Ok(())
            },
        )
    }
}
