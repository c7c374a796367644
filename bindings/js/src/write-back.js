// The write-back bound of the Node host, as the Rust and Python hosts have it:
// pending on-shutdown changes are written back (`persistAll`) once the oldest is
// `maxAge` ms old or `maxPending` are pending, so a process killed without warning
// loses at most the on-shutdown changes of its last `maxAge` ms, and never
// `maxPending` or more. The component stays clock-free: the host counts the calls
// that may leave a change pending and asks the component for the exact count
// (`stats`) only when that count reaches the bound.

/** The defaults of every host: 5 s, 256 changes. */
export const DEFAULT_WRITE_BACK = Object.freeze({ maxAge: 5000, maxPending: 256 });

/** Calls that never leave a change pending: they are not counted. */
const READS = new Set([
  'get', 'getMany', 'stats', 'pendingChanges', 'loadFromStorage', 'persistAll', 'configure',
  'forget', 'forgetNamespace', 'forgetAll', 'getChatSettings', 'getChatInfo', 'getUserData',
  'getUserState', 'forgetChatSettings', 'forgetUserData', 'sync', 'setTime', 'expireAfterWrite',
]);

export class WriteBack {
  /**
   * @param {() => void} persist writes every pending change (throws on failure)
   * @param {() => number} pending the component's exact count of pending changes
   * @param {{maxAge?: number | null, maxPending?: number | null}} bounds `null` or 0 turns one off
   */
  constructor(persist, pending, { maxAge = DEFAULT_WRITE_BACK.maxAge, maxPending = DEFAULT_WRITE_BACK.maxPending } = {}) {
    for (const [name, v] of [['maxAge', maxAge], ['maxPending', maxPending]]) {
      if (v !== null && !(Number.isInteger(v) && v >= 0)) throw new RangeError(`writeBack.${name} must be a whole number >= 0 or null, not ${v}`);
    }
    this.persist = persist;
    this.pending = pending;
    this.maxAge = maxAge || null;
    this.maxPending = maxPending || null;
    /** Scheduled write-backs that failed; the changes stayed pending and are retried. */
    this.failures = 0;
    /** The last failure, for the application's log. */
    this.lastError = null;
    this.unpersisted = 0;
    this.timer = null;
  }

  /** After a successful call `name` of `calls` changes (1 unless a batch). */
  noteCall(name, changes = 1) {
    if (READS.has(name)) return;
    this.unpersisted += changes;
    if (this.timer === null && this.maxAge !== null) {
      this.timer = setTimeout(() => this.writeBack(), this.maxAge);
      this.timer.unref?.();
    }
    if (this.maxPending !== null && this.unpersisted >= this.maxPending) {
      let exact;
      try {
        exact = this.pending();
      } catch (e) {
        this.failed(e);
        return;
      }
      if (exact >= this.maxPending) this.writeBack();
      else this.unpersisted = exact;
    }
  }

  /** Every pending change was written (by the bound or by the caller). */
  persisted() {
    this.unpersisted = 0;
    this.cancel();
  }

  /** Stops the timer (close). */
  cancel() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Writes back now; a failure is counted and retried after another interval. */
  writeBack() {
    this.cancel();
    try {
      this.persist();
      this.persisted();
    } catch (e) {
      this.failed(e);
    }
  }

  failed(e) {
    this.failures += 1;
    this.lastError = e;
    this.unpersisted = 0;
    this.cancel();
    if (this.maxAge !== null) {
      this.timer = setTimeout(() => this.writeBack(), this.maxAge);
      this.timer.unref?.();
    }
  }
}
