/**
 * The storage test kit in JS: the cases of the Rust kit (storage-kit/src/lib.rs),
 * with the same names and the same assertions, for any JS storage with the
 * interface of src/sqlite.js. A backend is
 *   { open() -> storage, reopen(storage) -> storage | null,
 *     putBadCell(storage, namespace, key, 'Blob' | 'InvalidUtf8' | 'Null') -> bool,
 *     provoke(storage, kind, key) -> bool, heal(storage) }
 * where `false`/`null` declines a case the backend cannot produce. `defineKit`
 * registers one node:test test per case and returns the names of the cases run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STORAGE_ERROR_KINDS, StorageError } from '../../src/errors.js';

export const BAD_CELLS = ['Blob', 'InvalidUtf8', 'Null'];

const row = (namespace, key, value) => ({ namespace, key, value });
const upserts = (rows) => ({ clear: [], delete: [], upsert: rows });
const keys = (rows) => rows.map((r) => r.key);
const merge = (val) => ({ tag: 'merge', val });
const rewrite = (val) => ({ tag: 'rewrite', val });
const unset = (val) => ({ tag: 'unset', val });

function loadNewestNOldestFirst(b) {
  const s = b.open();
  s.write(upserts(Array.from({ length: 10 }, (_, i) => row('ns', `k${i}`, '1'))));
  s.write(upserts([row('other', 'x', '1')]));
  s.write(upserts([row('ns', 'k2', '2')]));
  const rows = s.load('ns', 3);
  assert.deepEqual(keys(rows), ['k8', 'k9', 'k2'], 'newest 3, oldest first');
  assert.equal(rows[2].value, '2', 'the rewritten value');
  assert.equal(s.load('ns', 100).length, 10);
  assert.deepEqual(s.load('missing', 5), []);
  assert.deepEqual(s.load('ns', 0), []);
  return true;
}

function batchOrder(b) {
  const s = b.open();
  s.write(upserts([row('a', '1', '1'), row('a', '2', '1'), row('b', '1', '1'), row('b', '2', '1')]));
  s.write({ clear: ['a'], delete: [{ namespace: 'b', key: '1' }], upsert: [row('a', '3', '3'), row('b', '1', 'new')] });
  assert.deepEqual(keys(s.load('a', 10)), ['3']);
  const rows = s.load('b', 10);
  assert.deepEqual(keys(rows), ['2', '1']);
  assert.equal(rows[1].value, 'new');
  return true;
}

function absentIsNotAnError(b) {
  const s = b.open();
  assert.equal(s.get('ns', 'nope'), null);
  s.write({ clear: ['never'], delete: [{ namespace: 'ns', key: 'nope' }], upsert: [] });
  assert.deepEqual(s.getChatSettings(404n), []);
  assert.deepEqual(s.getUserData(404n, 405n), []);
  s.writeChatSettings(404n, unset('nope'));
  return true;
}

function reopenKeepsEverything(b) {
  const first = b.open();
  first.write(upserts([row('ns', 'a', '[1]'), row('ns', 'b', '"é"')]));
  first.writeChatSettings(-100n, merge([['lang', 'en']]));
  first.setUserData(-100n, 7n, 'k', '{"a":1}');
  const s = b.reopen(first);
  if (!s) return false;
  assert.deepEqual(keys(s.load('ns', 10)), ['a', 'b']);
  assert.equal(s.get('ns', 'b'), '"é"');
  assert.deepEqual(s.getChatSettings(-100n), [['lang', 'en']]);
  assert.deepEqual(s.getUserData(-100n, 7n), [['k', '{"a":1}']]);
  return true;
}

function badCell(b, cell) {
  const s = b.open();
  s.write(upserts([row('ns', 'good1', '1')]));
  if (!b.putBadCell(s, 'ns', 'bad', cell)) return false;
  s.write(upserts([row('ns', 'good2', '2')]));
  const rows = s.load('ns', 10);
  const bad = rows.filter((r) => 'unreadable' in r);
  assert.equal(bad.length, 1, `exactly the bad row is marked: ${JSON.stringify(rows)}`);
  assert.equal(bad[0].key, 'bad');
  assert.ok(typeof bad[0].unreadable === 'string' && bad[0].unreadable.length > 0, 'a reason');
  assert.equal(rows.filter((r) => typeof r.value === 'string').length, 2, JSON.stringify(rows));
  assert.throws(() => s.get('ns', 'bad'), (e) => e instanceof StorageError && e.kind === 'corrupt',
    `get of a ${cell} cell is a corrupt error`);
  assert.equal(s.get('ns', 'good2'), '2');
  return true;
}

function typedError(b, kind) {
  const s = b.open();
  s.write(upserts([row('ns', 'keep', '1')]));
  if (!b.provoke(s, kind, 'boom')) return false;
  assert.throws(
    () => s.write({ clear: ['ns'], delete: [], upsert: [row('ns', 'fine', '1'), row('ns', 'boom', '1')] }),
    (e) => {
      assert.ok(e instanceof StorageError, `a StorageError, not ${e}`);
      assert.equal(e.kind, kind, `the error's kind: ${e.message}`);
      return true;
    },
    `a provoked ${kind} failure fails the write`,
  );
  b.heal(s);
  assert.deepEqual(keys(s.load('ns', 10)), ['keep'], 'a failed batch applied nothing');
  s.write(upserts([row('ns', 'after', '1')]));
  return true;
}

function settings(b) {
  const s = b.open();
  s.writeChatSettings(1n, merge([['b', 'two'], ['a', '1']]));
  s.writeChatSettings(1n, merge([['a', 'one']]));
  s.writeChatSettings(2n, merge([['x', 'y']]));
  assert.deepEqual(s.getChatSettings(1n), [['a', 'one'], ['b', 'two']]);
  s.writeChatSettings(1n, rewrite([['c', '3'], ['a', 'uno']]));
  assert.deepEqual(s.getChatSettings(1n), [['a', 'uno'], ['c', '3']]);
  s.writeChatSettings(1n, unset('a'));
  assert.deepEqual(s.getChatSettings(1n), [['c', '3']]);
  s.writeChatSettings(1n, rewrite([]));
  assert.deepEqual(s.getChatSettings(1n), []);
  assert.deepEqual(s.getChatSettings(2n), [['x', 'y']], 'the other chat is untouched');
  return true;
}

function userData(b) {
  const s = b.open();
  s.setUserData(1n, 2n, 'k', '[1]');
  s.setUserData(1n, 2n, 'k', '[2]');
  s.setUserData(1n, 2n, 'a', 'true');
  s.setUserData(1n, 3n, 'k', '[3]');
  s.setUserData(9n, 2n, 'k', '[9]');
  assert.deepEqual(s.getUserData(1n, 2n), [['a', 'true'], ['k', '[2]']]);
  assert.deepEqual(s.getUserData(9n, 2n), [['k', '[9]']]);
  return true;
}

/** The kit's cases in the Rust kit's order: [name, (backend) -> ran]. */
export const CASES = [
  ['load-newest-n-oldest-first', loadNewestNOldestFirst],
  ['batch-order', batchOrder],
  ['absent-is-not-an-error', absentIsNotAnError],
  ['reopen-keeps-everything', reopenKeepsEverything],
  ...BAD_CELLS.map((cell) => [`bad-cell-${cell}`, (b) => badCell(b, cell)]),
  ...STORAGE_ERROR_KINDS.map((kind) => [`typed-error-${kind}`, (b) => typedError(b, kind)]),
  ['settings-merge-rewrite-unset', settings],
  ['user-data', userData],
];

/**
 * Registers `storage kit (label): NAME` for every case, then one test that checks
 * that every case in `mustRun` ran (a declined case is reported as skipped).
 */
export function defineKit(label, backend, mustRun) {
  const ran = [];
  for (const [name, run] of CASES) {
    test(`storage kit (${label}): ${name}`, (t) => {
      if (run(backend)) ran.push(name);
      else t.skip(`the ${label} backend cannot produce this case`);
    });
  }
  test(`storage kit (${label}): the expected cases ran`, () => {
    assert.deepEqual(mustRun.filter((n) => !ran.includes(n)), [], `cases that did not run (ran: ${ran})`);
  });
}
