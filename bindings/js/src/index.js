/**
 * Node host for the gromozeka:cache component, transpiled by jco (see ../scripts/transpile.js).
 *
 *   const cache = await createCache({ storage: SqliteStorage.open('bot.db') });
 *   cache.loadFromStorage();
 *   cache.bot.setUserState(5n, 'step', '"ask"');
 *   cache.close();   // persist-all, then close the storage
 *
 * Values in and out are JSON text; s64 ids are BigInt (numbers are converted).
 * Every `cache-error` throws a CacheError subclass (a storage failure: StorageError
 * with `.kind`); a trap throws ComponentTrapError.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ComponentTrapError, errorFromCase } from './errors.js';
import { storageImports } from './imports.js';
import { SqliteStorage } from './sqlite.js';
import { DEFAULT_WRITE_BACK, WriteBack } from './write-back.js';

export * from './errors.js';
export { DEFAULT_WRITE_BACK } from './write-back.js';
export { SqliteStorage } from './sqlite.js';
export { SCHEMA_DIR } from './schema.js';

const GEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'gen');
const EXPORTS = (name) => [name, `gromozeka:cache/${name}@0.3.0`];

const big = (v) => (typeof v === 'bigint' ? v : BigInt(v));
const opt = (v) => (v === undefined ? null : v);

/**
 * Instantiates a fresh component whose storage imports are served by `storage`
 * (default: a private in-memory SQLite database). Resolves to a Cache.
 * `writeBack`: when pending on-shutdown changes are written back,
 * `{maxAge: ms, maxPending: n}` (default 5000 ms, 256; `null` or 0 turns one off),
 * or `null` for never (only `persistAll` and `close` write them).
 */
export async function createCache({ storage, writeBack = DEFAULT_WRITE_BACK } = {}) {
  let mod;
  try {
    mod = await import(pathToFileURL(join(GEN, 'cache.js')).href);
  } catch (e) {
    throw new Error(`cannot load the transpiled component from ${GEN}; run \`npm run build\` first`, { cause: e });
  }
  const cache = new Cache(storage ?? SqliteStorage.open(':memory:'));
  if (writeBack !== null) {
    cache.writeBack = new WriteBack(
      () => cache.persistAll(),
      () => cache.stats().filter((n) => n.persistence === 'on-shutdown').reduce((sum, n) => sum + n.dirty, 0),
      writeBack,
    );
  }
  const exports = await mod.instantiate(
    (path) => readFile(join(GEN, path)).then((bytes) => WebAssembly.compile(bytes)),
    storageImports(() => cache.storage),
  );
  cache.attach(exports);
  return cache;
}

/** One component instance: `cache.*` generic calls at the top level, the bot API under `.bot`. */
export class Cache {
  constructor(storage) {
    this.storage = storage;
    this.poisoned = null;
    /** The write-back bound (see write-back.js), or null: `.failures`, `.lastError`. */
    this.writeBack = null;
  }

  /** @internal */
  attach(exports) {
    const pick = (name) => EXPORTS(name).map((n) => exports[n]).find(Boolean);
    this.raw = { cache: pick('cache'), bot: pick('bot') };
    if (!this.raw.cache || !this.raw.bot) throw new Error(`unexpected component exports: ${Object.keys(exports)}`);
    const b = (name, ...args) => this.call('bot', name, ...args);
    this.bot = {
      getChatSettings: (chatId) => b('getChatSettings', big(chatId)),
      setChatSettings: (chatId, settings, mode = 'merge') => b('setChatSettings', big(chatId), settings, mode),
      unsetChatSetting: (chatId, key) => b('unsetChatSetting', big(chatId), key),
      getChatInfo: (chatId) => opt(b('getChatInfo', big(chatId))),
      setChatInfo: (chatId, info) => b('setChatInfo', big(chatId), info),
      getUserData: (chatId, userId) => b('getUserData', big(chatId), big(userId)),
      setUserData: (chatId, userId, key, value) => b('setUserData', big(chatId), big(userId), key, value),
      getUserState: (userId, stateKey) => opt(b('getUserState', big(userId), stateKey)),
      setUserState: (userId, stateKey, value) => b('setUserState', big(userId), stateKey, value),
      clearUserState: (userId, stateKey = null) => b('clearUserState', big(userId), stateKey ?? undefined),
    };
  }

