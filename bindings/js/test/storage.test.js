// SqlJsStorage: the shared schema, write order, atomic file rewrite, and the component on top of it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCache, InvalidJsonError, SCHEMA_DDL, SqlJsStorage } from '../src/index.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'gromozeka-js-')), 'cache.db');

test('sql.js storage keeps the shared schema and load order across reopen', async () => {
  const path = tmp();
  const s = await SqlJsStorage.open(path);
  s.write({ clear: [], delete: [], upsert: [0, 1, 2, 3].map((i) => ({ namespace: 'n', key: `${i}`, value: `${i}` })) });
  s.write({ clear: [], delete: [{ namespace: 'n', key: '0' }], upsert: [{ namespace: 'n', key: '1', value: '11' }] });
  s.close();
  const again = await SqlJsStorage.open(path);
  assert.deepEqual(again.load('n', 2).map((r) => r.key), ['3', '1']);
  assert.equal(again.get('n', '1'), '11');
  assert.equal(again.get('n', '0'), null);
  const master = again.db.exec('SELECT name, sql FROM sqlite_master')[0].values;
  for (const ddl of SCHEMA_DDL) {
    const name = ddl.split(' IF NOT EXISTS ')[1].split(' ')[0];
    assert.equal(master.find(([n]) => n === name)[1], ddl.slice(0, -1).replace(' IF NOT EXISTS', ''));
  }
  assert.equal(again.db.exec('PRAGMA user_version')[0].values[0][0], 1);
  again.close();
});

test('the component persists through sql.js and reloads in a new instance', async () => {
  const path = tmp();
  const first = await createCache({ storage: await SqlJsStorage.open(path) });
  first.bot.setChatInfo(-100, '{"title":"Group"}');
  first.bot.setUserData(-100, 7, 'lang', '"ru"');
  assert.throws(() => first.set('users', 'k', 'not json'), InvalidJsonError);
  assert.deepEqual(first.persistAll(), { written: 1, deleted: 0 });
  first.storage.close();

  const second = await createCache({ storage: await SqlJsStorage.open(path) });
  assert.equal(second.loadFromStorage().loaded, 2);
  assert.deepEqual(JSON.parse(second.bot.getChatInfo(-100n)), { title: 'Group' });
  assert.deepEqual(JSON.parse(second.bot.getUserData(-100n, 7n)), { lang: 'ru' });
  second.storage.close();
});
