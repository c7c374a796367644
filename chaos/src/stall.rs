//! A storage that stalls: before a random share of its calls it sleeps, as a
//! database whose server is stopped, swapping or behind a slow disk would. The
//! writer's per-call CPU bound is far below the stall, so the trial shows that a
//! storage wait is never charged to the guest (no trap, no lost pending change).

use std::time::Duration;

use cache_host::storage::{
    Batch, BotStorage, Inspect, SettingsChange, Storage, StorageError, StoredRow,
};

/// `inner`, stalled for `stall` before each call with probability `rate`.
pub struct Stalling<S> {
    inner: S,
    rng: fastrand::Rng,
    rate: f64,
    stall: Duration,
    /// How many calls stalled.
    pub stalls: u64,
}

impl<S> Stalling<S> {
    /// Wraps `inner`; `seed` makes the stalls repeatable.
    pub fn new(inner: S, seed: u64, rate: f64, stall: Duration) -> Self {
        Self {
            inner,
            rng: fastrand::Rng::with_seed(seed),
            rate,
            stall,
            stalls: 0,
        }
    }

    fn maybe_stall(&mut self) -> &mut S {
        if self.rate > 0.0 && self.rng.f64() < self.rate {
            self.stalls += 1;
            std::thread::sleep(self.stall);
        }
        &mut self.inner
    }
}

impl<S: Storage> Storage for Stalling<S> {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        self.maybe_stall().load(namespace, limit)
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        self.maybe_stall().get(namespace, key)
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        self.maybe_stall().write(batch)
    }
}

impl<S: BotStorage> BotStorage for Stalling<S> {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        self.maybe_stall().get_chat_settings(chat_id)
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        self.maybe_stall().write_chat_settings(chat_id, change)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.maybe_stall().get_user_data(chat_id, user_id)
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        self.maybe_stall()
            .set_user_data(chat_id, user_id, key, value)
    }
}

/// Inspection is not part of the trial: the defaults (nothing shared).
impl<S> Inspect for Stalling<S> {}
