//! [`Listener`]: one thread per cache service, holding its own connection,
//! that hears the changes other processes make and hands them to the service.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cache_core::StorageError;
use fallible_iterator::FallibleIterator;
use postgres::{Client, Config};

use crate::connect::Connector;
use cache_core::FeedEvent;

use crate::{coherence, errors, Coherence};

/// How often the thread checks whether it should stop.
const POLL: Duration = Duration::from_millis(100);

/// A listening thread; dropping it stops the thread.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Connects and listens; returns the connection and the server's clock (µs)
/// once listening: every change committed after that is delivered.
fn listen(
    connector: &mut Connector,
    config: &Config,
    channel: &str,
) -> Result<(Client, i64), StorageError> {
    let server = crate::describe(config);
    let limit = crate::connect::limit(config);
    let mut client = connector.connect(config, limit, "listen for changes")?;
    listen_on(&mut client, channel)
        .map(|clock| (client, clock))
        .map_err(|e| errors::map_error(&server, "listen for changes", &e))
}

/// Listens on `channel` (scoped to the connection's schema); returns the server's clock.
fn listen_on(client: &mut Client, channel: &str) -> Result<i64, postgres::Error> {
    let schema = crate::coherence::current_schema(client)?;
    let channel = crate::scoped_channel(channel, &schema);
    let quoted = format!("\"{}\"", channel.replace('"', "\"\""));
    client.batch_execute(&format!("LISTEN {quoted}"))?;
    let clock: i64 = client
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp() AT TIME ZONE 'UTC') * 1000000)::bigint",
            &[],
        )?
        .try_get(0)?;
    Ok(clock)
}

impl Listener {
    /// Connects, listens on `channel` (scoped to the schema the connection's tables
    /// are in, as the storage's writes are: [`crate::scoped_channel`]), records the server's clock as the
    /// [`Coherence::baseline`], and only then returns: every change committed
    /// from now on reaches `on_event`, except this process's own (recognised
    /// through `coherence`). `on_event` runs on the listener's
    /// thread, one event at a time, in commit order.
    pub fn spawn(
        config: Config,
        channel: &str,
        coherence: Arc<Coherence>,
        mut on_event: impl FnMut(FeedEvent) + Send + 'static,
    ) -> Result<Self, StorageError> {
        let server = crate::describe(&config);
        let mut connector = Connector::default();
        let (client, clock) = listen(&mut connector, &config, channel)?;
        // Rows changed before this are older than any change this process will
        // make; rows changed after it are notified (see `Coherence::seen`).
        coherence.set_baseline(clock);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let channel = channel.to_owned();
        let thread = std::thread::Builder::new()
            .name("gromozeka-pg-listener".to_owned())
            .spawn(move || {
                let mut client = Some(client);
                let mut backoff = Duration::from_millis(50);
                while !stopping.load(Ordering::Relaxed) {
                    let Some(c) = client.as_mut() else {
                        match listen(&mut connector, &config, &channel) {
                            Ok((c, _)) => {
                                tracing::info!(%server, "listening for changes again; dropping what may have been missed");
                                client = Some(c);
                                backoff = Duration::from_millis(50);
                                on_event(FeedEvent::Reconnected);
                            }
                            Err(e) => {
                                tracing::warn!(%server, error = %e, "cannot listen for changes; retrying");
                                std::thread::sleep(backoff);
                                backoff = (backoff * 2).min(Duration::from_secs(2));
                            }
                        }
                        continue;
                    };
                    let mut lost = false;
                    {
                        let mut notifications = c.notifications();
                        let mut batch = notifications.timeout_iter(POLL);
                        loop {
                            match batch.next() {
                                Ok(Some(n)) => {
                                    if coherence.is_own(n.process_id()) {
                                        continue;
                                    }
                                    match coherence::parse(n.payload()) {
                                        Some(change) => on_event(FeedEvent::Change(change)),
                                        None => tracing::warn!(
                                            payload = n.payload(),
                                            "ignoring a notification that is not a cache change"
                                        ),
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    tracing::warn!(%server, error = %e, "lost the listening connection");
                                    lost = true;
                                    break;
                                }
                            }
                        }
                    }
                    if lost || c.is_closed() {
                        client = None;
                    }
                }
            })
            .map_err(|e| StorageError::new(cache_core::StorageErrorKind::Other, format!("cannot start the listener thread: {e}")))?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the listener thread panicked");
            }
        }
    }
}
