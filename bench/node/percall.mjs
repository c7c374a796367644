#!/usr/bin/env node
// The Node host's per-call costs, for `just bench` (bench/node/run): the component
// transpiled by jco on V8 over better-sqlite3 (bindings/js), each call measured
// side by side with its floor, interleaved round by round, medians of the timed
// rounds. Prints a Markdown section; `--append FILE` appends it to FILE instead.
// `--quick` runs fewer rounds.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCache, SqliteStorage } from '../../bindings/js/src/index.js';
import { loadSchema } from '../../bindings/js/src/schema.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const appendTo = args.includes('--append') ? args[args.indexOf('--append') + 1] : null;
const ROUNDS = quick ? { warmup: 1, reps: 3 } : { warmup: 3, reps: 15 };
const HOT_ENTRIES = 1000;
const HOT_OPS = 10_000;
/** Rows already stored when the write measurements run (the former sql.js storage was measured at 10k rows). */
const STORED_ROWS = 10_000;
const WRITE_OPS = 500;

const key = (i) => `-100${1_234_567_890 + 7 * i}`;
/** JSON text of exactly 64 bytes for entry `i`. */
function value64(i) {
  const head = `{"i":${i},"pad":"`;
  return `${head}${'x'.repeat(64 - head.length - 2)}"}`;
}
/** A fixed pseudo-random sequence of `n` indices below `max` (xorshift). */
function pattern(n, max) {
  let x = 0x9e3779b9;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % max;
  });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Median ns per operation of each body (`() => ops`), the bodies run in turn every round. */
function interleaved(bodies) {
  for (let r = 0; r < ROUNDS.warmup; r += 1) bodies.forEach((b) => b());
  const samples = bodies.map(() => []);
  for (let r = 0; r < ROUNDS.reps; r += 1) {
    bodies.forEach((b, i) => {
      const start = process.hrtime.bigint();
      const ops = b();
      samples[i].push(Number(process.hrtime.bigint() - start) / ops);
    });
  }
  return samples.map(median);
}
const fmt = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);

