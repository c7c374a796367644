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
 *
 * Repeated reads are answered from the host's copies of earlier answers without
 * entering the component, replayed into it before any other call so that its LRU
 * stays exact (the read path, src/read-path.js; `readPath: false` turns it off).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ComponentTrapError, errorFromCase } from './errors.js';
import { storageImports } from './imports.js';
import { NEEDS_SYNC, READS, ReadPath } from './read-path.js';
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
const { get: GET } = READS.cache;
const {
  getChatSettings: CHAT_SETTINGS, getChatInfo: CHAT_INFO, getUserData: USER_DATA, getUserState: USER_STATE,
} = READS.bot;

/**
 * Instantiates a fresh component whose storage imports are served by `storage`
 * (default: a private in-memory SQLite database). Resolves to a Cache.
 * `writeBack`: when pending on-shutdown changes are written back,
 * `{maxAge: ms, maxPending: n}` (default 5000 ms, 256; `null` or 0 turns one off),
 * or `null` for never (only `persistAll` and `close` write them).
 * `readPath`: whether repeated reads are answered from the host's copies (default
 * true; see `Cache.setReadPath`).
 */
export async function createCache({ storage, writeBack = DEFAULT_WRITE_BACK, readPath = true } = {}) {
  let mod;
  try {
    mod = await import(pathToFileURL(join(GEN, 'cache.js')).href);
  } catch (e) {
    throw new Error(`cannot load the transpiled component from ${GEN}; run \`npm run build\` first`, { cause: e });
  }
  const cache = new Cache(storage ?? SqliteStorage.open(':memory:'), { readPath });
  if (writeBack !== null) {
    cache.writeBack = new WriteBack(
      () => cache.persistAll(),
      () => cache.stats().filter((n) => n.persistence === 'on-shutdown').reduce((sum, n) => sum + n.dirty, 0),
      writeBack,
    );
  }
  const exports = await mod.instantiate(
    (path) => readFile(join(GEN, path)).then((bytes) => WebAssembly.compile(bytes)),
    // Called once per storage call: a read that made none may be copied.
    storageImports(() => { cache.storageCalls += 1; return cache.storage; }),
  );
  cache.attach(exports);
  return cache;
}

/** One component instance: `cache.*` generic calls at the top level, the bot API under `.bot`. */
export class Cache {
  constructor(storage, { readPath = true } = {}) {
    this.storage = storage;
    this.poisoned = null;
    /** The write-back bound (see write-back.js), or null: `.failures`, `.lastError`. */
    this.writeBack = null;
    /** Storage calls the component made so far. */
    this.storageCalls = 0;
    /** @internal the copies and the pending hits (src/read-path.js) */
    this.readPath = new ReadPath(readPath);
  }

  /** @internal */
  attach(exports) {
    const pick = (name) => EXPORTS(name).map((n) => exports[n]).find(Boolean);
    this.raw = { cache: pick('cache'), bot: pick('bot') };
    if (!this.raw.cache || !this.raw.bot) throw new Error(`unexpected component exports: ${Object.keys(exports)}`);
    const b = (name, ...args) => this.call('bot', name, ...args);
    this.bot = {
      getChatSettings: (chatId) => this.read(CHAT_SETTINGS, big(chatId)),
      setChatSettings: (chatId, settings, mode = 'merge') => b('setChatSettings', big(chatId), settings, mode),
      unsetChatSetting: (chatId, key) => b('unsetChatSetting', big(chatId), key),
      getChatInfo: (chatId) => opt(this.read(CHAT_INFO, big(chatId))),
      setChatInfo: (chatId, info) => b('setChatInfo', big(chatId), info),
      getUserData: (chatId, userId) => this.read(USER_DATA, big(chatId), big(userId)),
      setUserData: (chatId, userId, key, value) => b('setUserData', big(chatId), big(userId), key, value),
      getUserState: (userId, stateKey) => opt(this.read(USER_STATE, big(userId), stateKey)),
      setUserState: (userId, stateKey, value) => b('setUserState', big(userId), stateKey, value),
      clearUserState: (userId, stateKey = null) => b('clearUserState', big(userId), stateKey ?? undefined),
    };
  }

  /**
   * Writes pending on-shutdown changes (`persistAll`), then closes the storage
   * and drops the read path's copies.
   * If the write fails it throws and leaves the storage open, so nothing pending is lost.
   */
  close() {
    this.persistAll();
    this.writeBack?.cancel();
    this.readPath.dropCopies();
    this.storage.close?.();
  }

  /** Serves later storage calls from `storage`. Copies of answers read under the previous storage are dropped. */
  setStorage(storage) {
    this.storage = storage;
    this.readPath.dropCopies();
  }

