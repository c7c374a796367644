/**
 * The component's imports (`gromozeka:cache/rows@0.3.0`, `gromozeka:cache/bot-storage@0.3.0`)
 * served by a JS storage (the interface in src/sqlite.js). A storage fails by
 * throwing: a StorageError keeps its kind; anything else reaches the component as
 * kind `other` with its message, never as a trap.
 */
import { StorageError } from './errors.js';

const VERSION = '0.3.0';
const ROWS = 'gromozeka:cache/rows';
const BOT_STORAGE = 'gromozeka:cache/bot-storage';

/** The `storage-error` record for a thrown value. */
function witError(e) {
  if (e instanceof StorageError) return { kind: e.kind, message: e.detail };
  return { kind: 'other', message: String(e instanceof Error ? e.message || e.name : e) };
}

/**
 * Both import interfaces, calling whatever storage `getStorage()` returns at call
 * time, under the names jco's instantiate looks up (it drops the version; the
 * versioned names are there for runtimes that keep it). `getStorage()` is called
 * exactly once per storage call, before it, so a host can count the calls.
 */
export function storageImports(getStorage) {
  const guard = (fn) => (...args) => {
    try {
      return fn(getStorage(), ...args);
    } catch (e) {
      // jco turns a thrown object with `payload` into `err(payload)`; a thrown Error would trap.
      throw { payload: witError(e) };
    }
  };
  const rows = {
    load: guard((s, namespace, limit) => s.load(namespace, limit).map((r) => ({
      key: r.key,
      value: 'unreadable' in r ? { tag: 'err', val: r.unreadable } : { tag: 'ok', val: r.value },
    }))),
    get: guard((s, namespace, key) => s.get(namespace, key) ?? undefined),
    write: guard((s, batch) => { s.write(batch); }),
  };
  const botStorage = {
    getChatSettings: guard((s, chatId) => s.getChatSettings(chatId)),
    writeChatSettings: guard((s, chatId, change) => { s.writeChatSettings(chatId, change); }),
    getUserData: guard((s, chatId, userId) => s.getUserData(chatId, userId)),
    setUserData: guard((s, chatId, userId, key, value) => { s.setUserData(chatId, userId, key, value); }),
  };
  return {
    [ROWS]: rows, [`${ROWS}@${VERSION}`]: rows, [BOT_STORAGE]: botStorage, [`${BOT_STORAGE}@${VERSION}`]: botStorage,
  };
}