const dir = mkdtempSync(join(tmpdir(), 'gromozeka-node-bench-'));
const lines = [];
const notes = [];
try {
  const q = loadSchema().queries;

  // Hot get: the component (memory-only namespace) vs a JS Map used as an LRU (get + re-insert).
  // With the read path (the default) hits are answered from the host's copies; each round
  // ends with a `stats` call, which first replays the round's hits into the component
  // (`sync`), so the replay is in the time. The same instance is measured with the read
  // path off first (a second instance would make jco's generated code polymorphic and every
  // call slower).
  {
    const cache = await createCache({ storage: SqliteStorage.open(join(dir, 'hot.db')) });
    cache.configure([{ name: 'v64', maxEntries: HOT_ENTRIES, persistence: 'memory-only' }]);
    const map = new Map();
    for (let i = 0; i < HOT_ENTRIES; i += 1) {
      cache.set('v64', key(i), value64(i));
      map.set(key(i), value64(i));
    }
    const seq = pattern(HOT_OPS, HOT_ENTRIES).map(key);
    if (cache.get('v64', seq[0]) !== map.get(seq[0])) throw new Error('the hot get returned a wrong value');
    let sink = 0;
    const component = () => {
      for (const k of seq) sink += cache.get('v64', k).length;
      cache.stats();
      return seq.length;
    };
    const lru = () => {
      for (const k of seq) { const v = map.get(k); map.delete(k); map.set(k, v); sink += v.length; }
      return seq.length;
    };
    cache.setReadPath(false);
    const [withoutCopies, lruTimeOff] = interleaved([component, lru]);
    cache.setReadPath(true);
    const [withCopies, lruTime] = interleaved([component, lru]);
    const { served, syncs } = cache.readPathStats();
    if (served === 0) throw new Error('the read path served no hit');
    if (sink === 0) throw new Error('nothing was read');
    lines.push(['hot `get`, 64 B, memory-only: component (jco, V8) ÷ JS `Map` as an LRU', withCopies, lruTime, '/get']);
    lines.push(['hot `get`, 64 B, memory-only, read path off: component (jco, V8) ÷ JS `Map` as an LRU', withoutCopies, lruTimeOff, '/get']);
    notes.push(`Hot rows: with the read path (the default) a hit is answered from the host's copy and replayed into the component by the \`stats\` call that ends each round (included in the time; ${served} hits served, ${syncs} \`sync\` calls); read path off: every \`get\` enters the component (\`setReadPath(false)\`, same instance).`);
    cache.storage.close();
  }

  // Writes at STORED_ROWS rows: through the component vs the same SQL file run bare on better-sqlite3,
  // each write its own IMMEDIATE transaction, both on WAL files with synchronous = NORMAL.
  {
    const cache = await createCache({ storage: SqliteStorage.open(join(dir, 'writes.db')) });
    const bare = SqliteStorage.open(join(dir, 'bare.db')).connection;
    const fill = [];
    for (let i = 0; i < STORED_ROWS; i += 1) fill.push([key(i), value64(i)]);
    for (let i = 0; i < fill.length; i += 500) cache.setMany('chatUsers', fill.slice(i, i + 500));
    const upsertRow = bare.prepare(q.rows_upsert);
    const upsertData = bare.prepare(q.user_data_upsert);
    let seq = BigInt(Date.now()) * 1000n;
    const tx = bare.transaction((fn) => fn());
    tx.immediate(() => fill.forEach(([k, v]) => upsertRow.run({ 1: 'chatUsers', 2: k, 3: v, 4: (seq += 1n) })));
    const ids = pattern(WRITE_OPS, STORED_ROWS);
    let round = 0;
    const [set, bareSet, userData, bareUserData] = interleaved([
      () => { round += 1; ids.forEach((i) => cache.set('chatUsers', key(i), `{"r":${round}}`)); return ids.length; },
      () => {
        ids.forEach((i) => tx.immediate(() => upsertRow.run({ 1: 'chatUsers', 2: key(i), 3: `{"r":${round}}`, 4: (seq += 1n) })));
        return ids.length;
      },
      () => { ids.forEach((i) => cache.bot.setUserData(-100n, BigInt(i), 'karma', `${round}`)); return ids.length; },
      () => {
        ids.forEach((i) => tx.immediate(() => upsertData.run({ 1: -100n, 2: BigInt(i), 3: 'karma', 4: `${round}`, 5: (seq += 1n) })));
        return ids.length;
      },
    ]);
    lines.push([`\`set\` of an on-change entry at ${STORED_ROWS} rows: component ÷ bare better-sqlite3 upsert (same SQL)`, set, bareSet, '/set']);
    lines.push(['`bot.setUserData`: component ÷ bare better-sqlite3 `user_data` upsert (same SQL)', userData, bareUserData, '/call']);
    cache.storage.close();
    bare.close();
  }
  notes.push(`Node ${process.version}, better-sqlite3 through bindings/js; ${ROUNDS.reps} timed rounds after ${ROUNDS.warmup} warm-up, `
    + `interleaved; hot rows ${HOT_OPS} gets per round over ${HOT_ENTRIES} keys, write rows ${WRITE_OPS} calls per round, each `
    + 'one IMMEDIATE transaction on a WAL file (synchronous = NORMAL). The former sql.js storage measured 4.4 ms '
    + 'per write and 7.8 ms per `setUserData` at 10k rows.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const table = [
  '',
  '## Node host per call (`bench/node/percall.mjs`)',
  '',
  '| Measurement | Component | Baseline | Ratio |',
  '|---|---|---|---|',
  ...lines.map(([what, a, b, unit]) => `| ${what} | ${fmt(a)} ${unit} | ${fmt(b)} ${unit} | ${(a / b).toFixed(2)}× |`),
  '',
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n');
if (appendTo) appendFileSync(appendTo, table);
else process.stdout.write(table);
