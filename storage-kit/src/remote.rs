//! The kit over a storage in another process: [`RemoteBackend`] starts a
//! server program and speaks JSON lines with it, so a backend written in
//! another language (the Node host's `SqliteStorage`) runs these very cases
//! instead of a port of them. The `storage-kit` binary runs [`crate::run`]
//! over it.
//!
//! Each request is one line, `{"<op>": <argument>}`, answered by one line:
//! `{"ok": <value>}`, `{"err": {"kind": "<storage-error kind>", "message": "..."}}`
//! for a typed storage error, or `{"fail": "..."}` for anything else (a defect
//! of the server; the kit stops on it). The operations:
//!
//! | request | answer |
//! |---|---|
//! | `{"open": null}` | the id of a fresh, empty storage |
//! | `{"reopen": id}` | the id of the same data reopened, or `null` if the backend keeps none |
//! | `{"putBadCell": [id, namespace, key, cell]}` | whether it stored an unreadable cell (`Blob`, `InvalidUtf8`, `Null`) |
//! | `{"provoke": [id, kind, key]}` | whether the next write of `key` will fail with `kind` |
//! | `{"heal": id}` | `null`, every provoke undone |
//! | `{"call": [id, function, args]}` | the storage function's result |
//!
//! A `call` names a function of the storage interface as the JS bindings of
//! `wit/rows.wit` and `wit/bot-storage.wit` name it (`load`, `get`, `write`,
//! `getChatSettings`, `writeChatSettings`, `getUserData`, `setUserData`) with
//! their arguments and results in jco's shapes: records as objects, variants
//! as `{"tag", "val"}`, a loaded row as `{"key", "value"}` or
//! `{"key", "unreadable"}`. An `s64` travels as `{"s64": "<decimal>"}`, which
//! JSON numbers cannot hold exactly.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;

use cache_core::{
    Batch, BotStorage, SettingsChange, Storage, StorageError, StorageErrorKind, StoredRow,
};
use serde_json::{json, Value};

use crate::{Backend, BadCell};

/// The server process and its pipes.
struct Server {
    child: Child,
    /// `None` once dropped, which ends the server.
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Server {
    /// Sends one request and reads its answer: `Ok` or a typed `Err`. Panics
    /// if the server fails, dies, or answers out of protocol: the kit cannot
    /// go on, and the panic names what happened.
    fn request(&mut self, request: Value) -> Result<Value, StorageError> {
        let input = (self.input.as_mut()).expect("the server's input is open until drop");
        writeln!(input, "{request}")
            .and_then(|()| input.flush())
            .unwrap_or_else(|e| panic!("cannot send {request} to the storage server: {e}"));
        let mut line = String::new();
        let read = self
            .output
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("cannot read the answer to {request}: {e}"));
        if read == 0 {
            let status = self.child.wait().map(|s| s.to_string());
            panic!("the storage server exited ({status:?}) before answering {request}");
        }
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the answer to {request} is not JSON ({e}): {line}"));
        if let Some(ok) = answer.get("ok") {
            return Ok(ok.clone());
        }
        if let Some(err) = answer.get("err") {
            let kind = err["kind"].as_str().unwrap_or_default();
            let kind = StorageErrorKind::from_name(kind)
                .unwrap_or_else(|| panic!("{request} failed with an unknown kind: {err}"));
            return Err(StorageError::new(
                kind,
                err["message"].as_str().unwrap_or_default(),
            ));
        }
        panic!("the storage server failed on {request}: {}", answer["fail"]);
    }

