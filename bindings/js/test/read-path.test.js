// The read path (src/read-path.js) on the real component: seeded random sequences
// run with it on and off must give the same answers, errors, storage calls, stats
// and final contents; copies are dropped by a trap, `configure`, `setStorage`,
// `close` and `setReadPath(false)`; its stats are reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CacheError, ComponentTrapError, createCache, SqliteStorage } from '../src/index.js';
import { MAX_LOGGED_HITS, MAX_PENDING_HITS } from '../src/read-path.js';
import { RecordingStorage } from './support/recording-storage.js';

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** A seeded PRNG (mulberry32): the same seed, the same sequence. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

const GENERIC = ['m', 'c', 's'];
/** Small capacities, so that evictions depend on the exact LRU order. */
function table(r) {
  const cap = () => 1 + r.int(5);
  return [
    { name: 'm', maxEntries: cap(), persistence: 'memory-only' },
    { name: 'c', maxEntries: cap(), persistence: 'on-change' },
    { name: 's', maxEntries: cap(), persistence: 'on-shutdown' },
    { name: 'chats', maxEntries: cap(), persistence: 'on-shutdown' },
    { name: 'chatUsers', maxEntries: cap(), persistence: 'on-change' },
    { name: 'users', maxEntries: cap(), persistence: 'memory-only' },
  ];
}
// A key of 2-byte and 4-byte UTF-8 characters: `hit-batch` measures keys in bytes.
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'ключ', '🔑x'];
const CHATS = [-100n, -101n, -102n, -103n, -104n];
const USERS = [1n, 2n, 3n, 4n];
const STATE_KEYS = ['step', 'lang', 'шаг'];

/**
 * One random operation as [name, run(cache)]; `reads` is the share of reads.
 * The operation is drawn once and run on both caches.
 */
function randomOp(r, reads) {
  // Skewed towards a few hot entries, so that copies are made and served.
  const hot = (xs) => (r.next() < 0.6 ? xs[r.int(2)] : r.pick(xs));
  const ns = r.pick(GENERIC);
  const key = hot(KEYS);
  const chat = hot(CHATS);
  const user = hot(USERS);
  const value = () => `{"v":${r.int(1000)}}`;
  if (r.next() < reads) {
    switch (r.int(6)) {
      case 0: case 1: case 2: return [`get ${ns} ${key}`, (c) => c.get(ns, key)];
      case 3: return [`getChatSettings ${chat}`, (c) => c.bot.getChatSettings(chat)];
      case 4: return [`getUserData ${chat} ${user}`, (c) => c.bot.getUserData(chat, user)];
      default: {
        const sk = r.pick(STATE_KEYS);
        return r.int(2) ? [`getUserState ${user} ${sk}`, (c) => c.bot.getUserState(user, sk)]
          : [`getChatInfo ${chat}`, (c) => c.bot.getChatInfo(chat)];
      }
    }
  }
  const v = value();
  switch (r.int(20)) {
    case 0: case 1: case 2: case 3: case 4: return [`set ${ns} ${key} ${v}`, (c) => c.set(ns, key, v)];
    case 5: return [`delete ${ns} ${key}`, (c) => c.delete(ns, key)];
    case 6: {
      const keys = [r.pick(KEYS), r.pick(KEYS)];
      return [`getMany ${ns} ${keys}`, (c) => c.getMany(ns, keys)];
    }
    case 7: return [`clearNamespace ${ns}`, (c) => c.clearNamespace(ns)];
    case 8: {
      const t = table(r);
      return [`configure ${show(t)}`, (c) => c.configure(t)];
    }
    case 9: return ['stats', (c) => c.stats()];
    case 10: return ['persistAll', (c) => c.persistAll()];
    case 11: return [`forget ${ns} ${key}`, (c) => c.forget(ns, key)];
    case 12: return [`setChatSettings ${chat}`, (c) => c.bot.setChatSettings(chat, `{"lang":"${v}"}`)];
    case 13: return [`setUserData ${chat} ${user}`, (c) => c.bot.setUserData(chat, user, 'karma', v)];
    case 14: {
      const sk = r.pick(STATE_KEYS);
      return [`setUserState ${user} ${sk}`, (c) => c.bot.setUserState(user, sk, v)];
    }
    case 15: return [`clearUserState ${user}`, (c) => c.bot.clearUserState(user)];
    case 16: return [`setChatInfo ${chat}`, (c) => c.bot.setChatInfo(chat, v)];
    case 17: return [`forgetUserData ${chat} ${user}`, (c) => c.call('bot', 'forgetUserData', chat, user)];
    case 18: return [`set ${ns} ${key} bad json`, (c) => c.set(ns, key, '{')];
    default: return [`get unknown ${key}`, (c) => c.get('nope', key)];
  }
}

