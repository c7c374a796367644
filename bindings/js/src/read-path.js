/**
 * The Node host's read path: hits answered from the host's copies of earlier
 * answers, without entering the component, while the component's LRU stays
 * exact (`sync` in wit/cache.wit). The same design as the Rust host's
 * (host/src/service/read_path.rs); src/index.js drives it.
 *
 * - A copy is made only of a successful read that returned a value without
 *   calling storage, outside namespaces whose entries expire: replaying it is
 *   then a plain hit of one entry (READS below names the entry of each read).
 * - Every hit served from a copy is logged in order, and the log is replayed
 *   into the component (`sync`) before any other call enters it, and when
 *   MAX_PENDING_HITS entries (or MAX_LOGGED_HITS hits) are pending. No record
 *   is dropped, so recency, hit counts and evictions are what they would have
 *   been had every read entered it.
 * - After any call that may have changed an entry, a copy is served only after
 *   a `sync` has brought back the component's change journal and the copies of
 *   every changed entry are dropped. A trap, `configure`, a new storage and
 *   `close` drop every copy.
 * - The copies are bounded (COPIES_PER_ENTRY per entry of the namespace
 *   table's capacity) and their bytes counted (`stats()`).
 *
 * Nothing here calls the component: the host calls `sync` with `takeHits()`
 * and hands the report to `synced()`.
 */

/**
 * Entries with hits served from copies that are replayed at the latest when
 * this many are pending: the log's memory is bounded, and a replay's cost is
 * spread thin. Repeated hits of one entry take one place. As in the Rust host.
 */
export const MAX_PENDING_HITS = 1024;

/**
 * Hits logged at most before a replay: the log keeps one reference per hit (not
 * per entry, which is cheaper per hit than moving the entry to the end of an
 * ordered set), so its memory is bounded by this as well (128 KiB).
 */
export const MAX_LOGGED_HITS = 16 * MAX_PENDING_HITS;

/** Copies held at most, per entry the namespace table allows (its total `max-entries`). */
const COPIES_PER_ENTRY = 2;

/** Bytes of bookkeeping counted per copy besides its texts (as the Rust host counts). */
const COPY_OVERHEAD = 96;

/** An entry's pending hits are replayed before their count (a u32 in `hit-batch`) could overflow. */
const MAX_HITS = 0xffff_ffff;

/** The capacity of the table a new instance has until its first `configure` (3 namespaces of 1000). */
const DEFAULT_CAPACITY = 3000;

/** `lookup`'s answer when a copy exists but a `sync` must run before it is served. */
export const NEEDS_SYNC = Symbol('needs sync');

const utf8Bytes = (s) => Buffer.byteLength(s, 'utf8');

/**
 * The reads a copy may answer, by export: `index` picks the read's copy table,
 * `entry(a, b)` is the (namespace, key) of the one entry its answer comes from
 * (as `Read::entry` in core/src/read_path.rs and `sync` in wit/cache.wit say),
 * `keyBytes(a, b)` the bytes of its arguments counted in `stats().bytes`.
 * `a`, `b` are the call's arguments as jco takes them (s64 ids are BigInt).
 */
export const READS = Object.freeze({
  cache: Object.freeze({
    get: Object.freeze({ index: 0, iface: 'cache', name: 'get', entry: (ns, key) => [ns, key], keyBytes: (ns, key) => utf8Bytes(ns) + utf8Bytes(key) }),
  }),
  bot: Object.freeze({
    getChatSettings: Object.freeze({ index: 1, iface: 'bot', name: 'getChatSettings', entry: (chatId) => ['chats', String(chatId)], keyBytes: () => 0 }),
    getChatInfo: Object.freeze({ index: 2, iface: 'bot', name: 'getChatInfo', entry: (chatId) => ['chats', String(chatId)], keyBytes: () => 0 }),
    getUserData: Object.freeze({ index: 3, iface: 'bot', name: 'getUserData', entry: (chatId, userId) => ['chatUsers', `${chatId}:${userId}`], keyBytes: () => 0 }),
    getUserState: Object.freeze({ index: 4, iface: 'bot', name: 'getUserState', entry: (userId) => ['users', String(userId)], keyBytes: (_, stateKey) => utf8Bytes(stateKey) }),
  }),
});
const KINDS = 5;

/** A (namespace, key) of the component, shared by the copies made from it. */
class Entry {
  constructor(id, namespace, key) {
    this.id = id;
    this.namespace = namespace;
    this.key = key;
    this.keyBytes = utf8Bytes(key);
    /** @type {Copy[]} */
    this.copies = [];
    /** Hits served since the last `sync` (0: not in the log). */
    this.pending = 0;
    /** The index of its last hit in the log. */
    this.last = -1;
    /**
     * The component's handle of the entry, [slot, generation], once a `sync`
     * gave it: later replays name the entry by it instead of its key.
     */
    this.handle = null;
  }
}

/** Both numbers of "no handle" in `hit-batch` and `sync-report`. */
const NO_HANDLE = 0xffff_ffff;

