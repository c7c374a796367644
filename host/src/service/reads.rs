//! The service's reads: answered from the read path's copies when it can
//! (see `read_path.rs`), otherwise by the component, whose storage-free
//! answers are then copied.

use super::Attachment;
use std::sync::Arc;

use super::lifecycle::{Shared, Slot, State};
use super::read_path::{text_of, Lookup, ReadPathStats};
use super::CacheService;
use crate::storage::ServiceStorage;
use crate::Error;
use cache_core::Read;

impl<S: ServiceStorage, A: Attachment> Shared<S, A> {
    /// Replays the pending hits into the live instance and applies the changes
    /// it reports (the `sync` export).
    pub(super) fn sync_reads(&self, state: &mut State<S, A>) -> Result<(), Error> {
        let hits = state.reads.take_hits();
        let Slot::Live(inst) = &mut state.slot else {
            return Ok(());
        };
        crate::runtime::arm(&mut inst.store, self.ticks());
        match inst
            .bindings
            .gromozeka_cache_cache()
            .call_sync(&mut inst.store, &hits)
        {
            Ok(report) => {
                state.reads.synced(report);
                Ok(())
            }
            Err(e) => Err(self.recover(state, &e)),
        }
    }

    /// The answer of `read`: from a copy, or from the component.
    fn read(&self, read: Read<&str>) -> Result<Option<Arc<str>>, Error> {
        let mut state = self.lock();
        if state.reads.hits_full() {
            self.sync_reads(&mut state)?;
        }
        match state.reads.lookup(read, text_of) {
            Lookup::Served(text) => return Ok(Some(text)),
            Lookup::NeedsSync => {
                self.sync_reads(&mut state)?;
                if let Lookup::Served(text) = state.reads.lookup(read, text_of) {
                    return Ok(Some(text));
                }
            }
            Lookup::Absent => {}
        }
        let was_unsynced = state.reads.is_unsynced();
        let (answer, called_storage) = self.call_locked(&mut state, |b, s| {
            let before = s.data().storage_calls;
            let (cache, bot) = (b.gromozeka_cache_cache(), b.gromozeka_cache_bot());
            let answer = match read {
                Read::Get { namespace, key } => cache.call_get(&mut *s, namespace, key)?,
                Read::ChatSettings(chat_id) => {
                    bot.call_get_chat_settings(&mut *s, chat_id)?.map(Some)
                }
                Read::ChatInfo(chat_id) => bot.call_get_chat_info(&mut *s, chat_id)?,
                Read::UserData { chat_id, user_id } => {
                    bot.call_get_user_data(&mut *s, chat_id, user_id)?.map(Some)
                }
                Read::UserState { user_id, state_key } => {
                    bot.call_get_user_state(&mut *s, user_id, state_key)?
                }
            };
            Ok((answer, s.data().storage_calls != before))
        })?;
        let text: Option<Arc<str>> = answer.map_err(Error::from)?.map(Arc::from);
        if !called_storage {
            if let Some(text) = &text {
                self.keep_copies(&mut state, was_unsynced, &[(read, text)])?;
            } else {
                state.reads.restore_synced(was_unsynced);
            }
        }
        Ok(text)
    }

    /// The answers of `get-many`: from copies when every key has one, or
    /// from the component, whose storage-free answers are then copied.
    fn read_many(&self, namespace: &str, keys: &[String]) -> Result<Vec<Option<Arc<str>>>, Error> {
        let mut state = self.lock();
        if state.reads.hits_full() {
            self.sync_reads(&mut state)?;
        }
        let served = |texts: Vec<Arc<str>>| texts.into_iter().map(Some).collect();
        match state.reads.lookup_many(namespace, keys) {
            Lookup::Served(texts) => return Ok(served(texts)),
            Lookup::NeedsSync => {
                self.sync_reads(&mut state)?;
                if let Lookup::Served(texts) = state.reads.lookup_many(namespace, keys) {
                    return Ok(served(texts));
                }
            }
            Lookup::Absent => {}
        }
        let was_unsynced = state.reads.is_unsynced();
        let (answer, called_storage) = self.call_locked(&mut state, |b, s| {
            let before = s.data().storage_calls;
            let answer = b
                .gromozeka_cache_cache()
                .call_get_many(&mut *s, namespace, keys)?;
            Ok((answer, s.data().storage_calls != before))
        })?;
        let texts: Vec<Option<Arc<str>>> = answer
            .map_err(Error::from)?
            .into_iter()
            .map(|text| text.map(Arc::from))
            .collect();
        if !called_storage {
            let found: Vec<(Read<&str>, &Arc<str>)> = keys
                .iter()
                .zip(&texts)
                .filter_map(|(key, text)| Some((Read::Get { namespace, key }, text.as_ref()?)))
                .filter(|(read, _)| !state.reads.has_copy(*read))
                .collect();
            if found.is_empty() {
                state.reads.restore_synced(was_unsynced);
            } else {
                self.keep_copies(&mut state, was_unsynced, &found)?;
            }
        }
        Ok(texts)
    }

