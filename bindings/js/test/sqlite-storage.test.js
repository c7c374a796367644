// SqliteStorage (better-sqlite3): the storage kit, plus what only SQLite has (the
// shared schema, adopting the bot's and the seed's tables, read-only opens, text
// timestamps), and the component on top of it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createCache, InvalidJsonError, SCHEMA_DIR, SqliteStorage, StorageError } from '../src/index.js';
import { loadSchema } from '../src/schema.js';

const tmp = (name = 'cache.db') => join(mkdtempSync(join(tmpdir(), 'gromozeka-js-')), name);
const upsert = (s, namespace, key, value) => s.write({ clear: [], delete: [], upsert: [{ namespace, key, value }] });
const cacheVersion = (path) => {
  const db = new Database(path, { readonly: true });
  try {
    const exists = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'gromozeka_cache_schema'").pluck().get();
    return exists ? db.prepare('SELECT max(version) FROM gromozeka_cache_schema').pluck().get() : 0;
  } finally {
    db.close();
  }
};
const isKind = (kind) => (e) => e instanceof StorageError && e.kind === kind;

/** The storage kit's runner (storage-kit/src/bin), built by `just build-rust`. */
const KIT = process.env.STORAGE_KIT_BIN
  ?? fileURLToPath(new URL('../../../target/release/storage-kit', import.meta.url));

test('passes the storage kit, the one suite every backend runs', () => {
  // The Rust kit's own cases, over this storage served by test/kit/storage-server.js.
  const server = fileURLToPath(new URL('./kit/storage-server.js', import.meta.url));
  const run = spawnSync(KIT, ['--', process.execPath, server], { encoding: 'utf8' });
  assert.equal(run.error, undefined, `${KIT} did not start (run \`just build-rust\`)`);
  assert.equal(run.status, 0, `the kit failed:\n${run.stderr}`);
  // SQLite cannot be made to report `corrupt` mid-write, `unavailable`,
  // `conflict` or `other` on demand; every other case must have run.
  assert.deepEqual(JSON.parse(run.stdout), [
    'load-newest-n-oldest-first', 'batch-order', 'absent-is-not-an-error', 'reopen-keeps-everything',
    'bad-cell-Blob', 'bad-cell-InvalidUtf8', 'bad-cell-Null',
    'typed-error-busy', 'typed-error-full', 'typed-error-read-only', 'typed-error-constraint', 'typed-error-schema',
    'settings-merge-rewrite-unset', 'user-data',
  ]);
});

test('in a checkout the package runs the repository schema/sqlite itself', () => {
  assert.equal(realpathSync(SCHEMA_DIR), realpathSync(fileURLToPath(new URL('../../../schema/sqlite/', import.meta.url))));
});

/** The bot's database, shared by every host's tests (schema/sqlite/fixtures). */
const BOT_DDL = readFileSync(new URL('../../../schema/sqlite/fixtures/bot_database.sql', import.meta.url), 'utf8');
const botFile = () => {
  const path = tmp('bot.db');
  const db = new Database(path);
  db.exec(BOT_DDL);
  db.close();
  return path;
};
const columns = (db, table) => db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all();
const TABLES = ['chat_settings', 'user_data', 'cache_storage'];