/** A copy of one read's answer. */
class Copy {
  constructor(text, entry, table, a, b, bytes) {
    this.text = text;
    this.entry = entry;
    this.table = table;
    this.a = a;
    this.b = b;
    this.bytes = bytes;
  }
}

/** The copies of one kind of read, by its first then its second argument. */
class CopyTable {
  constructor() { this.outer = new Map(); }

  get(a, b) { return this.outer.get(a)?.get(b); }

  set(a, b, copy) {
    let inner = this.outer.get(a);
    if (inner === undefined) { inner = new Map(); this.outer.set(a, inner); }
    inner.set(b, copy);
  }

  delete(a, b) {
    const inner = this.outer.get(a);
    if (inner === undefined) return;
    inner.delete(b);
    if (inner.size === 0) this.outer.delete(a);
  }

  clear() { this.outer.clear(); }
}

/** The copies, the pending hits and whether a `sync` is due (see the module doc). */
export class ReadPath {
  /** @param {boolean} enabled whether copies are made and served */
  constructor(enabled = true) {
    this.enabled = enabled;
    /** Per READS index. */
    this.tables = Array.from({ length: KINDS }, () => new CopyTable());
    /** @type {Map<string, Entry>} entries with copies, by `namespace \0 key` (neither holds NUL). */
    this.entries = new Map();
    /**
     * @type {Entry[]} the hits since the last `sync`, oldest first; an entry hit
     * again right after itself is not logged again. Each entry's last hit is at
     * its `last` index.
     */
    this.log = [];
    /** Entries in the log. */
    this.distinct = 0;
    /** A bound of the log is reached (MAX_PENDING_HITS, MAX_LOGGED_HITS, MAX_HITS): a `sync` is due. */
    this.full = false;
    /** A call entered the component since the last `sync`: its changes are unknown. */
    this.unsynced = false;
    /** Namespaces whose entries expire (`expire-after-write`): never copied. */
    this.expiring = new Set();
    /** The namespace table's total `max-entries`. */
    this.capacity = DEFAULT_CAPACITY;
    this.copies = 0;
    this.bytes = 0;
    this.served = 0;
    this.syncs = 0;
    /** The entries of the batch `takeHits()` made last, in its order. */
    this.inFlight = [];
    this.stale = 0;
  }

  /**
   * What the read path holds and did: `enabled`; `copies` held now; `bytes`
   * they hold (UTF-8 texts, keys and bookkeeping); `served` reads answered
   * from a copy; `syncs` made; `stale`, replayed hits the component found no
   * entry for (always 0 unless the read path has a defect; each is warned of).
   */
  stats() {
    return {
      enabled: this.enabled,
      copies: this.copies,
      bytes: this.bytes,
      served: this.served,
      syncs: this.syncs,
      stale: this.stale,
    };
  }

  /** Turns serving from copies on or off; off drops every copy. Pending hits stay until the next `sync`. */
  setEnabled(on) {
    this.enabled = Boolean(on);
    if (!this.enabled) this.dropCopies();
  }

  /**
   * The copy of read `kind` (a READS value) with arguments `a`, `b`, if one may
   * be served now: its text, with the hit logged; NEEDS_SYNC if one exists but
   * a `sync` must run first; undefined if none.
   */
  lookup(kind, a, b) {
    const copy = this.tables[kind.index].get(a, b);
    if (copy === undefined) return undefined;
    if (this.unsynced || this.full) return NEEDS_SYNC;
    const { entry } = copy;
    const { log } = this;
    const n = log.length;
    if (n === 0 || log[n - 1] !== entry) {
      if (entry.pending === 0 && (this.distinct += 1) >= MAX_PENDING_HITS) this.full = true;
      entry.last = n;
      log.push(entry);
      if (n + 1 >= MAX_LOGGED_HITS) this.full = true;
    }
    if ((entry.pending += 1) === MAX_HITS) this.full = true;
    this.served += 1;
    return copy.text;
  }

  /** Whether hits wait to be replayed. */
  hasPendingHits() { return this.log.length !== 0; }

  /** A call entered the component: entries may have changed. */
  entered() { this.unsynced = true; }

  /** Undoes `entered` for a call that changed no entry a copy can depend on (a read that called no storage). */
  restoreSynced(wasUnsynced) { this.unsynced = wasUnsynced; }

  /**
   * The pending hits as `sync` takes them (`hit-batch` in wit/types.wit): each
   * entry once, in the order of its last hit, by its handle where a `sync`
   * gave one, otherwise by its key (keys as UTF-8 byte lengths into one
   * string). The log is then empty.
   */
  takeHits() {
    const namespaces = [];
    const nsIndex = new Map();
    const entries = [];
    const handles = [];
    let keys = '';
    /** The batch's entries in order, to keep the handles `sync` returns. */
    this.inFlight = [];
    const { log } = this;
    for (let at = 0; at < log.length; at += 1) {
      const entry = log[at];
      if (entry.last !== at) continue; // hit again later
      let i = nsIndex.get(entry.namespace);
      if (i === undefined) {
        i = namespaces.length;
        namespaces.push(entry.namespace);
        nsIndex.set(entry.namespace, i);
      }
      if (entry.handle !== null) {
        entries.push(i, 0, entry.pending);
        handles.push(entry.handle[0], entry.handle[1]);
      } else {
        entries.push(i, entry.keyBytes, entry.pending);
        keys += entry.key;
        handles.push(NO_HANDLE, NO_HANDLE);
      }
      this.inFlight.push(entry);
      entry.pending = 0;
      entry.last = -1;
    }
    this.clearLog();
    return { namespaces, entries, keys, handles };
  }