/** What an operation answered, as comparable text. */
function outcome(run, cache) {
  try {
    return `ok ${show(run(cache))}`;
  } catch (e) {
    if (!(e instanceof CacheError)) throw e;
    return `err ${e.case} ${e.detail}`;
  }
}

/** Two caches over their own recording storages, the read path on in the first only. */
async function pair(r) {
  const t = table(r);
  const made = [];
  for (const readPath of [true, false]) {
    const storage = new RecordingStorage();
    const cache = await createCache({ storage, readPath, writeBack: null });
    cache.configure(t);
    made.push({ cache, storage });
  }
  return made;
}

/** Everything either cache holds, read the same way from both at the end. */
function contents(cache, storage) {
  const held = GENERIC.map((ns) => cache.getMany(ns, KEYS));
  return show({
    stats: cache.stats(),
    held,
    persisted: cache.persistAll(),
    rows: storage.rows(),
    settings: storage.chatSettings(),
    data: storage.userDataItems(),
  });
}

/**
 * Runs `ops` random operations of seed `seed` on both caches, comparing every
 * answer and its storage calls; then their stats and contents. The read path's stats.
 */
async function differential(seed, ops, reads) {
  const r = rng(seed);
  const [on, off] = await pair(r);
  for (let i = 0; i < ops; i += 1) {
    const [what, run] = randomOp(r, reads);
    on.storage.calls = [];
    off.storage.calls = [];
    const a = outcome(run, on.cache);
    const b = outcome(run, off.cache);
    const where = `seed ${seed}, operation ${i}: ${what}`;
    assert.equal(a, b, `${where}: answers differ`);
    assert.equal(show(on.storage.calls), show(off.storage.calls), `${where}: storage calls differ`);
  }
  assert.equal(contents(on.cache, on.storage), contents(off.cache, off.storage), `seed ${seed}: final stats or contents differ`);
  const stats = on.cache.readPathStats();
  assert.equal(stats.stale, 0, `seed ${seed}: a stale copy was served`);
  assert.equal(off.cache.readPathStats().served, 0);
  on.storage.close();
  off.storage.close();
  return stats;
}

test('random operations give the same answers, storage calls, stats and contents with the read path on and off', async (t) => {
  let served = 0;
  let syncs = 0;
  for (let seed = 1; seed <= 24; seed += 1) {
    // Mostly reads for long runs of pending hits, then a mixed load.
    const stats = await differential(seed, 1500, seed % 2 ? 0.95 : 0.6);
    served += stats.served;
    syncs += stats.syncs;
  }
  t.diagnostic(`${served} reads served from copies, ${syncs} syncs`);
  assert.ok(served > 5000, `only ${served} reads were served from copies`);
});

test('pending hits are replayed at the bound, and evictions follow the replayed order', async () => {
  const caches = [];
  for (const readPath of [true, false]) {
    const cache = await createCache({ readPath });
    cache.configure([{ name: 'big', maxEntries: 2000, persistence: 'memory-only' }]);
    caches.push(cache);
  }
  const keys = Array.from({ length: 2000 }, (_, i) => `key${i}`);
  const run = (fn) => caches.map(fn);
  run((c) => keys.forEach((k, i) => c.set('big', k, `${i}`)));
  run((c) => keys.forEach((k) => c.get('big', k))); // copies made
  const [on] = caches;
  const before = on.readPathStats();
  assert.equal(before.copies, 2000);
  // Read in reverse: the oldest 1500 entries become the most recent, in 1500 hits of distinct entries.
  const reverse = keys.slice(0, 1500).reverse();
  const answers = run((c) => reverse.map((k) => c.get('big', k)));
  assert.deepEqual(answers[0], answers[1]);
  const after = on.readPathStats();
  assert.equal(after.served - before.served, 1500);
  assert.equal(after.syncs - before.syncs, 1, `one replay when ${MAX_PENDING_HITS} entries were pending`);
  // 500 new entries evict the 500 least recent: key1500..key1999, as without the read path.
  run((c) => keys.slice(0, 500).forEach((k, i) => c.set('big', `new${k}`, `${i}`)));
  const held = run((c) => c.getMany('big', keys));
  assert.deepEqual(held[0], held[1]);
  assert.equal(held[0].filter((v) => v === null).length, 500);
  assert.ok(held[0].slice(1500).every((v) => v === null));
  assert.deepEqual(run((c) => c.stats()).map(show), Array(2).fill(show(caches[1].stats())));
  // Two entries hit in turn: few entries, many logged hits; replayed at MAX_LOGGED_HITS.
  run((c) => { c.get('big', 'key0'); c.get('big', 'key1'); });
  const { syncs } = on.readPathStats();
  const turns = run((c) => Array.from({ length: MAX_LOGGED_HITS + 100 }, (_, i) => c.get('big', `key${i % 2}`)));
  assert.deepEqual(turns[0], turns[1]);
  assert.equal(on.readPathStats().syncs - syncs, 1, `one replay when ${MAX_LOGGED_HITS} hits were logged`);
  assert.deepEqual(run((c) => c.stats()).map(show), Array(2).fill(show(caches[1].stats())));
});