    /// Keeps the answers of reads that reached no storage, so changed no
    /// entry a copy depends on. Changes pending from calls before them are
    /// applied first, so that they cannot drop these newer copies.
    fn keep_copies(
        &self,
        state: &mut State<S, A>,
        was_unsynced: bool,
        found: &[(Read<&str>, &Arc<str>)],
    ) -> Result<(), Error> {
        if was_unsynced && state.reads.is_enabled() {
            self.sync_reads(state)?;
        } else {
            state.reads.restore_synced(was_unsynced);
        }
        let capacity = state
            .namespaces
            .iter()
            .map(|n| n.max_entries as usize)
            .sum();
        let clock = &state.clock;
        for (read, text) in found {
            state
                .reads
                .insert(*read, text, |ns| clock.expires(ns), capacity);
        }
        Ok(())
    }
}

/// The answer of a read that always returns a value.
fn always(answer: Option<Arc<str>>, call: &str) -> Result<String, Error> {
    answer
        .map(|text| String::from(&*text))
        .ok_or_else(|| Error::Runtime(format!("{call} returned no value")))
}

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    /// The answer of one of the component's reads, shared rather than copied:
    /// the typed methods ([`get`](Self::get), [`get_chat_settings`](Self::get_chat_settings),
    /// ...) return the same text as a `String`. Served from the host's copy when
    /// one is held (see [`set_read_path`](Self::set_read_path)).
    pub fn read(&self, read: Read<&str>) -> Result<Option<Arc<str>>, Error> {
        self.shared.read(read)
    }

    /// `answer` of the host's copy of `read`'s answer and the host's
    /// [`Attachment`] kept with it (see [`attach`](Self::attach)), if a copy
    /// may be served now and no other call holds the service: never waits,
    /// never enters the component, and logs the hit as [`read`](Self::read)
    /// would. `None` means "ask `read`". For hosts whose callers must not
    /// block (the Python binding, under the GIL). `answer` runs while the
    /// service is held, so a host that only needs the text's identity or
    /// bytes, or its own attachment, takes no reference; it must not call
    /// this service (it would get `None`, or wait for itself).
    pub fn with_read_copy<T>(
        &self,
        read: Read<&str>,
        answer: impl FnOnce(&Arc<str>, &mut Option<A>) -> T,
    ) -> Option<T> {
        let mut state = self.shared.state.try_lock().ok()?;
        if state.reads.hits_full() {
            return None;
        }
        match state.reads.lookup(read, answer) {
            Lookup::Served(answer) => Some(answer),
            Lookup::NeedsSync | Lookup::Absent => None,
        }
    }

    /// Keeps `attachment` with the host's copy of `read`'s answer, if that copy
    /// still holds `text` (the answer the attachment was made from, as
    /// [`read`](Self::read) or [`with_read_copy`](Self::with_read_copy) gave
    /// it) and no other call holds the service; otherwise hands it back. It is
    /// then handed to `with_read_copy`'s `answer` with each hit of the copy, and
    /// dropped with the copy: when the entry changes, the copy is replaced or
    /// evicted from the copies, or the read path is reset or turned off.
    pub fn attach(&self, read: Read<&str>, text: &Arc<str>, attachment: A) -> Result<(), A> {
        match self.shared.state.try_lock() {
            Ok(mut state) => state.reads.attach(read, text, attachment),
            Err(_) => Err(attachment),
        }
    }

    /// Turns the read path on or off. On (the default), a hit is answered from
    /// the host's copy of an earlier answer without entering the component, and
    /// logged; the log is replayed into the component before any other call, so
    /// its recency, hit counts and evictions are exactly as with the read path
    /// off. Off, every read enters the component (for debugging).
    pub fn set_read_path(&self, on: bool) {
        self.shared.lock().reads.set_enabled(on);
    }

    /// What the read path holds (copies, bytes) and did (hits served, syncs).
    pub fn read_path_stats(&self) -> ReadPathStats {
        self.shared.lock().reads.stats()
    }

    /// [`get`](Self::get) of each key, in the order of `keys`: from the read
    /// path's copies when every key has one, otherwise in one guest call.
    pub fn get_many(&self, namespace: &str, keys: &[String]) -> Result<Vec<Option<String>>, Error> {
        Ok(self
            .shared
            .read_many(namespace, keys)?
            .into_iter()
            .map(|text| text.map(|text| String::from(&*text)))
            .collect())
    }

    /// The JSON value of `key`, reading through to storage in persisted namespaces.
    pub fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, Error> {
        Ok(self
            .read(Read::Get { namespace, key })?
            .map(|text| String::from(&*text)))
    }

    /// The chat's settings as a JSON object (loaded from storage if not cached).
    pub fn get_chat_settings(&self, chat_id: i64) -> Result<String, Error> {
        always(self.read(Read::ChatSettings(chat_id))?, "get-chat-settings")
    }

    /// The chat's info object, if one was set.
    pub fn get_chat_info(&self, chat_id: i64) -> Result<Option<String>, Error> {
        Ok(self
            .read(Read::ChatInfo(chat_id))?
            .map(|text| String::from(&*text)))
    }

    /// The user's data in the chat, as a JSON object.
    pub fn get_user_data(&self, chat_id: i64, user_id: i64) -> Result<String, Error> {
        always(
            self.read(Read::UserData { chat_id, user_id })?,
            "get-user-data",
        )
    }

    /// One item of the user's state, if set.
    pub fn get_user_state(&self, user_id: i64, state_key: &str) -> Result<Option<String>, Error> {
        Ok(self
            .read(Read::UserState { user_id, state_key })?
            .map(|text| String::from(&*text)))
    }
}
