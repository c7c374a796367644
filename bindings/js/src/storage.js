/**
 * Storage backends for the component's `storage` import (camelCase JS, plain values):
 *   load(namespace, limit) -> [{namespace, key, value}]   newest `limit` rows, oldest first
 *   get(namespace, key) -> string | null
 *   write({clear: [ns], delete: [{namespace, key}], upsert: [{namespace, key, value}]})
 *   getChatSettings(chatId: bigint) -> [[key, text]]
 *   setChatSettings(chatId: bigint, [[key, text]])
 *   getUserData(chatId: bigint, userId: bigint) -> [[key, jsonText]]
 *   addUserData(chatId: bigint, userId: bigint, key, value)
 * A backend fails by throwing; the host turns that into the call's `err` string.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** In-memory storage with the SQLite storage's semantics (rows ordered by write sequence). */
export class MemoryStorage {
  constructor() {
    /** @type {Map<string, {namespace: string, key: string, value: string, seq: number}>} */
    this.rowMap = new Map();
    this.seq = 0;
    this.settings = new Map(); // `${chat}\u0000${key}` -> {chatId, key, value}
    this.userData = new Map(); // `${chat}\u0000${user}\u0000${key}` -> {chatId, userId, key, data}
  }

  static #rk(namespace, key) { return JSON.stringify([namespace, key]); }

