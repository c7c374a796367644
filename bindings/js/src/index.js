/**
 * Node host for the gromozeka:cache component, transpiled by jco (see ../scripts/transpile.js).
 *
 *   const cache = await createCache({ storage: await SqlJsStorage.open('bot.db') });
 *   await cache.loadFromStorage();
 *   cache.bot.setUserState(5n, 'step', '"ask"');
 *
 * Values in and out are JSON text; s64 ids are BigInt (numbers are converted).
 * Every `cache-error` throws a CacheError subclass; a trap throws ComponentTrapError.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ComponentTrapError, errorFromCase } from './errors.js';
import { MemoryStorage } from './storage.js';

export * from './errors.js';
export { MemoryStorage, SqlJsStorage, SCHEMA_DDL, SCHEMA_VERSION } from './storage.js';

const GEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'gen');
const STORAGE = 'gromozeka:cache/storage';

/** Throws the storage error back to the component as the `err` string of the call. */
function fail(e) {
  // jco turns a thrown object with `payload` into `err(payload)`; a thrown Error would trap.
  throw { payload: String(e instanceof Error ? e.message || e.name : e) };
}

function adapt(getStorage) {
  const guard = (fn) => (...args) => {
    try { return fn(getStorage(), ...args); } catch (e) { return fail(e); }
  };
  return {
    load: guard((s, ns, limit) => s.load(ns, limit).map(({ namespace, key, value }) => ({ namespace, key, value }))),
    get: guard((s, ns, key) => s.get(ns, key) ?? undefined),
    write: guard((s, batch) => { s.write(batch); }),
    getChatSettings: guard((s, chatId) => s.getChatSettings(chatId).map(([k, v]) => [k, v])),
    setChatSettings: guard((s, chatId, settings) => { s.setChatSettings(chatId, settings); }),
    getUserData: guard((s, chatId, userId) => s.getUserData(chatId, userId).map(([k, v]) => [k, v])),
    addUserData: guard((s, chatId, userId, key, value) => { s.addUserData(chatId, userId, key, value); }),
  };
}

const big = (v) => (typeof v === 'bigint' ? v : BigInt(v));
const opt = (v) => (v === undefined ? null : v);

/**
 * Instantiates a fresh component whose `storage` import is served by `storage`
 * (default: a new MemoryStorage). Resolves to a Cache.
 */
export async function createCache({ storage = new MemoryStorage() } = {}) {
  let mod;
  try {
    mod = await import(pathToFileURL(join(GEN, 'cache.js')).href);
  } catch (e) {
    throw new Error(`cannot load the transpiled component from ${GEN}; run \`npm run build\` first`, { cause: e });
  }
  const cache = new Cache(storage);
  const storageImport = adapt(() => cache.storage);
  const exports = await mod.instantiate(
    (path) => readFile(join(GEN, path)).then((bytes) => WebAssembly.compile(bytes)),
    { [STORAGE]: storageImport, [`${STORAGE}@0.1.0`]: storageImport },
  );
  cache.attach(exports);
  return cache;
}

/** One component instance: `cache.*` generic calls at the top level, the bot API under `.bot`. */
export class Cache {
  constructor(storage) {
    this.storage = storage;
    this.poisoned = null;
  }

  /** @internal */
  attach(exports) {
    const pick = (name) => exports[name] ?? exports[`gromozeka:cache/${name}@0.1.0`] ?? exports[`gromozeka:cache/${name}`];
    this.raw = { cache: pick('cache'), bot: pick('bot') };
    if (!this.raw.cache || !this.raw.bot) throw new Error(`unexpected component exports: ${Object.keys(exports)}`);
    const b = (name, ...args) => this.call('bot', name, ...args);
    this.bot = {
      getChatSettings: (chatId) => b('getChatSettings', big(chatId)),
      setChatSettings: (chatId, settings) => b('setChatSettings', big(chatId), settings),
      getChatInfo: (chatId) => opt(b('getChatInfo', big(chatId))),
      setChatInfo: (chatId, info) => b('setChatInfo', big(chatId), info),
      getUserData: (chatId, userId) => b('getUserData', big(chatId), big(userId)),
      setUserData: (chatId, userId, key, value) => b('setUserData', big(chatId), big(userId), key, value),
      getUserState: (userId, stateKey) => opt(b('getUserState', big(userId), stateKey)),
      setUserState: (userId, stateKey, value) => b('setUserState', big(userId), stateKey, value),
      clearUserState: (userId, stateKey = null) => b('clearUserState', big(userId), stateKey ?? undefined),
    };
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
      return this.raw[iface][name](...args);
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
  persistAll() { return this.call('cache', 'persistAll'); }

  /** [{name, persistence, size, maxEntries, dirty, hits, misses, evictions}] with u64 counters as Numbers. */
  stats() {
    return this.call('cache', 'stats').map((s) => ({
      ...s, hits: Number(s.hits), misses: Number(s.misses), evictions: Number(s.evictions),
    }));
  }
}