    /// A request that cannot fail with a storage error.
    fn expect(&mut self, request: Value) -> Value {
        let what = request.to_string();
        self.request(request)
            .unwrap_or_else(|e| panic!("{what} failed: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // End of input ends the server; waiting for it leaves no process
        // behind. Its exit status was already seen if it mattered: a server
        // that died mid-case made `request` panic.
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// A backend served by another program (see the module doc).
pub struct RemoteBackend {
    server: Rc<RefCell<Server>>,
}

impl RemoteBackend {
    /// Starts `program` with `args`, its stdin and stdout piped to the kit
    /// and its stderr shared with this process.
    pub fn spawn(program: &str, args: &[String]) -> std::io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the server's pipes were not opened"));
        };
        Ok(Self {
            server: Rc::new(RefCell::new(Server {
                child,
                input: Some(input),
                output: BufReader::new(output),
            })),
        })
    }

    fn storage(&self, id: Value) -> RemoteStorage {
        RemoteStorage {
            server: Rc::clone(&self.server),
            id,
        }
    }
}

/// One storage the server holds.
pub struct RemoteStorage {
    server: Rc<RefCell<Server>>,
    id: Value,
}

impl RemoteStorage {
    fn call(&mut self, function: &str, args: Value) -> Result<Value, StorageError> {
        let request = json!({"call": [self.id, function, args]});
        self.server.borrow_mut().request(request)
    }
}

fn s64(n: i64) -> Value {
    json!({"s64": n.to_string()})
}

fn text(value: &Value, what: &str) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"))
        .to_owned()
}

fn pairs(value: Value, what: &str) -> Vec<(String, String)> {
    let Value::Array(items) = value else {
        panic!("{what} is not a list: {value}");
    };
    items
        .iter()
        .map(|p| (text(&p[0], what), text(&p[1], what)))
        .collect()
}

impl Storage for RemoteStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        let Value::Array(rows) = self.call("load", json!([namespace, limit]))? else {
            panic!("load did not return a list");
        };
        Ok(rows
            .iter()
            .map(|row| StoredRow {
                key: text(&row["key"], "a loaded key"),
                value: match row.get("value") {
                    Some(value) => Ok(text(value, "a loaded value")),
                    None => Err(text(&row["unreadable"], "an unreadable row's reason")),
                },
            })
            .collect())
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        let value = self.call("get", json!([namespace, key]))?;
        Ok((!value.is_null()).then(|| text(&value, "get's value")))
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        let delete: Vec<Value> = (batch.delete.iter())
            .map(|k| json!({"namespace": k.namespace, "key": k.key}))
            .collect();
        let upsert: Vec<Value> = (batch.upsert.iter())
            .map(|r| json!({"namespace": r.namespace, "key": r.key, "value": r.value}))
            .collect();
        let batch = json!({"clear": batch.clear, "delete": delete, "upsert": upsert});
        self.call("write", json!([batch])).map(drop)
    }
}

impl BotStorage for RemoteStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        let settings = self.call("getChatSettings", json!([s64(chat_id)]))?;
        Ok(pairs(settings, "the settings"))
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        let change = match change {
            SettingsChange::Merge(items) => json!({"tag": "merge", "val": items}),
            SettingsChange::Rewrite(items) => json!({"tag": "rewrite", "val": items}),
            SettingsChange::Unset(key) => json!({"tag": "unset", "val": key}),
        };
        self.call("writeChatSettings", json!([s64(chat_id), change]))
            .map(drop)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let data = self.call("getUserData", json!([s64(chat_id), s64(user_id)]))?;
        Ok(pairs(data, "the user data"))
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        let args = json!([s64(chat_id), s64(user_id), key, value]);
        self.call("setUserData", args).map(drop)
    }
}

impl Backend for RemoteBackend {
    type Storage = RemoteStorage;

    fn open(&mut self) -> RemoteStorage {
        let id = self.server.borrow_mut().expect(json!({"open": null}));
        self.storage(id)
    }

    fn reopen(&mut self, storage: RemoteStorage) -> Option<RemoteStorage> {
        let id = (self.server.borrow_mut()).expect(json!({"reopen": storage.id}));
        (!id.is_null()).then(|| self.storage(id))
    }

    fn put_bad_cell(
        &mut self,
        storage: &mut RemoteStorage,
        namespace: &str,
        key: &str,
        cell: BadCell,
    ) -> bool {
        let request = json!({"putBadCell": [storage.id, namespace, key, format!("{cell:?}")]});
        self.server.borrow_mut().expect(request) == json!(true)
    }

    fn provoke(&mut self, storage: &mut RemoteStorage, kind: StorageErrorKind, key: &str) -> bool {
        let request = json!({"provoke": [storage.id, kind.name(), key]});
        self.server.borrow_mut().expect(request) == json!(true)
    }

    fn heal(&mut self, storage: &mut RemoteStorage) {
        self.server.borrow_mut().expect(json!({"heal": storage.id}));
    }
}