test("adopts the bot's tables without altering them and fills its columns", () => {
  const path = botFile();
  const before = (() => { const db = new Database(path); const c = TABLES.map((t) => columns(db, t)); db.close(); return c; })();
  const s = SqliteStorage.open(path);
  // Rows written the bot's way load, in order: text timestamps, ties by key.
  assert.deepEqual(s.load('chats', 10).map((r) => r.key), ['a', 'b', '-100']);
  assert.deepEqual(s.getChatSettings(-100n), [['lang', 'ru']]);
  assert.deepEqual(s.getUserData(-100n, 5n), [['karma', '3']]);
  // Writes succeed and fill the bot's NOT NULL columns.
  s.writeChatSettings(-100n, { tag: 'merge', val: [['model', 'gpt']] });
  s.setUserData(-100n, 6n, 'k', '"v"');
  upsert(s, 'chats', '-101', '{}');
  const db = s.connection;
  const { created_at: created, updated_at: updated } = db.prepare("SELECT created_at, updated_at FROM chat_settings WHERE key = 'model'").get();
  assert.equal(created, updated);
  assert.equal(created.length, '2025-06-01 12:00:00.000000'.length, created);
  assert.ok(created > '2025-06-01 12:00:01', created);
  assert.deepEqual(db.prepare("SELECT updated_by, created_at FROM chat_settings WHERE key = 'lang'").raw().get(),
    [7, '2025-06-01 12:00:00'], "the bot's columns are kept");
  assert.equal(db.pragma('user_version', { simple: true }), 42, "PRAGMA user_version belongs to the bot's migrations");
  assert.equal(s.load('chats', 1)[0].key, '-101', 'new rows are the newest');
  assert.deepEqual(TABLES.map((t) => columns(db, t)), before, 'no column was altered');
  s.close();
  assert.equal(cacheVersion(path), loadSchema().version);
});

/** The seed design's database, shared by every host's tests (schema/sqlite/fixtures). */
const SEED_DDL = readFileSync(new URL('../../../schema/sqlite/fixtures/seed_database.sql', import.meta.url), 'utf8');

test('adopts a seed design file', () => {
  const path = tmp('seed.db');
  const db = new Database(path);
  // The seed's table from the shared fixture, with rows of this test's own.
  db.exec(SEED_DDL);
  db.exec(`DELETE FROM cache_storage;
    INSERT INTO cache_storage VALUES ('chats', 'old', '{"a":1}', '2024-01-01 10:00:00');
    INSERT INTO cache_storage VALUES ('chats', 'new', '{"a":2}', '2024-06-01 10:00:00.5');
    INSERT INTO cache_storage (namespace, key, value) VALUES ('chatUsers', '1:3', '{}');`);
  db.close();
  const s = SqliteStorage.open(path);
  assert.deepEqual(s.load('chats', 10).map((r) => r.key), ['old', 'new']);
  assert.equal(s.load('chatUsers', 10).length, 1);
  upsert(s, 'chats', 'newest', '1');
  assert.equal(s.load('chats', 1)[0].key, 'newest');
  s.setUserData(1n, 2n, 'k', '1');
  s.close();
});

test("the seed's settings and user data move into the bot's tables at the first writing open", () => {
  // The same fixture and migration (schema/sqlite) the Rust host's tests use.
  const path = tmp('seed.db');
  const db = new Database(path);
  db.exec(SEED_DDL);
  db.close();
  const s = SqliteStorage.open(path);
  assert.deepEqual(new Map(s.getUserData(-100n, 5n)),
    new Map([['k', '"v"'], ['n', '2'], ['list', '[1,"two"]'], ['a b', '{"c":null}']]));
  assert.deepEqual(new Map(s.getChatSettings(-100n)), new Map([['lang', 'ru'], ['strict', 'true'], ['limit', '5']]));
  assert.deepEqual(s.get('chats', '-100'), '{"info":{"title":"t"}}');
  assert.equal(s.get('chatUsers', '-100:5'), null, 'a row left empty is deleted');
  assert.equal(s.get('chatUsers', 'not-a-pair'), '{"data":{"k":"kept"}}');
  s.close();
});

