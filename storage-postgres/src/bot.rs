//! The bot's tables ([`BotStorage`]) on PostgreSQL: chat settings and user data.

use cache_core::{BotStorage, SettingsChange, StorageError, StorageErrorKind};
use postgres::types::ToSql;

use crate::rows::last_of_each;
use crate::{coherence, schema, Cell, PostgresStorage, RemoteChange};

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

impl PostgresStorage {
    /// Runs the query `sql` (key, value rows) and reads its pairs; a cell that is
    /// not text fails with [`StorageErrorKind::Corrupt`], naming it (`what`: "setting
    /// of chat 5", ...). `op` names the call for other failures.
    fn read_pairs(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        op: impl FnOnce() -> String,
        what: &dyn Fn() -> String,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let pairs = self.run(op, |c| {
            let rows = c.client.query(&c.statement(sql), params)?;
            Ok(text_pairs(&rows, what)?)
        })?;
        pairs.map_err(|reason| {
            StorageError::new(
                StorageErrorKind::Corrupt,
                format!("{reason} on {}; rewrite or delete it", self.server),
            )
        })
    }
}

impl BotStorage for PostgresStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        self.read_pairs(
            schema::SETTINGS_GET,
            &[&chat_id],
            || format!("read the settings of chat {chat_id}"),
            &|| format!("setting of chat {chat_id}"),
        )
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        self.writable(|| format!("write the settings of chat {chat_id}"))?;
        let (notify, channel) = {
            let c = self.connection()?;
            (c.statement(schema::NOTIFY), c.channel.clone())
        };
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
                        &[
                            channel,
                            &vec![coherence::payload(&RemoteChange::ChatSettings(chat_id))],
                        ],
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
        self.read_pairs(
            schema::USER_DATA_GET,
            &[&chat_id, &user_id],
            || format!("read the data of user {user_id} in chat {chat_id}"),
            &|| format!("data of user {user_id} in chat {chat_id}"),
        )
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        self.writable(|| format!("write data {key:?} of user {user_id} in chat {chat_id}"))?;
        let (notify, channel) = {
            let c = self.connection()?;
            (c.statement(schema::NOTIFY), c.channel.clone())
        };
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
                            &vec![coherence::payload(&RemoteChange::UserData {
                                chat_id,
                                user_id,
                            })],
                        ],
                    )?;
                }
                tx.commit()?;
                Ok(())
            },
        )
    }
}
