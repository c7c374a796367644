// The Node host's write-back bound, tested as the Rust host's is: a real process
// makes on-shutdown changes and is killed with SIGKILL; what reached the file is
// counted. With the bound every change survives a kill after the age bound; without
// it (writeBack: null) none does. The count bound writes back synchronously.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { createCache, DEFAULT_WRITE_BACK, SqliteStorage } from '../src/index.js';

const tmp = (name) => join(mkdtempSync(join(tmpdir(), 'gromozeka-wb-')), name);
const storedChats = (path) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM cache_storage WHERE namespace = 'chats'").pluck().get();
  } finally {
    db.close();
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A child process: 50 setChatInfo calls with `writeBack`, then idles until killed. */
function writer(path, writeBack) {
  const script = `
    import { createCache, SqliteStorage } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    const cache = await createCache({ storage: SqliteStorage.open(${JSON.stringify(path)}), writeBack: ${JSON.stringify(writeBack)} });
    cache.loadFromStorage();
    for (let i = 0; i < 50; i++) cache.bot.setChatInfo(-i, JSON.stringify({ n: i }));
    process.stdout.write('written\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const written = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('written')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
  });
  return { child, written };
}

async function killAfter(child, ms) {
  await sleep(ms);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

test('a killed process loses no on-shutdown change older than the age bound', async () => {
  const path = tmp('bound.db');
  const { child, written } = writer(path, { maxAge: 500, maxPending: 256 });
  await written;
  await killAfter(child, 1500);
  assert.equal(storedChats(path), 50, 'every change was written back before the kill');
});

test('without a write-back bound a killed process loses every pending change', async () => {
  const path = tmp('none.db');
  const { child, written } = writer(path, null);
  await written;
  await killAfter(child, 1500);
  assert.equal(storedChats(path), 0);
});

test('the count bound writes back at once, and persistAll resets it', async () => {
  const path = tmp('count.db');
  const cache = await createCache({ storage: SqliteStorage.open(path), writeBack: { maxAge: null, maxPending: 10 } });
  for (let i = 0; i < 9; i++) cache.bot.setChatInfo(-i, '{"n":1}');
  assert.equal(cache.pendingChanges('chats').keys.length, 9);
  cache.bot.setChatInfo(-9, '{"n":1}');
  assert.equal(cache.pendingChanges('chats').keys.length, 0, 'the tenth change wrote all ten');
  assert.equal(storedChats(path), 10);
  // Reads are not counted; rewriting one key nine times leaves one change pending,
  // which the exact count (not the call count) sees.
  for (let i = 0; i < 20; i++) cache.bot.getChatInfo(-1);
  for (let i = 0; i < 10; i++) cache.bot.setChatInfo(-1, `{"n":${i}}`);
  assert.deepEqual(cache.pendingChanges('chats').keys, ['-1']);
  cache.persistAll();
  assert.equal(cache.writeBack.unpersisted, 0);
  assert.equal(cache.writeBack.failures, 0);
  cache.close();
});

test('bounds are checked, and the defaults are every host\'s', async () => {
  assert.deepEqual({ ...DEFAULT_WRITE_BACK }, { maxAge: 5000, maxPending: 256 });
  await assert.rejects(createCache({ writeBack: { maxAge: -1 } }), RangeError);
  await assert.rejects(createCache({ writeBack: { maxPending: 1.5 } }), RangeError);
});
