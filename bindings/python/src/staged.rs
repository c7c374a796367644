//! [`StagedStorage`]: the bot's *async* database behind a component that calls its
//! storage synchronously.
//!
//! A wasm instance cannot be suspended in the middle of a call and re-entered by
//! another coroutine, and a call that held the instance while it waited for the
//! event loop would deadlock the loop's own next cache call. So storage here never
//! waits inside a component call. The call runs *staged*:
//!
//! 1. Python installs an [`IoScope`] on its thread and calls the cache.
//! 2. When the component asks storage for something the scope has no answer to,
//!    storage records the request in the scope and answers with a storage error
//!    of kind `pending`, which the component never tolerates: the call fails, and
//!    a failed call changes no entry and counts no hit or miss (`wit/rows.wit`),
//!    so nothing is half-done.
//! 3. Python performs the recorded request ([`AsyncStorage::start`]): a worker
//!    thread runs it through the same [`ObjectStorage`] mapping a sync object
//!    uses, and hands each database call to the calling coroutine, which awaits
//!    the database's coroutine on its own loop (see `relay.rs`).
//! 4. Python calls the cache again with the same scope: this time storage answers
//!    from the scope (a read's rows, or "done" for a write that is now in the
//!    database), and the component completes the call, deciding again from the
//!    cache's state of *now* what it needs. Repeat until the call succeeds.
//!
//! The component keeps deciding what is read and written, and when; the host
//! only carries requests out. The instance is held only for the short synchronous
//! calls, so a hit never waits behind another coroutine's database round-trip.
//!
//! Outside a scope (a sync method called on the event loop's own thread, which
//! cannot wait for the loop) storage answers a row read as absent (what the cache
//! holds is the answer, as in the bot's own sync methods), queues a row write in
//! the *outbox* (acknowledged: on-shutdown semantics, written before any later
//! request and by every flush), and refuses the bot's tables with a typed error.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use cache_host::storage::{Batch, Call, SettingsChange, StoredRow};
use cache_host::{BotStorage, Storage, StorageError, StorageErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::object_calls::{stored_rows, write_object, write_object_settings};
use crate::object_storage::ObjectStorage;
use crate::relay::{self, Performer, Step};

/// One storage request of the component, owned so it can outlive the call: the
/// call log's record of it.
type Io = Call;

/// Writes the batch of a `rows.write` call through `storage` (any other call
/// writes nothing).
fn write_call(storage: &ObjectStorage, write: &Call) -> Result<(), StorageError> {
    match write.batch() {
        Some(batch) => write_object(storage, &batch),
        None => Ok(()),
    }
}

/// What a performed request answered.
#[derive(Clone, Debug)]
enum Outcome {
    Rows(Vec<StoredRow>),
    Value(Option<String>),
    Pairs(Vec<(String, String)>),
    Done,
}

#[derive(Default)]
struct ScopeState {
    /// Requests performed for this scope's call, with what they answered.
    answered: Vec<(Io, Result<Outcome, StorageError>)>,
    /// The request the last attempt could not be answered without the database.
    pending: Option<Io>,
    /// The one `getCacheStorage()` read of this call: a load of several
    /// namespaces reads the table once, and sees one state of it.
    rows: Option<Py<PyList>>,
}

/// The requests of one cache call made on behalf of one coroutine: see the
/// module doc.
#[pyclass(frozen, module = "gromozeka_cache._native")]
pub struct IoScope {
    state: Arc<Mutex<ScopeState>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Mutex<ScopeState>>>> = const { RefCell::new(None) };
}

#[pymethods]
impl IoScope {
    /// A scope with nothing answered yet.
    #[new]
    fn new() -> Self {
        IoScope {
            state: Arc::default(),
        }
    }

    /// Whether the last attempt stopped at a request the database must answer.
    #[getter]
    fn pending(&self) -> bool {
        lock(&self.state).pending.is_some()
    }

    /// Makes this the scope of the current thread's cache calls until [`exit`](Self::exit).
    fn enter(&self) {
        let state = self.state.clone();
        lock(&state).pending = None;
        CURRENT.with(|c| *c.borrow_mut() = Some(state));
    }

    /// Ends the current thread's scope.
    #[staticmethod]
    fn exit() {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// The outbox and the database, shared by the storage inside the cache and the
/// [`AsyncStorage`] handle Python performs requests with.
struct Shared {
    /// The bot's database behind its async adapter (the seed's names, each a
    /// coroutine): what a [`Performer`]'s coroutine awaits.
    bridge: Py<PyAny>,
    /// Row writes acknowledged outside a scope, oldest first.
    outbox: Mutex<VecDeque<Call>>,
    /// Held while the outbox is written, so that its batches land in order.
    flushing: Mutex<()>,
}

impl Shared {
    /// Writes the outbox in order through `storage`; a failed batch stays first.
    fn flush(&self, storage: &ObjectStorage) -> Result<(), StorageError> {
        let _flushing = lock(&self.flushing);
        loop {
            let Some(write) = lock(&self.outbox).front().cloned() else {
                return Ok(());
            };
            write_call(storage, &write)?;
            lock(&self.outbox).pop_front();
        }
    }

    /// Carries out `io` through `storage`, after the outbox. A load reads
    /// `getCacheStorage()` once per call (`rows`, kept in the scope).
    fn perform(
        &self,
        storage: &ObjectStorage,
        io: &Io,
        rows: &mut Option<Py<PyList>>,
    ) -> Result<Outcome, StorageError> {
        // Everything acknowledged earlier reaches the database before this request.
        self.flush(storage)?;
        let s = storage;
        Ok(match io {
            Call::Load { namespace, limit } => {
                let all = match rows {
                    Some(all) => all,
                    None => rows.insert(s.all_rows()?),
                };
                Outcome::Rows(stored_rows(s.load_in(all, namespace, *limit)?)?)
            }
            Call::Get { namespace, key } => Outcome::Value(s.get(namespace, key)?),
            Call::Write { .. } => {
                write_call(s, io)?;
                Outcome::Done
            }
            Call::GetChatSettings { chat_id } => Outcome::Pairs(s.get_chat_settings(*chat_id)?),
            Call::WriteChatSettings { chat_id, change } => {
                write_object_settings(s, *chat_id, change)?;
                Outcome::Done
            }
            Call::GetUserData { chat_id, user_id } => {
                Outcome::Pairs(s.get_user_data(*chat_id, *user_id)?)
            }
            Call::SetUserData {
                chat_id,
                user_id,
                key,
                value,
            } => {
                s.set_user_data(*chat_id, *user_id, key, value)?;
                Outcome::Done
            }
        })
    }
}

/// Python's handle on an async database attached with [`staged_storage`]:
/// starts the performers of the requests scopes record, and of the outbox.
#[pyclass(frozen, module = "gromozeka_cache._native")]
pub struct AsyncStorage {
    shared: Arc<Shared>,
}

/// Runs `job` with an [`ObjectStorage`] over a fresh relay on a worker thread;
/// the returned [`Performer`] drives it. `job`'s error, if any, is the performer's
/// last step.
fn spawn_worker(
    py: Python<'_>,
    job: impl FnOnce(&ObjectStorage) -> Option<StorageError> + Send + 'static,
) -> PyResult<Performer> {
    let (relay, performer, done) = relay::pair(py)?;
    let storage = ObjectStorage::new(relay.into_any());
    std::thread::Builder::new()
        .name("gromozeka-cache-io".into())
        .spawn(move || {
            let error = job(&storage);
            drop(storage);
            // The coroutine may be gone (its loop stopped): nobody to tell.
            let _ = done.send(Step::Done(error));
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start an I/O thread: {e}")))?;
    Ok(performer)
}

#[pymethods]
impl AsyncStorage {
    /// The performer of the scope's pending request (`None` if it has none): a
    /// worker thread carries it out, and every database call it makes is handed
    /// to the coroutine that drives the performer. What it answered, a failure
    /// included, is recorded in the scope for its next attempt.
    fn start(&self, py: Python<'_>, scope: &IoScope) -> PyResult<Option<Performer>> {
        let (io, mut rows) = {
            let mut state = lock(&scope.state);
            let Some(io) = state.pending.take() else {
                return Ok(None);
            };
            (io, state.rows.take())
        };
        let shared = self.shared.clone();
        let state = scope.state.clone();
        spawn_worker(py, move |storage| {
            let outcome = shared.perform(storage, &io, &mut rows);
            let mut state = lock(&state);
            state.rows = rows;
            state.answered.push((io, outcome));
            None
        })
        .map(Some)
    }

    /// The performer that writes every queued row write in order (`None` if none
    /// is queued); its last step raises the failure, the unwritten writes staying
    /// queued.
    fn start_flush(&self, py: Python<'_>) -> PyResult<Option<Performer>> {
        if lock(&self.shared.outbox).is_empty() {
            return Ok(None);
        }
        let shared = self.shared.clone();
        spawn_worker(py, move |storage| shared.flush(storage).err()).map(Some)
    }

    /// The async adapter of the bot's database the performers' calls are meant for.
    #[getter]
    fn bridge(&self, py: Python<'_>) -> Py<PyAny> {
        self.shared.bridge.clone_ref(py)
    }

    /// Row writes acknowledged and not yet written to the database.
    #[getter]
    fn queued(&self) -> usize {
        lock(&self.shared.outbox).len()
    }
}

/// The storage inside the cache for an async database (see the module doc).
pub struct StagedStorage {
    shared: Arc<Shared>,
}

/// Makes the cache's storage for the bot's async database behind `bridge` (the
/// seed's method names, each a coroutine), and the handle Python performs
/// requests with.
pub fn staged_storage(bridge: Py<PyAny>) -> (StagedStorage, AsyncStorage) {
    let shared = Arc::new(Shared {
        bridge,
        outbox: Mutex::new(VecDeque::new()),
        flushing: Mutex::new(()),
    });
    (
        StagedStorage {
            shared: shared.clone(),
        },
        AsyncStorage { shared },
    )
}

fn needs_database(io: &Io) -> StorageError {
    StorageError::new(
        StorageErrorKind::Unavailable,
        format!(
            "{io:?} needs the async database, which a sync call on the event loop's thread \
             cannot wait for; use the async method"
        ),
    )
}

/// What the current scope says about `io`: its answer if it was performed, else
/// `io` becomes the scope's pending request and the call fails. `None` outside a
/// scope.
fn staged(io: Io) -> Option<Result<Outcome, StorageError>> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let state = current.as_ref()?;
        let mut state = lock(state);
        if let Some((_, outcome)) = state.answered.iter().rev().find(|(done, _)| *done == io) {
            return Some(outcome.clone());
        }
        let refusal = StorageError::new(
            StorageErrorKind::Pending,
            "the cache call waits for the async database (performed by the caller, then retried)",
        );
        state.pending = Some(io);
        Some(Err(refusal))
    })
}

fn unexpected(io: &str) -> StorageError {
    StorageError::new(
        StorageErrorKind::Other,
        format!("the staged storage answered {io} with an outcome of another request"),
    )
}

impl Storage for StagedStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        let io = Call::Load {
            namespace: namespace.to_owned(),
            limit,
        };
        match staged(io) {
            Some(Ok(Outcome::Rows(rows))) => Ok(rows),
            Some(Ok(_)) => Err(unexpected("load")),
            Some(Err(e)) => Err(e),
            // Outside a scope nothing is loaded: what the cache holds stays the answer.
            None => Ok(Vec::new()),
        }
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        let io = Call::Get {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        match staged(io) {
            Some(Ok(Outcome::Value(value))) => Ok(value),
            Some(Ok(_)) => Err(unexpected("get")),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        let owned = Call::write_of(batch);
        match staged(owned.clone()) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => {
                lock(&self.shared.outbox).push_back(owned);
                Ok(())
            }
        }
    }
}

impl BotStorage for StagedStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        let io = Call::GetChatSettings { chat_id };
        match staged(io.clone()) {
            Some(Ok(Outcome::Pairs(pairs))) => Ok(pairs),
            Some(Ok(_)) => Err(unexpected("get-chat-settings")),
            Some(Err(e)) => Err(e),
            None => Err(needs_database(&io)),
        }
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        let io = Call::WriteChatSettings {
            chat_id,
            change: change.clone(),
        };
        match staged(io.clone()) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err(needs_database(&io)),
        }
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let io = Call::GetUserData { chat_id, user_id };
        match staged(io.clone()) {
            Some(Ok(Outcome::Pairs(pairs))) => Ok(pairs),
            Some(Ok(_)) => Err(unexpected("get-user-data")),
            Some(Err(e)) => Err(e),
            None => Err(needs_database(&io)),
        }
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        let io = Call::SetUserData {
            chat_id,
            user_id,
            key: key.to_owned(),
            value: value.to_owned(),
        };
        match staged(io.clone()) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err(needs_database(&io)),
        }
    }
}
