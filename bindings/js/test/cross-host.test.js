// Rust and Node on one SQLite file: what the Rust host (`cache-host` CLI) writes,
// Node reads, and the other way round, with both processes' write orders merged
// correctly. Needs target/release/cache-host (`just build-rust`, or $CACHE_HOST_BIN);
// without it the test is skipped, except under CI=true, where it fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createCache, SqliteStorage } from '../src/index.js';
import { loadSchema } from '../src/schema.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BIN = process.env.CACHE_HOST_BIN ?? join(ROOT, 'target', 'release', 'cache-host');
const WASM = process.env.GROMOZEKA_CACHE_WASM ?? join(ROOT, 'target', 'cache.wasm');
const missing = !existsSync(BIN) && `${BIN} is missing: run \`just build-rust\` (or set CACHE_HOST_BIN)`;
const ci = process.env.CI === 'true' || process.env.CI === '1';

/** Runs `cache-host --db DB ARGS...`; returns its stdout. Throws with its stderr if it fails. */
function rust(db, ...args) {
  try {
    return execFileSync(BIN, ['--db', db, ...args], {
      cwd: ROOT, env: { ...process.env, CACHE_HOST_WASM: WASM }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw new Error(`cache-host ${args.join(' ')} failed (${e.status}): ${e.stderr}`);
  }
}
const json = (text) => JSON.parse(text);

test('Rust writes, Node reads; Node writes, Rust reads; one file', { skip: !ci && missing }, async () => {
  assert.ok(!missing, missing || '');
  const db = join(mkdtempSync(join(tmpdir(), 'gromozeka-cross-')), 'shared.db');

  // Rust creates the file: an on-shutdown row (persisted at exit) and an on-change row.
  rust(db, 'set', 'chats', '-100', '{"info":{"title":"from Rust","n":1}}');
  rust(db, 'set', 'chatUsers', '-100:7', '{"note":"é ✓ from Rust"}');

  // Node opens it while no Rust process runs, and reads both through the component.
  const node = await createCache({ storage: SqliteStorage.open(db) });
  assert.equal(node.loadFromStorage().loaded, 2);
  assert.deepEqual(json(node.get('chats', '-100')), { info: { title: 'from Rust', n: 1 } });
  assert.deepEqual(json(node.get('chatUsers', '-100:7')), { note: 'é ✓ from Rust' });

  // Node writes (on-change now, on-shutdown at close); Rust reads them back.
  node.set('chatUsers', '-100:8', '{"note":"from Node"}');
  node.bot.setChatInfo(-101, '{"title":"from Node"}');
  node.close();
  assert.deepEqual(json(rust(db, 'get', 'chatUsers', '-100:8')), { note: 'from Node' });
  assert.deepEqual(json(rust(db, 'get', 'chats', '-101')), { info: { title: 'from Node' } });

  // Both processes at once: Node keeps the file open (WAL) while Rust writes, and sees it.
  const live = SqliteStorage.open(db);
  rust(db, 'set', 'chatUsers', '-100:9', '{"note":"Rust, while Node has the file open"}');
  assert.deepEqual(json(live.get('chatUsers', '-100:9')), { note: 'Rust, while Node has the file open' });
  live.write({ clear: [], delete: [], upsert: [{ namespace: 'chatUsers', key: '-100:10', value: '{"note":"Node again"}' }] });
  assert.deepEqual(json(rust(db, 'get', 'chatUsers', '-100:10')), { note: 'Node again' });
  // The write orders of the two hosts merge: newest last, whichever host wrote it.
  assert.deepEqual(live.load('chatUsers', 10).map((r) => r.key), ['-100:7', '-100:8', '-100:9', '-100:10']);
  live.close();

  // One schema, one timestamp format, the application's user_version untouched.
  const check = new Database(db, { readonly: true });
  try {
    assert.equal(check.prepare('SELECT max(version) FROM gromozeka_cache_schema').pluck().get(), loadSchema().version);
    assert.equal(check.pragma('user_version', { simple: true }), 0);
    const stamps = check.prepare('SELECT updated_at FROM cache_storage').pluck().all();
    assert.equal(stamps.length, 6, '2 chats rows and 4 chatUsers rows');
    for (const t of stamps) assert.match(t, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  } finally {
    check.close();
  }
});
