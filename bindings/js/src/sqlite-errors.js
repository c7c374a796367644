/**
 * better-sqlite3 failures as typed StorageErrors that name the file and say what
 * to do, and cells that cannot be read as text as reasons. The kind comes from
 * SQLite's result code (`SqliteError.code`), never from a message, except that
 * SQLite reports a missing table or column only as a generic SQLITE_ERROR.
 */
import { StorageError } from './errors.js';

/** SQLite's primary result code of `code`: `SQLITE_IOERR_WRITE` -> `SQLITE_IOERR`. */
function primary(code) {
  return code.split('_').slice(0, 2).join('_');
}

/**
 * The StorageError for `e`, thrown by better-sqlite3 while doing `op` on `path`.
 * A StorageError passes through unchanged.
 */
export function storageError(e, { path, busyTimeoutMs }, op) {
  if (e instanceof StorageError) return e;
  const p = path;
  const detail = e?.message ?? String(e);
  const code = typeof e?.code === 'string' ? e.code : null;
  if (code === null) {
    // better-sqlite3 checks the directory itself before SQLite opens the file.
    if (op === 'open' && e instanceof TypeError && /directory does not exist/.test(detail)) {
      return new StorageError('unavailable', `cannot open ${p}: its directory does not exist; create it or fix the path`);
    }
    return new StorageError('other', `cannot ${op} on ${p}: ${detail}`);
  }
  switch (primary(code)) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StorageError('busy', `cannot ${op}: database ${p} is locked by another connection and stayed locked for `
        + `${busyTimeoutMs} ms (SQLite: ${detail}); stop the other writer or raise the busy timeout, then retry`);
    case 'SQLITE_READONLY':
      return new StorageError('read-only', `cannot ${op}: database ${p} is read-only (SQLite: ${detail}); make the file `
        + 'and its directory writable by this process, then retry');
    case 'SQLITE_FULL':
      return new StorageError('full', `cannot ${op}: the disk holding ${p} is full (SQLite: ${detail}); free some space, then retry`);
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new StorageError('corrupt', `cannot ${op}: ${p} is damaged or is not a SQLite database (SQLite: ${detail}); `
        + 'restore it from a backup, or move it away to start with an empty cache');
    case 'SQLITE_CONSTRAINT':
      return new StorageError('constraint', `cannot ${op} on ${p}: the database refused the change (SQLite: ${detail})`);
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return new StorageError('unavailable', `cannot ${op}: cannot open ${p} (SQLite: ${detail}); check that it and its `
        + 'directory exist and are accessible to this process');
    case 'SQLITE_IOERR':
      return new StorageError('unavailable', `cannot ${op}: I/O error on ${p} (SQLite: ${detail}); check the disk and the file system`);
    case 'SQLITE_SCHEMA':
      return new StorageError('schema', `cannot ${op} on ${p}: the schema changed (SQLite: ${detail}); retry`);
    case 'SQLITE_ERROR':
      if (/^no such (table|column)|has no column named/.test(detail)) {
        return new StorageError('schema', `cannot ${op} on ${p}: the tables do not have the shape the cache needs `
          + `(SQLite: ${detail}); see schema/sqlite/migrations`);
      }
      return new StorageError('other', `cannot ${op} on ${p}: SQLite: ${detail}`);
    default:
      return new StorageError('other', `cannot ${op} on ${p}: SQLite: ${detail}`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A cell as better-sqlite3 read it (with safe integers): `{text}`, or `{reason}`
 * if it is not text. `suspect` marks text holding U+FFFD, which is also what
 * better-sqlite3 makes of invalid UTF-8: the storage then reads the cell's bytes
 * (`CAST(... AS BLOB)`) and decides with `decodeBytes`.
 */
export function cellText(cell, what) {
  if (typeof cell === 'string') return { text: cell, suspect: cell.includes('\uFFFD') };
  if (cell === null) return { reason: `${what} is NULL` };
  if (Buffer.isBuffer(cell)) return { reason: `${what} is a BLOB of ${cell.length} bytes` };
  return { text: String(cell), suspect: false };
}

/** The stored bytes of a cell as `{text}`, or `{reason}` if they are NULL or not valid UTF-8. */
export function decodeBytes(bytes, what) {
  if (bytes === null) return { reason: `${what} is NULL` };
  try {
    return { text: UTF8.decode(bytes) };
  } catch {
    return { reason: `${what} is not valid UTF-8 text` };
  }
}

/** A key that is not text, decoded lossily, for naming its row. */
export function lossyKey(cell) {
  if (Buffer.isBuffer(cell)) return cell.toString('utf8');
  return cell === null ? '' : String(cell);
}