  /** Upserts rows in order, each newer than the last. */
  putRows(rows) {
    for (const { namespace, key, value } of rows) {
      this.rowMap.set(MemoryStorage.#rk(namespace, key), { namespace, key, value, seq: ++this.seq });
    }
  }

  load(namespace, limit) {
    const mine = [...this.rowMap.values()].filter((r) => r.namespace === namespace)
      .sort((a, b) => b.seq - a.seq).slice(0, limit).reverse();
    return mine.map(({ key, value }) => ({ namespace, key, value }));
  }

  get(namespace, key) {
    return this.rowMap.get(MemoryStorage.#rk(namespace, key))?.value ?? null;
  }

  write(batch) {
    for (const ns of batch.clear) {
      for (const [k, r] of this.rowMap) if (r.namespace === ns) this.rowMap.delete(k);
    }
    for (const { namespace, key } of batch.delete) this.rowMap.delete(MemoryStorage.#rk(namespace, key));
    this.putRows(batch.upsert);
  }

  getChatSettings(chatId) {
    return [...this.settings.values()].filter((s) => s.chatId === BigInt(chatId))
      .map((s) => [s.key, s.value]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  setChatSettings(chatId, pairs) {
    for (const [key, value] of pairs) {
      this.settings.set(JSON.stringify([String(chatId), key]), { chatId: BigInt(chatId), key, value });
    }
  }

  getUserData(chatId, userId) {
    return [...this.userData.values()]
      .filter((u) => u.chatId === BigInt(chatId) && u.userId === BigInt(userId))
      .map((u) => [u.key, u.data]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  addUserData(chatId, userId, key, value) {
    this.userData.set(JSON.stringify([String(chatId), String(userId), key]),
      { chatId: BigInt(chatId), userId: BigInt(userId), key, data: value });
  }

  /** Every row, oldest write first. */
  rows() {
    return [...this.rowMap.values()].sort((a, b) => a.seq - b.seq)
      .map(({ namespace, key, value }) => ({ namespace, key, value }));
  }

  chatSettings() { return [...this.settings.values()]; }

  userDataItems() { return [...this.userData.values()]; }
}

// Byte-for-byte the DDL of the Rust and Python hosts (schema version 1).
export const SCHEMA_VERSION = 1;
export const SCHEMA_DDL = [
  'CREATE TABLE IF NOT EXISTS cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key));',
  'CREATE INDEX IF NOT EXISTS idx_cache_storage_recency ON cache_storage (namespace, updated_at);',
  'CREATE TABLE IF NOT EXISTS chat_settings (chat_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, key));',
  'CREATE TABLE IF NOT EXISTS user_data (chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, user_id, key));',
];

/**
 * SQLite storage over sql.js (SQLite compiled to wasm, from the npm registry only).
 * sql.js keeps the database in memory: the file is read at open and rewritten
 * atomically (temp file + rename) after every successful write call. One process
 * only: don't share the file with a running Rust/Python host.
 */
export class SqlJsStorage {
  /** Opens (creating if needed) and migrates the database file at `path`. */
  static async open(path) {
    const require = createRequire(import.meta.url);
    const initSqlJs = require('sql.js');
    const SQL = await initSqlJs();
    const db = existsSync(path) ? new SQL.Database(readFileSync(path)) : new SQL.Database();
    const storage = new SqlJsStorage(db, path);
    storage.#migrate();
    const [[last]] = db.exec('SELECT coalesce(max(updated_at), 0) FROM cache_storage')[0].values;
    storage.lastWritten = Number(last);
    storage.#save();
    return storage;
  }

  constructor(db, path) {
    this.db = db;
    this.path = path;
    this.lastWritten = 0;
  }

  #tx(fn) {
    this.db.exec('BEGIN IMMEDIATE');
    const saved = this.lastWritten;
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      this.lastWritten = saved;
      throw e;
    }
    this.#save();
  }

  #migrate() {
    this.#txNoSave(() => {
      const version = this.db.exec('PRAGMA user_version')[0].values[0][0];
      if (version > SCHEMA_VERSION) {
        throw new Error(`${this.path}: schema version ${version} is newer than this host's ${SCHEMA_VERSION}`);
      }
      if (version < SCHEMA_VERSION) {
        for (const stmt of SCHEMA_DDL) this.db.exec(stmt);
        this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      }
    });
  }

  #txNoSave(fn) {
    this.db.exec('BEGIN IMMEDIATE');
    try { fn(); this.db.exec('COMMIT'); } catch (e) { this.db.exec('ROLLBACK'); throw e; }
  }

  #save() {
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, this.db.export());
    renameSync(tmp, this.path);
  }

  #next() {
    this.lastWritten = Math.max(Date.now() * 1000, this.lastWritten + 1);
    return this.lastWritten;
  }

  #all(sql, params) {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const out = [];
      while (stmt.step()) out.push(stmt.get());
      return out;
    } finally {
      stmt.free();
    }
  }

  load(namespace, limit) {
    return this.#all('SELECT key, value FROM cache_storage WHERE namespace = ? ORDER BY updated_at DESC LIMIT ?',
      [namespace, limit]).reverse().map(([key, value]) => ({ namespace, key, value }));
  }

  get(namespace, key) {
    const rows = this.#all('SELECT value FROM cache_storage WHERE namespace = ? AND key = ?', [namespace, key]);
    return rows.length ? rows[0][0] : null;
  }

  write(batch) {
    this.#tx(() => {
      for (const ns of batch.clear) this.db.run('DELETE FROM cache_storage WHERE namespace = ?', [ns]);
      for (const { namespace, key } of batch.delete) {
        this.db.run('DELETE FROM cache_storage WHERE namespace = ? AND key = ?', [namespace, key]);
      }
      for (const { namespace, key, value } of batch.upsert) {
        this.db.run('INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) '
          + 'ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at',
        [namespace, key, value, this.#next()]);
      }
    });
  }

  getChatSettings(chatId) {
    return this.#all('SELECT key, value FROM chat_settings WHERE chat_id = ? ORDER BY key', [safeInt(chatId)]);
  }

  setChatSettings(chatId, pairs) {
    this.#tx(() => {
      for (const [key, value] of pairs) {
        this.db.run('INSERT INTO chat_settings (chat_id, key, value, updated_at) VALUES (?, ?, ?, ?) '
          + 'ON CONFLICT(chat_id, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at',
        [safeInt(chatId), key, value, this.#next()]);
      }
    });
  }

  getUserData(chatId, userId) {
    return this.#all('SELECT key, data FROM user_data WHERE chat_id = ? AND user_id = ? ORDER BY key',
      [safeInt(chatId), safeInt(userId)]);
  }

  addUserData(chatId, userId, key, value) {
    this.#tx(() => {
      this.db.run('INSERT INTO user_data (chat_id, user_id, key, data, updated_at) VALUES (?, ?, ?, ?, ?) '
        + 'ON CONFLICT(chat_id, user_id, key) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at',
      [safeInt(chatId), safeInt(userId), key, value, this.#next()]);
    });
  }

  /** Every row, oldest write first. */
  rows() {
    return this.#all('SELECT namespace, key, value FROM cache_storage ORDER BY updated_at, namespace, key', [])
      .map(([namespace, key, value]) => ({ namespace, key, value }));
  }

  /** Writes the file one last time and frees the database. */
  close() {
    this.#save();
    this.db.close();
  }
}

/** sql.js binds JS numbers; ids beyond 2^53 cannot be bound exactly, so refuse them. */
function safeInt(v) {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`id ${v} is outside the range sql.js can bind exactly`);
  return n;
}
