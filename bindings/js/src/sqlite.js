/**
 * SqliteStorage: the Node host's storage, one SQLite file through better-sqlite3,
 * running the shared SQL of `schema/sqlite/` (see its README and src/schema.js).
 *
 * A read-write open adopts existing tables (the bot's, the seed design's) and
 * creates what is missing, in one transaction; it switches the file to WAL with
 * `synchronous = NORMAL` (a committed write survives a crash of the process; on
 * power loss the last commits may roll back). A read-only open neither migrates
 * nor changes the journal mode. A cell that cannot be read as text is an
 * unreadable row of `load` and a `corrupt` error of `get`, never a file that
 * cannot open. Every failure is a StorageError with a `.kind`.
 *
 * The interface (what `createCache` needs of any storage; ids are BigInt):
 *   load(namespace, limit) -> [{key, value} | {key, unreadable: reason}]  newest `limit`, oldest first
 *   get(namespace, key) -> string | null
 *   write({clear: [ns], delete: [{namespace, key}], upsert: [{namespace, key, value}]})
 *   getChatSettings(chatId) -> [[key, value]]            ordered by key
 *   writeChatSettings(chatId, {tag: 'merge' | 'rewrite', val: [[key, value]]} | {tag: 'unset', val: key})
 *   getUserData(chatId, userId) -> [[key, jsonText]]     ordered by key
 *   setUserData(chatId, userId, key, jsonText)
 */
import Database from 'better-sqlite3';
import { StorageError } from './errors.js';
import { loadSchema } from './schema.js';
import { cellText, decodeBytes, lossyKey, storageError } from './sqlite-errors.js';

/** An s64 id as BigInt: BigInt, or a safe integer Number. */
function toId(v) {
  if (typeof v === 'bigint') return v;
  if (Number.isSafeInteger(v)) return BigInt(v);
  throw new TypeError(`an id must be a BigInt or a safe integer, not ${typeof v} ${String(v)}`);
}

const show = (v) => JSON.stringify(v);

