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

mod bot;
mod coherence;
mod connect;
mod errors;
mod listener;
mod rows;
mod schema;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cache_core::{
    ChangeFeed, FeedEvent, Inspect, NamespaceUsage, RemoteChange, SharedStorage, StorageError,
    StorageErrorKind,
};
use postgres::{Client, Config, Statement};

pub use coherence::{scoped_channel, Coherence, DEFAULT_CHANNEL};
pub use connect::DEFAULT_CONNECT_TIMEOUT;
pub use errors::{kind_of_sqlstate, Cell};
pub use listener::Listener;
pub use schema::SCHEMA_VERSION;

/// How [`PostgresStorage::open_with`] connects.
#[derive(Clone)]
pub struct PostgresOptions {
    /// How long a statement waits for another transaction's lock before
    /// failing with [`StorageErrorKind::Busy`] (`lock_timeout`). Default 5 s.
    pub lock_timeout: Duration,
    /// How long one statement may run before the server cancels it, failing the
    /// call with [`StorageErrorKind::Busy`] (`statement_timeout`; the migration at
    /// open is not bounded). Default 30 s.
    pub statement_timeout: Duration,
    /// How long connecting (TCP and the startup exchange) may take before failing
    /// with [`StorageErrorKind::Unavailable`], unless the URL sets
    /// `connect_timeout`. Default [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// Read only: no migration; reads work and every write fails with
    /// [`StorageErrorKind::ReadOnly`]. Default `false`.
    pub read_only: bool,
    /// The channel every write notifies, in its transaction, with what it
    /// changed ([`RemoteChange`]), scoped to the schema of the tables
    /// ([`scoped_channel`]); `None` sends nothing. Default [`DEFAULT_CHANNEL`].
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
            statement_timeout: Duration::from_secs(30),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
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
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_only", &self.read_only)
            .field("channel", &self.channel)
            .field("coherence", &self.coherence.is_some())
            .finish()
    }
}

struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The channel writes notify: the option's, scoped to this connection's schema.
    channel: Option<String>,
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
    /// Rows another process changed since this process saw them, with their
    /// stored versions.
    Stale(Vec<(String, String, i64)>),
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
    connector: connect::Connector,
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
    pub fn from_config(mut config: Config, options: PostgresOptions) -> Result<Self, StorageError> {
        // One limit for every connect (the storage's and its listener's), and for the
        // driver's TCP connect too.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let mut storage = PostgresStorage {
            server: describe(&config),
            config,
            options,
            conn: None,
            connector: connect::Connector::default(),
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

    /// This process's view of the rows it caches, if the storage was opened
    /// with one ([`PostgresOptions::coherence`]).
    pub fn coherence(&self) -> Option<&Arc<Coherence>> {
        self.options.coherence.as_ref()
    }

    /// Starts a [`Listener`] on this storage's server and channel, sharing its
    /// [`Coherence`]: every change another process commits from now on reaches
    /// `on_event`. `None` if the storage sends no notifications or keeps no
    /// [`Coherence`] (then it has nothing to listen for).
    pub fn listen(
        &self,
        on_event: impl FnMut(FeedEvent) + Send + 'static,
    ) -> Result<Option<Listener>, StorageError> {
        let (Some(channel), Some(coherence)) = (&self.options.channel, &self.options.coherence)
        else {
            return Ok(None);
        };
        Listener::spawn(self.config.clone(), channel, coherence.clone(), on_event).map(Some)
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

    /// Refuses a write on a read-only storage before any statement runs.
    fn writable(&self, op: impl FnOnce() -> String) -> Result<(), StorageError> {
        if self.options.read_only {
            return Err(StorageError::new(
                StorageErrorKind::ReadOnly,
                format!("{}: {} is open read-only", op(), self.server),
            ));
        }
        Ok(())
    }

    fn error(&self, op: &str, e: &postgres::Error) -> StorageError {
        errors::map_error(&self.server, op, e)
    }

    /// Connects and prepares the session; on failure nothing is kept.
    fn connect(&mut self) -> Result<&mut Conn, StorageError> {
        let open =
            |op: &str, e: postgres::Error| errors::map_error(&describe(&self.config), op, &e);
        let limit = connect::limit(&self.config);
        let mut client = self.connector.connect(&self.config, limit, "connect")?;
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
            // Housekeeping only: the open does not depend on it.
            if let Err(e) = client.batch_execute(schema::TOMBSTONES_PURGE) {
                tracing::warn!(server = %self.server, error = %e, "cannot purge week-old tombstones");
            }
        }
        let mut statements = HashMap::new();
        for sql in schema::ALL_STATEMENTS {
            if self.options.read_only && schema::WRITE_STATEMENTS.contains(&sql) {
                continue;
            }
            let statement = client.prepare(sql).map_err(|e| {
                let base = open("check the tables", e);
                // A table another transaction holds (lock_timeout) or a lost
                // server says nothing about the columns.
                if matches!(base.kind, StorageErrorKind::Unavailable | StorageErrorKind::Busy) {
                    return base;
                }
                StorageError::new(
                    StorageErrorKind::Schema,
                    format!(
                        "{}; the tables of {} do not have the columns the cache needs (schema/postgres/migrations)",
                        base.message, self.server
                    ),
                )
            })?;
            statements.insert(sql, statement);
        }
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                self.options.statement_timeout.as_millis().max(1)
            ))
            .map_err(|e| open("set statement_timeout", e))?;
        if let Some(coherence) = &self.options.coherence {
            let pid: i32 = client
                .query_one("SELECT pg_backend_pid()", &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| open("read the backend pid", e))?;
            coherence.own_pid(pid);
        }
        let channel = match &self.options.channel {
            Some(base) => {
                let schema = coherence::current_schema(&mut client)
                    .map_err(|e| open("read the current schema", e))?;
                Some(scoped_channel(base, &schema))
            }
            None => None,
        };
        Ok(self.conn.insert(Conn {
            client,
            statements,
            channel,
        }))
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
                    .map(|(ns, k, _)| format!("{ns:?}/{k:?}"))
                    .collect();
                let message = format!(
                    "cannot {} on {}: another process changed or deleted {} row(s) since this process read them ({}{}); \
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

/// Rows and sizes per namespace, sorted by name; with a [`Coherence`] in its
/// options, a storage several processes share.
impl Inspect for PostgresStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        self.run(
            || "list the stored namespaces".to_owned(),
            |c| {
                let rows = c.client.query(&c.statement(schema::ROWS_NAMESPACES), &[])?;
                rows.iter()
                    .map(|r| {
                        Ok(NamespaceUsage {
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

    fn shared(&mut self) -> Option<&mut dyn SharedStorage> {
        if self.options.coherence.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

/// The [`Listener`] is the change feed; the [`Coherence`] it shares with this
/// storage refuses stale writes and names them.
impl SharedStorage for PostgresStorage {
    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let listener = self.listen(move |event| {
            // The receiver is gone only once the service stopped.
            if tx.send(event).is_err() {
                tracing::debug!("a change arrived after the cache service stopped");
            }
        })?;
        Ok(listener.map(|l| ChangeFeed::new(rx, Box::new(l))))
    }

    fn change_applied(&mut self, change: &RemoteChange) {
        if let Some(coherence) = self.coherence() {
            coherence.changed(change);
        }
    }

    fn take_conflicts(&mut self) -> Vec<(String, String)> {
        self.coherence()
            .map(|c| c.take_conflicts())
            .unwrap_or_default()
    }
}
