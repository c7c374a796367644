//! Connecting within a time limit.
//!
//! The driver's `connect_timeout` bounds the TCP connect only: a server (or a proxy,
//! or a stopped server process) that accepts the connection and never answers holds
//! the startup exchange, and the caller, forever. So the whole connect runs on a
//! helper thread and the caller waits for it at most the limit, then fails with
//! [`StorageErrorKind::Unavailable`]. The attempt is not abandoned: the next connect
//! of the same [`Connector`] waits for it again instead of starting another, so one
//! unanswering server holds at most one thread per connector.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use cache_core::{StorageError, StorageErrorKind};
use postgres::{Client, Config, NoTls};

use crate::errors;

/// The default limit of one connect, when the URL sets no `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The limit of one connect to `config`: its `connect_timeout` (the URL's, else the
/// storage's option), else [`DEFAULT_CONNECT_TIMEOUT`].
pub(crate) fn limit(config: &Config) -> Duration {
    config
        .get_connect_timeout()
        .copied()
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
}

/// Connects, at most one attempt in flight (see the module documentation).
#[derive(Default)]
pub(crate) struct Connector {
    in_flight: Option<Receiver<Result<Client, postgres::Error>>>,
}

impl Connector {
    /// A connection to `config`, or an error once `limit` has passed. `op` names
    /// the step for messages.
    pub(crate) fn connect(
        &mut self,
        config: &Config,
        limit: Duration,
        op: &str,
    ) -> Result<Client, StorageError> {
        let server = crate::describe(config);
        let attempt = match self.in_flight.take() {
            Some(attempt) => attempt,
            None => {
                let (tx, rx) = mpsc::sync_channel(1);
                let config = config.clone();
                std::thread::Builder::new()
                    .name("gromozeka-pg-connect".into())
                    .spawn(move || {
                        // The receiver may be gone (the storage was dropped): nothing
                        // to tell.
                        let _ = tx.send(config.connect(NoTls));
                    })
                    .map_err(|e| {
                        StorageError::new(
                            StorageErrorKind::Other,
                            format!("cannot start a thread to connect to {server}: {e}"),
                        )
                    })?;
                rx
            }
        };
        match attempt.recv_timeout(limit) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(errors::map_error(&server, op, &e)),
            Err(RecvTimeoutError::Timeout) => {
                self.in_flight = Some(attempt);
                Err(StorageError::new(
                    StorageErrorKind::Unavailable,
                    format!(
                        "{op} on {server}: no answer within {limit:?} (the server is \
                         unreachable or stopped, or accepted the connection without \
                         answering; connect_timeout in the URL sets the limit)"
                    ),
                ))
            }
            Err(RecvTimeoutError::Disconnected) => Err(StorageError::new(
                StorageErrorKind::Other,
                format!("{op} on {server}: the connecting thread stopped without an answer"),
            )),
        }
    }
}