/** The SQLite storage: one connection, every statement prepared at open, every writing call one IMMEDIATE transaction. */
export class SqliteStorage {
  /**
   * Opens the database at `path` (`':memory:'` for a private in-memory one).
   * Read-write (default): creates the file if missing and applies missing
   * migrations (no write when there are none). `readOnly: true`: the file must
   * exist; reads work, every write fails with kind `read-only`, nothing of the
   * file changes. `busyTimeoutMs`: how long a statement waits for another
   * connection's lock before failing with kind `busy` (default 5000).
   */
  static open(path, { readOnly = false, busyTimeoutMs = 5000 } = {}) {
    const schema = loadSchema();
    const ctx = { path: String(path), busyTimeoutMs };
    let db;
    try {
      db = new Database(path, { readonly: readOnly, fileMustExist: readOnly, timeout: busyTimeoutMs });
    } catch (e) {
      throw storageError(e, ctx, 'open');
    }
    try {
      const step = (op, fn) => {
        try { return fn(); } catch (e) { throw storageError(e, ctx, op); }
      };
      if (readOnly) {
        const current = step('read the schema version', () => version(db, schema.queries));
        if (current > schema.version) throw newerSchema(ctx.path, current, schema.version);
      } else {
        step('switch to WAL mode', () => db.pragma('journal_mode = WAL'));
        step('set synchronous', () => db.pragma('synchronous = NORMAL'));
        step('migrate the schema', () => migrate(db, schema, ctx.path));
      }
      const statements = {};
      for (const [name, sql] of Object.entries(schema.queries)) {
        if (name.startsWith('schema_version_')) continue;
        try {
          const stmt = db.prepare(sql);
          statements[name] = stmt.reader ? stmt.raw(true).safeIntegers(true) : stmt;
        } catch (e) {
          const base = storageError(e, ctx, `check the tables (query ${name})`);
          throw new StorageError('schema', `${base.detail}; the tables of ${ctx.path} do not have the columns the cache `
            + 'needs (schema/sqlite/migrations)');
        }
      }
      const [last] = step('read the newest timestamp', () => statements.last_written.get());
      return new SqliteStorage(db, ctx, statements, last ?? 0n);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** @internal use SqliteStorage.open */
  constructor(db, ctx, statements, lastWritten) {
    this.db = db;
    this.ctx = ctx;
    this.q = statements;
    /** The last write sequence (microseconds) this connection used, or the newest timestamp of the file at open. */
    this.lastWritten = lastWritten;
    this.tx = db.transaction((fn) => fn());
  }

  /** The path the storage was opened with. */
  get path() { return this.ctx.path; }

  /** The better-sqlite3 connection, for inspection and maintenance outside the cache's contract. */
  get connection() { return this.db; }

  #fail(op, e) { return storageError(e, this.ctx, op); }

  /** Runs `fn(nextSeq)` in one IMMEDIATE transaction; nothing is applied if it throws. */
  #write(op, fn) {
    let last = this.lastWritten;
    // The write sequence: max(now in microseconds, last + 1), strictly increasing.
    const next = () => {
      const now = BigInt(Date.now()) * 1000n;
      last = now > last ? now : last + 1n;
      return last;
    };
    try {
      this.tx.immediate(() => fn(next));
    } catch (e) {
      throw this.#fail(op(), e);
    } finally {
      // Sequence values stay consumed even on failure: still strictly increasing.
      this.lastWritten = last;
    }
  }

  /** The newest `limit` rows of `namespace`, oldest first; unreadable cells are rows with `unreadable`. */
  load(namespace, limit) {
    try {
      return this.tx.deferred(() => {
        const rows = this.q.rows_load.all({ 1: namespace, 2: BigInt(limit) });
        rows.reverse();
        return rows.map(([k, v]) => this.#storedRow(namespace, k, v));
      });
    } catch (e) {
      throw this.#fail(`load namespace ${show(namespace)}`, e);
    }
  }

  #storedRow(namespace, k, v) {
    const key = cellText(k, 'the key');
    if (key.reason) return { key: lossyKey(k), unreadable: key.reason };
    const value = cellText(v, 'the value');
    if (value.reason) return { key: key.text, unreadable: value.reason };
    if (key.suspect || value.suspect) {
      const found = this.q.rows_value_bytes.get({ 1: namespace, 2: key.text });
      // No row under the decoded key: the stored key was not valid UTF-8.
      if (!found) return { key: key.text, unreadable: 'the key is not valid UTF-8 text' };
      const bytes = decodeBytes(found[0], 'the value');
      return bytes.reason ? { key: key.text, unreadable: bytes.reason } : { key: key.text, value: bytes.text };
    }
    return { key: key.text, value: value.text };
  }

  /** The stored value of one key, or null. A cell that is not text throws kind `corrupt`. */
  get(namespace, key) {
    const op = `read ${show(namespace)}/${show(key)}`;
    let cell;
    try {
      const row = this.q.rows_get.get({ 1: namespace, 2: key });
      if (!row) return null;
      cell = cellText(row[0], 'the value');
      if (cell.suspect) {
        const found = this.q.rows_value_bytes.get({ 1: namespace, 2: key });
        if (!found) return null;
        cell = decodeBytes(found[0], 'the value');
      }
    } catch (e) {
      throw this.#fail(op, e);
    }
    if (cell.reason) {
      throw new StorageError('corrupt', `row ${show(namespace)}/${show(key)} of ${this.path}: ${cell.reason}; delete or rewrite the row`);
    }
    return cell.text;
  }

  /** Applies clear, then delete, then upsert, in one transaction. */
  write(batch) {
    const clear = batch.clear ?? [];
    const del = batch.delete ?? [];
    const upsert = batch.upsert ?? [];
    if (!clear.length && !del.length && !upsert.length) return;
    this.#write(() => `write a batch (${clear.length} clear, ${del.length} delete, ${upsert.length} upsert)`, (next) => {
      for (const ns of clear) this.q.rows_clear.run({ 1: ns });
      for (const { namespace, key } of del) this.q.rows_delete.run({ 1: namespace, 2: key });
      for (const { namespace, key, value } of upsert) this.q.rows_upsert.run({ 1: namespace, 2: key, 3: value, 4: next() });
    });
  }

  /** Every stored setting of a chat as [key, value], ordered by key. */
  getChatSettings(chatId) {
    const id = toId(chatId);
    return this.#pairs(`read the settings of chat ${id}`, () => this.q.settings_get.all({ 1: id }),
      (key) => this.q.settings_value_bytes.get({ 1: id, 2: key }), `setting %KEY% of chat ${id}`);
  }

  /** Applies a settings change (`merge`, `rewrite` or `unset`) in one transaction. */
  writeChatSettings(chatId, change) {
    const id = toId(chatId);
    if (!['merge', 'rewrite', 'unset'].includes(change?.tag)) throw new TypeError(`not a settings change: ${show(change)}`);
    this.#write(() => `write the settings of chat ${id}`, (next) => {
      if (change.tag === 'unset') {
        this.q.settings_delete.run({ 1: id, 2: change.val });
        return;
      }
      if (change.tag === 'rewrite') {
        const keep = new Set(change.val.map(([k]) => k));
        for (const [stored] of this.q.settings_keys.all({ 1: id })) {
          if (!keep.has(stored)) this.q.settings_delete.run({ 1: id, 2: stored });
        }
      }
      for (const [key, value] of change.val) this.q.settings_upsert.run({ 1: id, 2: key, 3: value, 4: next() });
    });
  }

  /** Every data item of a user in a chat as [key, jsonText], ordered by key. */
  getUserData(chatId, userId) {
    const chat = toId(chatId);
    const user = toId(userId);
    return this.#pairs(`read the data of user ${user} in chat ${chat}`, () => this.q.user_data_get.all({ 1: chat, 2: user }),
      (key) => this.q.user_data_value_bytes.get({ 1: chat, 2: user, 3: key }), `data %KEY% of user ${user} in chat ${chat}`);
  }

  /** Inserts or replaces one data item of a user in a chat, in one transaction. */
  setUserData(chatId, userId, key, value) {
    const chat = toId(chatId);
    const user = toId(userId);
    this.#write(() => `write data ${show(key)} of user ${user} in chat ${chat}`, (next) => {
      this.q.user_data_upsert.run({ 1: chat, 2: user, 3: key, 4: value, 5: next() });
    });
  }

  /** [key, text] pairs read by `read`; a cell that is not text throws kind `corrupt`. */
  #pairs(op, read, bytesOf, what) {
    let out;
    try {
      out = this.tx.deferred(() => read().map(([k, v]) => {
        const key = cellText(k, 'the key');
        if (key.reason) return { key: lossyKey(k), reason: key.reason };
        let value = cellText(v, 'the value');
        if (!value.reason && (key.suspect || value.suspect)) {
          const found = bytesOf(key.text);
          value = found ? decodeBytes(found[0], 'the value') : { reason: 'the key is not valid UTF-8 text' };
        }
        return { key: key.text, ...value };
      }));
    } catch (e) {
      throw this.#fail(op, e);
    }
    const bad = out.find((p) => p.reason);
    if (bad) {
      throw new StorageError('corrupt', `${what.replace('%KEY%', show(bad.key))} in ${this.path}: ${bad.reason}; rewrite or delete it`);
    }
    return out.map((p) => [p.key, p.text]);
  }

  /** Closes the connection (checkpointing the WAL when it is the last one). */
  close() {
    this.db.close();
  }
}

/** The file's cache schema version: 0 when the cache never migrated it. */
function version(db, q) {
  if (!db.prepare(q.schema_version_exists).pluck().get()) return 0;
  return Number(db.prepare(q.schema_version_get).pluck().get());
}

/** Applies the missing migrations in one IMMEDIATE transaction; writes nothing when up to date. */
function migrate(db, schema, path) {
  const q = schema.queries;
  const current = version(db, q);
  if (current > schema.version) throw newerSchema(path, current, schema.version);
  if (current === schema.version) return;
  db.transaction(() => {
    db.exec(q.schema_version_table);
    // Another process may have migrated while this one waited for the lock.
    const now = Number(db.prepare(q.schema_version_get).pluck().get() ?? 0);
    if (now > schema.version) throw newerSchema(path, now, schema.version);
    const set = db.prepare(q.schema_version_set);
    for (let i = now; i < schema.version; i += 1) {
      db.exec(schema.migrations[i]);
      set.run({ 1: i + 1 });
    }
  }).immediate();
}

function newerSchema(path, found, ours) {
  return new StorageError('schema', `${path} has cache schema version ${found}, newer than the ${ours} this host understands; `
    + 'use a newer gromozeka-cache');
}