  /**
   * Writes pending on-shutdown changes (`persistAll`), then closes the storage.
   * If the write fails it throws and leaves the storage open, so nothing pending is lost.
   */
  close() {
    this.persistAll();
    this.writeBack?.cancel();
    this.storage.close?.();
  }

  /** Serves later storage calls from `storage`. */
  setStorage(storage) { this.storage = storage; }

  /**
   * Calls export `iface` ('cache' | 'bot') function `name` (jco camelCase) with jco values.
   * Throws CacheError subclasses for `cache-error`, ComponentTrapError for traps.
   */
  call(iface, name, ...args) {
    if (this.poisoned) throw new ComponentTrapError(`the component trapped earlier and is unusable: ${this.poisoned}`);
    try {
      const result = this.raw[iface][name](...args);
      this.writeBack?.noteCall(name, name === 'setMany' ? args[1].length : 1);
      return result;
    } catch (e) {
      const payload = e?.payload;
      if (payload && typeof payload === 'object' && typeof payload.tag === 'string') {
        throw errorFromCase(payload.tag, payload.val);
      }
      this.poisoned = String(e?.message ?? e);
      throw new ComponentTrapError(`${iface}.${name} trapped: ${this.poisoned}`, { cause: e });
    }
  }

  /** Replaces the namespace table: [{name, maxEntries, persistence}]. */
  configure(namespaces) {
    this.call('cache', 'configure', namespaces.map(({ name, maxEntries, persistence }) => ({ name, maxEntries, persistence })));
  }

  /** JSON text under `key`, or null. */
  get(namespace, key) { return opt(this.call('cache', 'get', namespace, key)); }

  /** Stores JSON text `value` under `key`. */
  set(namespace, key, value) { this.call('cache', 'set', namespace, key, value); }

  /** Removes `key`; true if it was held in memory. */
  delete(namespace, key) { return this.call('cache', 'delete', namespace, key); }

  /** `get` of each key, in order (null for none). */
  getMany(namespace, keys) { return this.call('cache', 'getMany', namespace, keys).map(opt); }

  /** `set` of each [key, value], all or nothing. */
  setMany(namespace, entries) { this.call('cache', 'setMany', namespace, entries); }

  /** Removes every entry of the namespace. */
  clearNamespace(namespace) { this.call('cache', 'clearNamespace', namespace); }

  /** {loaded, skipped: [{namespace, key, reason}]} */
  loadFromStorage() { return this.call('cache', 'loadFromStorage'); }

  /** {written, deleted} */
  persistAll() {
    const report = this.call('cache', 'persistAll');
    this.writeBack?.persisted();
    return report;
  }

  /** Drops `key` and its pending change without writing (another process changed it); true if held. */
  forget(namespace, key) { return this.call('cache', 'forget', namespace, key); }

  /** `forget` of a whole namespace; the number of entries dropped. */
  forgetNamespace(namespace) { return this.call('cache', 'forgetNamespace', namespace); }

  /** Drops every clean entry of the persisted namespaces; the number dropped. */
  forgetAll() { return this.call('cache', 'forgetAll'); }

  /** {keys, cleared}: the changes of an on-shutdown namespace not yet written (keys sorted). */
  pendingChanges(namespace) { return this.call('cache', 'pendingChanges', namespace); }

  /** [{name, persistence, size, maxEntries, dirty, hits, misses, evictions}] with u64 counters as Numbers. */
  stats() {
    return this.call('cache', 'stats').map((s) => ({
      ...s, hits: Number(s.hits), misses: Number(s.misses), evictions: Number(s.evictions),
    }));
  }
}
