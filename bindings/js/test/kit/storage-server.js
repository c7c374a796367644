/**
 * Serves SqliteStorage to the storage kit (storage-kit/, the one suite every
 * backend runs) over stdin and stdout, one JSON request and one answer per
 * line: the protocol of storage-kit/src/remote.rs, where the requests are
 * described. The damage and failure hooks are those of SqliteBackend.
 * Started by `target/release/storage-kit -- node storage-server.js`.
 */
import { createInterface } from 'node:readline';
import { StorageError } from '../../src/errors.js';
import { SqliteBackend } from './sqlite-backend.js';

/** The storage interface's functions (wit/rows.wit, wit/bot-storage.wit), as jco names them. */
const FUNCTIONS = new Set(['load', 'get', 'write', 'getChatSettings', 'writeChatSettings', 'getUserData', 'setUserData']);

const backend = new SqliteBackend();
const storages = new Map();
let nextId = 0;

const keep = (storage) => {
  nextId += 1;
  storages.set(nextId, storage);
  return nextId;
};
const storage = (id) => {
  const s = storages.get(id);
  if (!s) throw new Error(`no storage ${id}`);
  return s;
};
/** `{"s64": "<decimal>"}` as a BigInt, everything else as it is. */
const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 's64') return BigInt(v.s64);
    return Object.fromEntries(keys.map((k) => [k, revive(v[k])]));
  }
  return v;
};

const OPS = {
  open: () => keep(backend.open()),
  reopen: (id) => {
    const reopened = backend.reopen(storage(id));
    storages.delete(id);
    return reopened ? keep(reopened) : null;
  },
  putBadCell: ([id, namespace, key, cell]) => backend.putBadCell(storage(id), namespace, key, cell),
  provoke: ([id, kind, key]) => backend.provoke(storage(id), kind, key),
  heal: (id) => {
    backend.heal(storage(id));
    return null;
  },
  call: ([id, fn, args]) => {
    if (!FUNCTIONS.has(fn)) throw new Error(`not a storage function: ${fn}`);
    return storage(id)[fn](...revive(args)) ?? null;
  },
};

const answer = (line) => {
  try {
    const request = JSON.parse(line);
    const [op] = Object.keys(request);
    if (!Object.hasOwn(OPS, op)) throw new Error(`unknown request ${line}`);
    return { ok: OPS[op](request[op]) };
  } catch (e) {
    if (e instanceof StorageError) return { err: { kind: e.kind, message: e.message } };
    return { fail: String(e?.stack ?? e) };
  }
};

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(answer(line))}\n`);
}
