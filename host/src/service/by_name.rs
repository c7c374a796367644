//! [`CacheService::call_by_name`]: any export by its WIT name, JSON in and out,
//! through the same lock, read path, coherence and write-back as the typed
//! methods. The conformance runners and `cache-host call` use it, so a function
//! added to `wit/` needs no table of its own there.

use super::Attachment;
use cache_core::Read;
use std::time::Duration;

use serde_json::{json, Value};

use super::coherence::Outcome;
use super::CacheService;
use crate::contract::Answer;
use crate::storage::ServiceStorage;
use crate::{Error, NamespaceConfig};

impl Outcome for Answer {
    fn is_conflict(&self) -> bool {
        matches!(self, Err(e) if e["storage"]["kind"] == "conflict")
    }
}

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    /// Calls the export `name` (`interface.function`, e.g. `"bot.get-user-data"`)
    /// with `args` in WIT order, each as JSON (the encoding of [`crate::contract`]);
    /// returns its `ok` value as JSON, and its `err` as the [`Error`] the typed
    /// method returns. A name the component does not export, or arguments of the
    /// wrong types, are [`Error::BadCall`] and run nothing.
    ///
    /// The reads the read path serves ([`Read::of_call`], and `cache.get-many`)
    /// are served as the typed reads are. `cache.configure`, `cache.load-from-storage`,
    /// `cache.persist-all` and `cache.expire-after-write` run their typed
    /// methods, which do more than the guest call (memory limit, unknown stored
    /// namespaces, conflicts of a shared storage, the read path's expiry).
    /// `cache.sync` and `cache.set-time` are the service's own calls and are
    /// [`Error::BadCall`] here.
    pub fn call_by_name(&self, name: &str, args: &[Value]) -> Result<Value, Error> {
        let contract = self.shared.runtime.contract();
        let call = contract.prepare(name, args).map_err(Error::BadCall)?;
        if let Some(read) = Read::of_call(name, args) {
            let answer = self.read(read)?;
            return Ok(answer.map_or(Value::Null, |text| Value::String(String::from(&*text))));
        }
        match name {
            "cache.get-many" => {
                // `prepare` checked the types: a string and a list of strings.
                let keys: Vec<String> = (args[1].as_array().into_iter().flatten())
                    .filter_map(|key| Some(key.as_str()?.to_owned()))
                    .collect();
                let values = self.get_many(args[0].as_str().unwrap_or_default(), &keys)?;
                Ok(values.into_iter().map(Value::from).collect())
            }
            "cache.configure" => {
                self.configure(&namespace_table(&args[0])?)?;
                Ok(Value::Null)
            }
            "cache.load-from-storage" => Ok(json!(self.load_from_storage()?)),
            "cache.persist-all" => Ok(json!(self.persist_all()?)),
            "cache.expire-after-write" => {
                let after = (args[1].as_u64())
                    .or_else(|| args[1].as_str()?.parse().ok())
                    .map(Duration::from_millis);
                self.expire_after_write(args[0].as_str().unwrap_or_default(), after)?;
                Ok(Value::Null)
            }
            "cache.sync" | "cache.set-time" => Err(Error::BadCall(format!(
                "{name} is the host's own call (the read path's replay, the clock), \
                 which the service makes itself"
            ))),
            _ => self
                .shared
                .call_changing(1, |exports, store| call.run(exports.instance(), store))?
                .map_err(Error::from_answer),
        }
    }
}

/// A `list<namespace-config>` the contract already type-checked.
fn namespace_table(json: &Value) -> Result<Vec<NamespaceConfig>, Error> {
    NamespaceConfig::table_from_json(json)
        .ok_or_else(|| Error::BadCall(format!("not a namespace table: {json}")))
}