  /**
   * Applies what a `sync` of `takeHits()`'s batch returned (`sync-report`): the
   * entries' handles are kept, then the copies of changed entries go.
   */
  synced(report) {
    this.syncs += 1;
    this.unsynced = false;
    const { inFlight } = this;
    this.inFlight = [];
    for (let i = 0; i < inFlight.length && 2 * i + 1 < report.handles.length; i += 1) {
      const slot = report.handles[2 * i];
      inFlight[i].handle = slot === NO_HANDLE ? null : [slot, report.handles[2 * i + 1]];
    }
    if (report.stale > 0) {
      this.stale += report.stale;
      process.emitWarning(
        `the read path served copies of ${report.stale} entries the component no longer held; dropping every copy`,
        { code: 'GROMOZEKA_CACHE_STALE_COPY' },
      );
      this.dropCopies();
    }
    for (const change of report.changes) {
      switch (change.tag) {
        case 'everything': this.dropCopies(); break;
        case 'whole-namespace': this.dropNamespace(change.val); break;
        case 'entry': {
          const entry = this.entries.get(`${change.val[0]}\0${change.val[1]}`);
          if (entry !== undefined) this.dropEntry(entry);
          break;
        }
        default: throw new TypeError(`unknown change ${change.tag}`);
      }
    }
  }

  /**
   * Keeps `text` as the answer of read `kind` with arguments `a`, `b`, unless
   * the read path is off or the entry's namespace expires entries. At the
   * bound (COPIES_PER_ENTRY × the table's capacity) every copy goes first.
   */
  insert(kind, a, b, text) {
    if (!this.enabled) return;
    const [namespace, key] = kind.entry(a, b);
    if (this.expiring.has(namespace)) return;
    if (this.copies >= this.capacity * COPIES_PER_ENTRY) this.dropCopies();
    const table = this.tables[kind.index];
    const old = table.get(a, b);
    if (old !== undefined) this.removeCopy(old);
    const id = `${namespace}\0${key}`;
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = new Entry(id, namespace, key);
      this.entries.set(id, entry);
    }
    const copy = new Copy(text, entry, table, a, b, COPY_OVERHEAD + kind.keyBytes(a, b) + utf8Bytes(text));
    entry.copies.push(copy);
    table.set(a, b, copy);
    this.copies += 1;
    this.bytes += copy.bytes;
  }

  /**
   * After a successful `configure(namespaces)`: the new capacity; expiry stays
   * only where a namespace stays memory-only (the component drops the rest).
   * The table was replaced: every copy goes now (the journal says so too).
   */
  configured(namespaces) {
    this.capacity = namespaces.reduce((sum, n) => sum + Number(n.maxEntries), 0);
    const memoryOnly = new Set(namespaces.filter((n) => n.persistence === 'memory-only').map((n) => n.name));
    for (const ns of this.expiring) if (!memoryOnly.has(ns)) this.expiring.delete(ns);
    this.dropCopies();
  }

  /** After a successful `expire-after-write(namespace, afterMs)`: its reads are copied only while it has no expiry. */
  expiryChanged(namespace, afterMs) {
    if (afterMs === undefined || afterMs === null) this.expiring.delete(namespace);
    else {
      this.expiring.add(namespace);
      this.dropNamespace(namespace);
    }
  }

  /** Drops every copy and forgets the pending hits: the instance they belonged to is gone. */
  reset() {
    this.dropCopies();
    for (const entry of this.log) {
      entry.pending = 0;
      entry.last = -1;
    }
    this.clearLog();
    this.unsynced = false;
  }

  clearLog() {
    this.log = [];
    this.distinct = 0;
    this.full = false;
  }

  /** Drops every copy (pending hits stay, for the live instance). */
  dropCopies() {
    for (const table of this.tables) table.clear();
    this.entries.clear();
    this.copies = 0;
    this.bytes = 0;
  }

  dropNamespace(namespace) {
    for (const entry of this.entries.values()) if (entry.namespace === namespace) this.dropEntry(entry);
  }

  dropEntry(entry) {
    for (const copy of entry.copies) {
      copy.table.delete(copy.a, copy.b);
      this.copies -= 1;
      this.bytes -= copy.bytes;
    }
    entry.copies = [];
    this.entries.delete(entry.id);
  }

  removeCopy(copy) {
    copy.table.delete(copy.a, copy.b);
    this.copies -= 1;
    this.bytes -= copy.bytes;
    const { entry } = copy;
    const i = entry.copies.indexOf(copy);
    if (i >= 0) entry.copies.splice(i, 1);
    if (entry.copies.length === 0) this.entries.delete(entry.id);
  }
}
