-- The seed design kept a chat's settings and a user's data inside its
-- cache_storage row ({"settings": {...}} in chats, {"data": {...}} in chatUsers);
-- this contract keeps them in chat_settings and user_data, where the bot's code
-- reads them, and rewrites the row without them. Moves them there, in the
-- migration's one transaction:
--   - a value the table already holds wins (the seed wrote the tables too, on
--     every change, so the table's is at least as new);
--   - a setting that is a string is stored as it is, any other value as its JSON
--     text; a user data item is stored as its JSON text, as the bot stores it;
--   - the fields are then removed from the rows, and a row left empty is deleted.
-- Only rows whose value is a JSON object and whose key is a chat id (chats) or
-- `<chat id>:<user id>` (chatUsers) are touched; anything else stays as it is.
CREATE TEMP TABLE seed_rows AS
SELECT namespace, key, value,
       coalesce(updated_at, strftime('%Y-%m-%d %H:%M:%f', 'now')) AS stamp,
       CASE namespace WHEN 'chats' THEN '$.settings' ELSE '$.data' END AS field,
       CASE namespace WHEN 'chats' THEN CAST(key AS INTEGER)
            ELSE CAST(substr(key, 1, instr(key, ':') - 1) AS INTEGER) END AS chat_id,
       CASE namespace WHEN 'chatUsers' THEN CAST(substr(key, instr(key, ':') + 1) AS INTEGER) END AS user_id
FROM cache_storage
WHERE (
        (namespace = 'chats' AND CAST(CAST(key AS INTEGER) AS TEXT) = key)
     OR (namespace = 'chatUsers' AND instr(key, ':') > 1
         AND CAST(CAST(substr(key, 1, instr(key, ':') - 1) AS INTEGER) AS TEXT) = substr(key, 1, instr(key, ':') - 1)
         AND CAST(CAST(substr(key, instr(key, ':') + 1) AS INTEGER) AS TEXT) = substr(key, instr(key, ':') + 1))
      )
  AND CASE WHEN json_valid(value) THEN json_type(value) = 'object'
           AND json_type(value, CASE namespace WHEN 'chats' THEN '$.settings' ELSE '$.data' END) = 'object'
      END;

INSERT OR IGNORE INTO chat_settings (chat_id, key, value, created_at, updated_at)
SELECT s.chat_id, j.key, CASE j.type WHEN 'text' THEN j.value ELSE s.value -> j.fullkey END, s.stamp, s.stamp
FROM seed_rows AS s, json_each(s.value, s.field) AS j
WHERE s.namespace = 'chats';

INSERT OR IGNORE INTO user_data (user_id, chat_id, key, data, created_at, updated_at)
SELECT s.user_id, s.chat_id, j.key, s.value -> j.fullkey, s.stamp, s.stamp
FROM seed_rows AS s, json_each(s.value, s.field) AS j
WHERE s.namespace = 'chatUsers';

DELETE FROM cache_storage
WHERE (namespace, key) IN (SELECT namespace, key FROM seed_rows)
  AND json_remove(value, CASE namespace WHEN 'chats' THEN '$.settings' ELSE '$.data' END) = '{}';

UPDATE cache_storage
SET value = json_remove(value, CASE namespace WHEN 'chats' THEN '$.settings' ELSE '$.data' END)
WHERE (namespace, key) IN (SELECT namespace, key FROM seed_rows);

DROP TABLE temp.seed_rows;