test('read path stats: copies, bytes, served, syncs; only storage-free answers are copied', async () => {
  const storage = SqliteStorage.open(':memory:');
  storage.write({ clear: [], delete: [], upsert: [{ namespace: 'c', key: 'stored', value: '"s"' }] });
  const cache = await createCache({ storage });
  cache.configure([{ name: 'm', maxEntries: 4, persistence: 'memory-only' }, { name: 'c', maxEntries: 4, persistence: 'on-change' }]);
  assert.deepEqual(cache.readPathStats(), { enabled: true, copies: 0, bytes: 0, served: 0, syncs: 0, stale: 0 });
  cache.set('m', 'kл', '"v"');
  assert.equal(cache.get('m', 'kл'), '"v"'); // enters, copied
  assert.equal(cache.get('m', 'kл'), '"v"'); // served
  // 96 bytes of bookkeeping + 'm' + 'kл' (3 UTF-8 bytes) + '"v"'.
  assert.deepEqual(cache.readPathStats(), { enabled: true, copies: 1, bytes: 96 + 1 + 3 + 3, served: 1, syncs: 1, stale: 0 });
  // A read through storage is not copied; the same read from memory then is.
  assert.equal(cache.get('c', 'stored'), '"s"');
  assert.equal(cache.readPathStats().copies, 1);
  assert.equal(cache.get('c', 'stored'), '"s"');
  assert.equal(cache.readPathStats().copies, 2);
  // A miss is not copied.
  assert.equal(cache.get('m', 'none'), null);
  assert.equal(cache.readPathStats().copies, 2);
  // A write drops the copy of its entry at the next sync; the new value is read.
  cache.set('m', 'kл', '"w"');
  assert.equal(cache.get('m', 'kл'), '"w"');
  assert.equal(cache.get('m', 'kл'), '"w"');
  const stats = cache.readPathStats();
  assert.equal(stats.copies, 2);
  assert.equal(stats.served, 2);
  assert.equal(cache.stats()[0].hits, 4);
  // Off: every copy goes, reads enter the component; on again: copies are made again.
  cache.setReadPath(false);
  assert.deepEqual(cache.readPathStats(), { ...cache.readPathStats(), enabled: false, copies: 0, bytes: 0 });
  cache.get('m', 'kл');
  cache.get('m', 'kл');
  assert.equal(cache.readPathStats().served, 2);
  cache.setReadPath(true);
  cache.get('m', 'kл');
  cache.get('m', 'kл');
  assert.equal(cache.readPathStats().served, 3);
  assert.equal(cache.stats()[0].hits, 8);
  cache.close();
  assert.equal(cache.readPathStats().copies, 0);
});

test('namespaces whose entries expire are not copied', async () => {
  const cache = await createCache();
  cache.configure([{ name: 'm', maxEntries: 4, persistence: 'memory-only' }, { name: 'n', maxEntries: 4, persistence: 'memory-only' }]);
  cache.set('m', 'k', '1');
  cache.set('n', 'k', '1');
  cache.get('m', 'k');
  cache.get('n', 'k');
  assert.equal(cache.readPathStats().copies, 2);
  cache.call('cache', 'expireAfterWrite', 'm', 1000n);
  assert.equal(cache.readPathStats().copies, 1);
  cache.get('m', 'k');
  cache.get('m', 'k');
  assert.equal(cache.readPathStats().copies, 1);
  // Expiry ends: copied again.
  cache.call('cache', 'expireAfterWrite', 'm', undefined);
  cache.get('m', 'k');
  assert.equal(cache.readPathStats().copies, 2);
  // Expiring, then dropped by a configure that makes it persisted: copied again.
  cache.call('cache', 'expireAfterWrite', 'n', 5n);
  cache.configure([{ name: 'm', maxEntries: 4, persistence: 'memory-only' }, { name: 'n', maxEntries: 4, persistence: 'on-change' }]);
  cache.set('n', 'k', '2');
  cache.get('n', 'k');
  assert.equal(cache.readPathStats().copies, 1);
});

