//! The native `BotCache` called by the contract's WIT names, with arguments and
//! answers as JSON in the encoding of `cache_host::contract`: the reference side
//! of the `component_api` differential check. Its one line per function is the
//! only place a fuzz input names a function; a function the component exports
//! and this does not fails the first input that calls it, naming the line to add.

use cache_core::{BotCache, CacheError, MockStorage, NamespaceConfig, SettingsMode};
use serde_json::{json, Value};

/// Calls `name` on `bot` with `args` (generated from the function's WIT types,
/// so well-typed); the answer as JSON.
pub fn call(
    bot: &mut BotCache<MockStorage>,
    name: &str,
    args: &[Value],
) -> Result<Value, CacheError> {
    let text = |i: usize| args[i].as_str().unwrap_or_default().to_owned();
    let id = |i: usize| args[i].as_i64().unwrap_or_default();
    let texts = |i: usize| -> Vec<String> {
        args[i]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let unit = |()| Value::Null;
    let answer = |v: Option<String>| v.map_or(Value::Null, Value::String);
    Ok(match name {
        "cache.configure" => bot.cache().configure(configs(&args[0])).map(unit)?,
        "cache.get" => answer(bot.cache().get(&text(0), &text(1))?),
        "cache.get-many" => json!(bot.cache().get_many(&text(0), &texts(1))?),
        "cache.set" => bot.cache().set(&text(0), text(1), text(2)).map(unit)?,
        "cache.set-many" => bot.cache().set_many(&text(0), pairs(&args[1])).map(unit)?,
        "cache.delete" => json!(bot.cache().delete(&text(0), &text(1))?),
        "cache.clear-namespace" => bot.cache().clear_namespace(&text(0)).map(unit)?,
        "cache.load-from-storage" => json!(bot.cache().load_from_storage()?),
        "cache.persist-all" => json!(bot.cache().persist_all()?),
        "cache.stats" => json!(bot.cache_ref().stats()),
        "cache.forget" => json!(bot.cache().forget(&text(0), &text(1))),
        "cache.forget-namespace" => json!(bot.cache().forget_namespace(&text(0))),
        "cache.forget-all" => json!(bot.cache().forget_all()),
        "cache.pending-changes" => json!(bot.cache().pending_changes(&text(0))?),
        "bot.get-chat-settings" => json!(bot.get_chat_settings(id(0))?),
        "bot.set-chat-settings" => bot
            .set_chat_settings(id(0), &text(1), mode(&args[2]))
            .map(unit)?,
        "bot.unset-chat-setting" => bot.unset_chat_setting(id(0), &text(1)).map(unit)?,
        "bot.forget-chat-settings" => json!(bot.forget_chat_settings(id(0))),
        "bot.get-chat-info" => answer(bot.get_chat_info(id(0))?),
        "bot.set-chat-info" => bot.set_chat_info(id(0), &text(1)).map(unit)?,
        "bot.set-chat-topic" => bot.set_chat_topic(id(0), id(1), &text(2)).map(unit)?,
        "bot.get-user-data" => json!(bot.get_user_data(id(0), id(1))?),
        "bot.set-user-data" => bot
            .set_user_data(id(0), id(1), &text(2), &text(3))
            .map(unit)?,
        "bot.forget-user-data" => json!(bot.forget_user_data(id(0), id(1))),
        "bot.get-user-state" => answer(bot.get_user_state(id(0), &text(1))?),
        "bot.set-user-state" => bot.set_user_state(id(0), &text(1), &text(2)).map(unit)?,
        "bot.clear-user-state" => bot.clear_user_state(id(0), args[1].as_str()).map(unit)?,
        other => panic!("{other} has no native form: add its line to fuzz-harness/src/native.rs"),
    })
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| (text(&p[0]), text(&p[1])))
        .collect()
}

/// `configure`'s argument, which the generator types by the contract.
fn configs(v: &Value) -> Vec<NamespaceConfig> {
    NamespaceConfig::table_from_json(v).expect("a generated namespace table")
}

fn mode(v: &Value) -> SettingsMode {
    match v.as_str() {
        Some("rewrite") => SettingsMode::Rewrite,
        _ => SettingsMode::Merge,
    }
}
