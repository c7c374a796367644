#!/usr/bin/env node
// What the Node host's read path costs and saves when reads are mixed with writes
// (not part of `just bench`; run by hand after bench/node/run has built bindings/js):
// one memory-only namespace of 1000 entries, 10000 `get`s per round in a fixed
// pseudo-random order, with one `set` of a pseudo-random key before every Nth
// `get`, and a `stats` call ending each round (which replays the pending hits).
// Prints ns per `get`, its share of the `set`s included, with the read path on and
// off. Each mode runs in its own process, the processes alternating (`--runs`, 3 by
// default): two instances in one process make jco's generated code polymorphic and
// every call slower. `--child on|off` is one such process.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCache } from '../../bindings/js/src/index.js';

const MIXES = [1, 2, 5, 10, 20, 100, 0]; // one set per N gets; 0: none
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function child(readPath) {
  const key = (i) => `-100${1_234_567_890 + 7 * i}`;
  const value64 = (i) => { const head = `{"i":${i},"pad":"`; return `${head}${'x'.repeat(64 - head.length - 2)}"}`; };
  let x = 0x9e3779b9;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const reads = Array.from({ length: 10_000 }, () => key(next() % 1000));
  const writes = Array.from({ length: 10_000 }, () => key(next() % 1000));
  const cache = await createCache({ readPath });
  cache.configure([{ name: 'v64', maxEntries: 1000, persistence: 'memory-only' }]);
  for (let i = 0; i < 1000; i += 1) cache.set('v64', key(i), value64(i));
  const out = {};
  for (const every of MIXES) {
    const round = () => {
      let sink = 0;
      for (let i = 0; i < reads.length; i += 1) {
        if (every && i % every === 0) cache.set('v64', writes[i], value64(i));
        sink += cache.get('v64', reads[i]).length;
      }
      cache.stats();
      return sink;
    };
    for (let r = 0; r < 3; r += 1) round();
    const times = [];
    for (let r = 0; r < 9; r += 1) {
      const start = process.hrtime.bigint();
      round();
      times.push(Number(process.hrtime.bigint() - start) / reads.length);
    }
    out[every] = median(times);
  }
  process.stdout.write(JSON.stringify(out));
}

if (opt('--child', null)) {
  await child(opt('--child') === 'on');
} else {
  const runs = Number(opt('--runs', 3));
  const samples = { on: [], off: [] };
  for (let r = 0; r < runs; r += 1) {
    for (const mode of ['on', 'off']) {
      samples[mode].push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode], { encoding: 'utf8' })));
    }
  }
  const fmt = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
  const rows = MIXES.map((every) => {
    const on = median(samples.on.map((s) => s[every]));
    const off = median(samples.off.map((s) => s[every]));
    return `| ${every ? `1 per ${every}` : 'none'} | ${fmt(on)} | ${fmt(off)} | ${(on / off).toFixed(2)}× |`;
  });
  process.stdout.write([
    '',
    `Read path on ÷ off, ns per \`get\` with its share of the \`set\`s (median of ${runs} processes per mode, Node ${process.version}):`,
    '',
    '| `set`s per `get` | On | Off | Ratio |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'));
}
