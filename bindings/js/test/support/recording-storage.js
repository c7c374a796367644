/**
 * The conformance scenarios' mock storage (conformance/README.md, "Mock step"): a
 * test double that records every storage call the component makes and fails
 * calls by rule. What it stores is kept by a real SqliteStorage in memory, so the
 * double holds no storage logic of its own; the SQL below only sets up and
 * inspects that database, as a test would.
 */
import { SqliteStorage, StorageError } from '../../src/index.js';

export const WRITE_FNS = ['write', 'write-chat-settings', 'set-user-data'];
export const READ_FNS = ['load', 'get', 'get-chat-settings', 'get-user-data'];

export class RecordingStorage {
  constructor() {
    this.inner = SqliteStorage.open(':memory:');
    this.calls = [];
    this.rules = { writes: null, reads: null };
  }

  /** Fails the next `times` (all, if null) calls among `fns` of `writes` or `reads` with `{kind, message}`. */
  setRule(which, { message, kind = 'other', times = null, fns }) {
    const allowed = which === 'writes' ? WRITE_FNS : READ_FNS;
    const chosen = fns ?? allowed;
    const bad = chosen.filter((f) => !allowed.includes(f));
    if (bad.length) throw new Error(`fail-${which}: not ${which}: ${bad}`);
    this.rules[which] = { message, kind, times, fns: chosen };
  }

  heal() { this.rules = { writes: null, reads: null }; }

  #enter(call) {
    this.calls.push(call);
    const which = WRITE_FNS.includes(call.fn) ? 'writes' : 'reads';
    const rule = this.rules[which];
    if (!rule || !rule.fns.includes(call.fn)) return;
    if (rule.times !== null) {
      rule.times -= 1;
      if (rule.times <= 0) this.rules[which] = null;
    }
    throw new StorageError(rule.kind, rule.message);
  }

  load(namespace, limit) {
    this.#enter({ fn: 'load', namespace, limit });
    return this.inner.load(namespace, limit);
  }

  get(namespace, key) {
    this.#enter({ fn: 'get', namespace, key });
    return this.inner.get(namespace, key);
  }

  write(batch) {
    this.#enter({
      fn: 'write',
      batch: {
        clear: [...batch.clear],
        delete: batch.delete.map(({ namespace, key }) => ({ namespace, key })),
        upsert: batch.upsert.map(({ namespace, key, value }) => ({ namespace, key, value })),
      },
    });
    this.inner.write(batch);
  }

  getChatSettings(chatId) {
    this.#enter({ fn: 'get-chat-settings', 'chat-id': chatId });
    return this.inner.getChatSettings(chatId);
  }

  writeChatSettings(chatId, change) {
    const pairs = (list) => list.map(([k, v]) => [k, v]);
    this.#enter({
      fn: 'write-chat-settings',
      'chat-id': chatId,
      change: { [change.tag]: change.tag === 'unset' ? change.val : pairs(change.val) },
    });
    this.inner.writeChatSettings(chatId, change);
  }

  getUserData(chatId, userId) {
    this.#enter({ fn: 'get-user-data', 'chat-id': chatId, 'user-id': userId });
    return this.inner.getUserData(chatId, userId);
  }

  setUserData(chatId, userId, key, value) {
    this.#enter({ fn: 'set-user-data', 'chat-id': chatId, 'user-id': userId, key, value });
    this.inner.setUserData(chatId, userId, key, value);
  }

  // Set-up and inspection, outside the call log.

  /** Stores the scenario's initial contents; rows in list order, so the last of a namespace is its newest. */
  seed({ rows = [], chat_settings: settings = [], user_data: userData = [] }) {
    for (const r of rows) {
      this.inner.write({ clear: [], delete: [], upsert: [{ namespace: r.namespace, key: r.key, value: r.value ?? '' }] });
      if ('unreadable' in r) {
        // A cell that is not text: a BLOB, keeping the row's place in the write order.
        this.inner.connection.prepare('UPDATE cache_storage SET value = ? WHERE namespace = ? AND key = ?')
          .run(Buffer.from(r.unreadable), r.namespace, r.key);
      }
    }
    for (const s of settings) this.inner.writeChatSettings(BigInt(s.chat_id), { tag: 'merge', val: [[s.key, s.value]] });
    for (const u of userData) this.inner.setUserData(BigInt(u.chat_id), BigInt(u.user_id), u.key, u.data);
  }

  /** Every readable row, oldest write first, as {namespace, key, value} (unreadable cells are left out, as the Rust runner's mock does). */
  rows() {
    return this.inner.connection.prepare('SELECT namespace, key, value FROM cache_storage ORDER BY updated_at, namespace, key').all()
      .filter(({ value }) => typeof value === 'string');
  }

  /** Every stored setting: {chatId: BigInt, key, value}. */
  chatSettings() {
    return this.inner.connection.prepare('SELECT chat_id, key, value FROM chat_settings').safeIntegers(true).all()
      .map((r) => ({ chatId: r.chat_id, key: r.key, value: r.value }));
  }

  /** Every stored data item: {chatId: BigInt, userId: BigInt, key, data}. */
  userDataItems() {
    return this.inner.connection.prepare('SELECT chat_id, user_id, key, data FROM user_data').safeIntegers(true).all()
      .map((r) => ({ chatId: r.chat_id, userId: r.user_id, key: r.key, data: r.data }));
  }

  close() { this.inner.close(); }
}