test('a read-only open changes nothing', () => {
  const path = botFile();
  const bytes = readFileSync(path);
  const ro = SqliteStorage.open(path, { readOnly: true });
  assert.equal(ro.load('chats', 10).length, 3);
  assert.throws(() => ro.writeChatSettings(1n, { tag: 'unset', val: 'x' }), isKind('read-only'));
  assert.throws(() => upsert(ro, 'chats', 'x', '{}'), isKind('read-only'));
  ro.close();
  assert.deepEqual(readFileSync(path), bytes, 'the file is byte for byte the same');
  assert.ok(!existsSync(`${path}-wal`), 'no WAL was started');
  assert.equal(cacheVersion(path), 0, 'no migration');
  const typo = join(path, '..', 'typo.db');
  assert.throws(() => SqliteStorage.open(typo, { readOnly: true }), isKind('unavailable'));
  assert.ok(!existsSync(typo));
  assert.throws(() => SqliteStorage.open(join(path, '..', 'no-such-dir', 'x.db')), isKind('unavailable'));
});

test('creates its schema in WAL and reopens without writing', () => {
  const path = tmp();
  const s = SqliteStorage.open(path);
  assert.equal(s.connection.pragma('journal_mode', { simple: true }), 'wal');
  s.close();
  const again = SqliteStorage.open(path);
  assert.equal(again.connection.prepare('SELECT total_changes()').pluck().get(), 0, 'reopening an up-to-date file writes nothing');
  again.close();
});

test('refuses a newer schema and a non-database', () => {
  const path = tmp('newer.db');
  SqliteStorage.open(path).close();
  const db = new Database(path);
  db.exec('INSERT INTO gromozeka_cache_schema (version) VALUES (99)');
  db.close();
  assert.throws(() => SqliteStorage.open(path), (e) => isKind('schema')(e) && e.message.includes('version 99'));
  assert.throws(() => SqliteStorage.open(path, { readOnly: true }), isKind('schema'));
  const junk = tmp('junk.db');
  writeFileSync(junk, Buffer.alloc(8192, 0x5a));
  assert.throws(() => SqliteStorage.open(junk), (e) => isKind('corrupt')(e) && e.message.includes('junk.db'));
});

test('a file whose tables lack a column the cache needs is a schema error at open', () => {
  const path = tmp();
  const db = new Database(path);
  db.exec(SEED_DDL);
  db.exec('ALTER TABLE cache_storage DROP COLUMN value');
  db.close();
  assert.throws(() => SqliteStorage.open(path), isKind('schema'));
});

test('later writes sort after rows from the future', () => {
  const path = tmp();
  const s = SqliteStorage.open(path);
  s.connection.exec("INSERT INTO cache_storage VALUES ('ns', 'future', '1', '2999-01-01 00:00:00')");
  s.close();
  const again = SqliteStorage.open(path);
  upsert(again, 'ns', 'a', '1');
  upsert(again, 'ns', 'b', '1');
  assert.deepEqual(again.load('ns', 2).map((r) => r.key), ['a', 'b']);
  again.close();
});

test('a setting or data item that is not text is a corrupt error naming it', () => {
  const s = SqliteStorage.open(tmp());
  s.writeChatSettings(1n, { tag: 'merge', val: [['ok', 'fine']] });
  s.connection.exec(`INSERT INTO chat_settings VALUES (1, 'bad', CAST(X'C328' AS TEXT), '2020-01-01', '2020-01-01');
    INSERT INTO chat_settings VALUES (2, 'fffd', '\uFFFD valid', '2020-01-01', '2020-01-01');
    INSERT INTO user_data VALUES (5, 1, 'blob', X'00', '2020-01-01', '2020-01-01');`);
  assert.throws(() => s.getChatSettings(1n), (e) => isKind('corrupt')(e) && e.message.includes('"bad"') && e.message.includes('UTF-8'));
  assert.deepEqual(s.getChatSettings(2n), [['fffd', '\uFFFD valid']], 'a real U+FFFD is text');
  assert.throws(() => s.getUserData(1n, 5n), (e) => isKind('corrupt')(e) && e.message.includes('BLOB'));
  s.close();
});