  /**
   * Turns the read path on or off. On (the default), a hit is answered from the
   * host's copy of an earlier answer without entering the component, and logged;
   * the log is replayed into the component before any other call, so its recency,
   * hit counts and evictions are exactly as with the read path off. Off, every
   * read enters the component (for debugging); turning it off drops every copy.
   */
  setReadPath(on) { this.readPath.setEnabled(on); }

  /** {enabled, copies, bytes, served, syncs, stale}: what the read path holds and did (see src/read-path.js). */
  readPathStats() { return this.readPath.stats(); }

  /**
   * Calls export `iface` ('cache' | 'bot') function `name` (jco camelCase) with jco values.
   * Throws CacheError subclasses for `cache-error`, ComponentTrapError for traps.
   * A read the read path copies (`cache.get`, `bot.getChatSettings`, `getChatInfo`,
   * `getUserData`, `getUserState`) may be answered from a copy.
   */
  call(iface, name, ...args) {
    const kind = READS[iface]?.[name];
    if (kind !== undefined && args.length <= 2) return this.read(kind, args[0], args[1]);
    return this.enter(iface, name, args);
  }

  /**
   * The answer of read `kind` (a READS value) with arguments `a`, `b`, as jco
   * returns it (undefined for none): from a copy when one may be served,
   * otherwise from the component, whose storage-free answer is then copied.
   * @internal
   */
  read(kind, a, b) {
    const rp = this.readPath;
    // Off, no copy exists or is made: every read enters the component.
    if (!rp.enabled) return this.enter(kind.iface, kind.name, b === undefined ? [a] : [a, b]);
    let text = rp.lookup(kind, a, b);
    if (text === NEEDS_SYNC) {
      this.syncReads();
      text = rp.lookup(kind, a, b);
    }
    if (text !== undefined && text !== NEEDS_SYNC) return text;
    const wasUnsynced = rp.unsynced;
    const before = this.storageCalls;
    const answer = this.enter(kind.iface, kind.name, b === undefined ? [a] : [a, b]);
    if (this.storageCalls === before) {
      // A read that reached no storage changed no entry a copy depends on. Changes
      // pending from earlier calls are applied before the copy is made, so that
      // they cannot drop this newer copy.
      if (wasUnsynced && answer !== undefined && rp.enabled) this.syncReads();
      else rp.restoreSynced(wasUnsynced);
      if (answer !== undefined) rp.insert(kind, a, b, answer);
    }
    return answer;
  }

  /**
   * Replays the pending hits into the component (`sync`) and drops the copies
   * of the entries it reports changed. A trap poisons the instance and drops
   * every copy.
   * @internal
   */
  syncReads() {
    const batch = this.readPath.takeHits();
    if (this.poisoned) return;
    let report;
    try {
      report = this.raw.cache.sync(batch);
    } catch (e) {
      throw this.trapped('cache', 'sync', e);
    }
    this.readPath.synced(report);
  }

  /**
   * Calls the component itself: the pending hits are replayed first, and the
   * call's changes are learnt at the next `sync`.
   * @internal
   */
  enter(iface, name, args) {
    if (this.poisoned) throw new ComponentTrapError(`the component trapped earlier and is unusable: ${this.poisoned}`);
    const rp = this.readPath;
    if (rp.hasPendingHits()) this.syncReads();
    let result;
    try {
      result = this.raw[iface][name](...args);
    } catch (e) {
      rp.entered();
      const payload = e?.payload;
      if (payload && typeof payload === 'object' && typeof payload.tag === 'string') {
        throw errorFromCase(payload.tag, payload.val);
      }
      throw this.trapped(iface, name, e);
    }
    rp.entered();
    if (iface === 'cache') {
      if (name === 'configure') rp.configured(args[0]);
      else if (name === 'expireAfterWrite') rp.expiryChanged(args[0], args[1]);
    }
    this.writeBack?.noteCall(name, name === 'setMany' ? args[1].length : 1);
    return result;
  }

  /** Poisons the instance after a trap in `iface.name` and drops every copy; the error to throw. */
  trapped(iface, name, e) {
    this.poisoned = String(e?.message ?? e);
    this.readPath.reset();
    return new ComponentTrapError(`${iface}.${name} trapped: ${this.poisoned}`, { cause: e });
  }

  /** Replaces the namespace table: [{name, maxEntries, persistence}]. */
  configure(namespaces) {
    this.call('cache', 'configure', namespaces.map(({ name, maxEntries, persistence }) => ({ name, maxEntries, persistence })));
  }

  /** JSON text under `key`, or null. */
  get(namespace, key) { return opt(this.read(GET, namespace, key)); }

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