test('configure and setStorage drop every copy; reads then enter the component', async () => {
  const cache = await createCache();
  const t = [{ name: 'm', maxEntries: 4, persistence: 'memory-only' }];
  cache.configure(t);
  cache.set('m', 'a', '1');
  cache.set('m', 'b', '2');
  cache.get('m', 'a');
  cache.get('m', 'b');
  assert.equal(cache.readPathStats().copies, 2);
  cache.configure(t);
  assert.equal(cache.readPathStats().copies, 0);
  const served = cache.readPathStats().served;
  assert.equal(cache.get('m', 'a'), '1');
  assert.equal(cache.readPathStats().served, served);
  assert.equal(cache.readPathStats().copies, 1);
  cache.setStorage(SqliteStorage.open(':memory:'));
  assert.equal(cache.readPathStats().copies, 0);
  assert.equal(cache.get('m', 'a'), '1');
  assert.equal(cache.stats()[0].hits, 4);
});

test('a trap drops every copy: no answer is served from the dead instance', async () => {
  const inner = SqliteStorage.open(':memory:');
  let broken = false;
  // A storage whose `get` returns a number: jco cannot lower it, and the call traps.
  const storage = {
    load: (...a) => inner.load(...a),
    get: (...a) => (broken ? 42 : inner.get(...a)),
    write: (...a) => inner.write(...a),
    getChatSettings: (...a) => inner.getChatSettings(...a),
    writeChatSettings: (...a) => inner.writeChatSettings(...a),
    getUserData: (...a) => inner.getUserData(...a),
    setUserData: (...a) => inner.setUserData(...a),
    close: () => inner.close(),
  };
  const cache = await createCache({ storage });
  cache.configure([{ name: 'm', maxEntries: 4, persistence: 'memory-only' }, { name: 'c', maxEntries: 4, persistence: 'on-change' }]);
  cache.set('m', 'a', '1');
  cache.get('m', 'a');
  assert.equal(cache.get('m', 'a'), '1');
  assert.equal(cache.readPathStats().copies, 1);
  broken = true;
  assert.throws(() => cache.get('c', 'not-held'), ComponentTrapError);
  assert.equal(cache.readPathStats().copies, 0);
  assert.equal(cache.readPathStats().bytes, 0);
  assert.throws(() => cache.get('m', 'a'), ComponentTrapError);
  assert.throws(() => cache.bot.getUserState(1n, 'x'), ComponentTrapError);
});

test('an entry replayed once is named by its handle in later replays, with the same effect as its key', async () => {
  const caches = [];
  for (const readPath of [true, false]) {
    const cache = await createCache({ readPath });
    cache.configure([{ name: 'n', maxEntries: 3, persistence: 'memory-only' }]);
    caches.push(cache);
  }
  const run = (fn) => caches.map(fn);
  const [on] = caches;
  const batches = [];
  const take = on.readPath.takeHits.bind(on.readPath);
  on.readPath.takeHits = () => { const batch = take(); batches.push(batch); return batch; };
  run((c) => ['a', 'b', 'c'].forEach((k) => c.set('n', k, '1')));
  run((c) => ['a', 'b', 'c'].forEach((k) => c.get('n', k))); // copies made
  run((c) => ['c', 'b', 'a'].forEach((k) => c.get('n', k))); // served, by key at the next call
  run((c) => c.stats());
  run((c) => ['b', 'c'].forEach((k) => c.get('n', k))); // served, by handle: a is the least recent
  run((c) => c.set('n', 'd', '1')); // evicts a
  const named = batches.filter((b) => b.entries.length > 0);
  assert.equal(named.length, 2);
  assert.equal(named[0].keys, 'cba');
  assert.deepEqual([...named[0].handles], Array(6).fill(0xffff_ffff));
  assert.equal(named[1].keys, '', 'b and c named by their handles');
  assert.ok([...named[1].handles].every((n) => n !== 0xffff_ffff));
  assert.deepEqual(run((c) => ['a', 'b', 'c', 'd'].map((k) => c.get('n', k))), Array(2).fill([null, '1', '1', '1']));
  assert.deepEqual(run((c) => c.stats()).map(show), Array(2).fill(show(caches[1].stats())));
  assert.equal(on.readPathStats().stale, 0);
});