test('ids beyond 2^53 are stored exactly', () => {
  const s = SqliteStorage.open(tmp());
  const chat = -9223372036854775808n;
  const user = 9223372036854775807n;
  s.setUserData(chat, user, 'k', '1');
  s.writeChatSettings(chat, { tag: 'merge', val: [['a', 'b']] });
  assert.deepEqual(s.getUserData(chat, user), [['k', '1']]);
  assert.deepEqual(s.getUserData(chat + 1n, user), []);
  assert.deepEqual(s.getChatSettings(chat), [['a', 'b']]);
  s.close();
});

test('the component persists through SQLite and reloads in a new instance', async () => {
  const path = tmp();
  const first = await createCache({ storage: SqliteStorage.open(path) });
  first.bot.setChatInfo(-100, '{"title":"Group"}');
  first.bot.setChatSettings(-100, '{"lang":"ru","model":"gpt"}');
  first.bot.setChatSettings(-100, '{"lang":"en"}', 'merge');
  first.bot.unsetChatSetting(-100, 'model');
  first.bot.setUserData(-100, 7, 'lang', '"ru"');
  assert.throws(() => first.set('users', 'k', 'not json'), InvalidJsonError);
  assert.throws(() => first.bot.setChatSettings(-100, '{"n":5}'), InvalidJsonError, 'setting values are strings');
  first.close();

  const second = await createCache({ storage: SqliteStorage.open(path) });
  assert.equal(second.loadFromStorage().loaded, 1);
  assert.deepEqual(JSON.parse(second.bot.getChatInfo(-100n)), { title: 'Group' });
  assert.deepEqual(JSON.parse(second.bot.getChatSettings(-100n)), { lang: 'en' });
  second.bot.setChatSettings(-100n, '{"only":"this"}', 'rewrite');
  assert.deepEqual(JSON.parse(second.bot.getUserData(-100n, 7n)), { lang: 'ru' });
  assert.deepEqual(second.storage.getChatSettings(-100n), [['only', 'this']]);
  second.close();
});

test('a storage failure reaches the caller as a StorageError with its kind', async () => {
  const path = tmp();
  SqliteStorage.open(path).close();
  const cache = await createCache({ storage: SqliteStorage.open(path, { readOnly: true }) });
  assert.throws(() => cache.bot.setUserData(1, 2, 'k', '1'), (e) => {
    assert.ok(e instanceof StorageError, String(e));
    assert.equal(e.case, 'storage');
    assert.equal(e.kind, 'read-only');
    assert.match(e.detail, /read-only/);
    return true;
  });
  assert.equal(cache.bot.getUserData(1, 2), '{}', 'the instance still works after a storage error');
  cache.storage.close();
});

test("the component works on a file created by the bot's migrations", async () => {
  const path = botFile();
  const cache = await createCache({ storage: SqliteStorage.open(path) });
  assert.deepEqual(cache.loadFromStorage(), { loaded: 2, skipped: [] }, 'chats a and b are {}: empty records are no entries');
  assert.deepEqual(JSON.parse(cache.bot.getChatInfo(-100n)), { t: 1 });
  assert.deepEqual(JSON.parse(cache.bot.getChatSettings(-100n)), { lang: 'ru' }, 'a NULL setting is absent');
  assert.deepEqual(JSON.parse(cache.bot.getUserData(-100n, 5n)), { karma: 3 });
  cache.bot.setChatSettings(-100n, '{"model":"gpt"}');
  cache.bot.setUserData(-100n, 5n, 'karma', '4');
  cache.close();
  const db = new Database(path, { readonly: true });
  try {
    const filled = db.prepare("SELECT count(*) FROM chat_settings WHERE key = 'model' AND created_at IS NOT NULL AND updated_at IS NOT NULL").pluck().get();
    assert.equal(filled, 1, "the bot's NOT NULL columns are filled");
    assert.equal(db.prepare("SELECT data FROM user_data WHERE user_id = 5 AND chat_id = -100 AND key = 'karma'").pluck().get(), '4');
    assert.equal(db.prepare("SELECT value FROM chat_settings WHERE key = 'lang'").pluck().get(), 'ru', 'merge kept the other setting');
  } finally {
    db.close();
  }
});
