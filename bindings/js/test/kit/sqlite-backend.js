/**
 * The storage kit's backend for SqliteStorage: files in a temporary directory,
 * damaged and made to fail behind the storage's back (test-only SQL, as the Rust
 * kit's SQLite backend does in storage-sqlite/src/tests.rs).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../../src/index.js';

/** `cache_storage` rebuilt to accept a NULL value, shared with the Rust kit backend. */
const NULLABLE_VALUE_DDL = readFileSync(
  new URL('../../../../schema/sqlite/fixtures/nullable_value.sql', import.meta.url), 'utf8');

export class SqliteBackend {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'gromozeka-kit-'));
    this.next = 0;
    /** A second connection holding the write lock, for the busy case. */
    this.locker = null;
  }

  open() {
    this.next += 1;
    return SqliteStorage.open(join(this.dir, `kit${this.next}.db`), { busyTimeoutMs: 50 });
  }

  reopen(storage) {
    const { path } = storage;
    storage.close();
    return SqliteStorage.open(path);
  }

  putBadCell(s, namespace, key, cell) {
    const db = s.connection;
    const insert = (valueSql) => db.prepare(`INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?, ?, ${valueSql}, '2020-01-01 00:00:00')`);
    switch (cell) {
      case 'Blob': insert('?').run(namespace, key, Buffer.from([0, 159, 146, 150])); break;
      case 'InvalidUtf8': insert("CAST(X'C328' AS TEXT)").run(namespace, key); break;
      case 'Null':
        // The bot's and the seed's `value` columns are NOT NULL; a NULL can still
        // arrive in a table declared without it.
        db.exec(NULLABLE_VALUE_DDL);
        insert('NULL').run(namespace, key);
        break;
      default: throw new Error(cell);
    }
    return true;
  }

  provoke(s, kind, key) {
    const db = s.connection;
    switch (kind) {
      case 'busy':
        this.locker = new Database(s.path);
        this.locker.exec('BEGIN IMMEDIATE');
        return true;
      case 'constraint':
        db.exec(`CREATE TRIGGER kit_refuse BEFORE INSERT ON cache_storage WHEN NEW.key = '${key}'
          BEGIN SELECT RAISE(ABORT, 'refused by the kit'); END;`);
        return true;
      case 'schema':
        // The table the statements were prepared for is gone.
        db.exec('ALTER TABLE cache_storage RENAME TO kit_moved');
        return true;
      case 'read-only':
        db.pragma('query_only = 1');
        return true;
      case 'full': {
        const pages = db.pragma('page_count', { simple: true });
        db.pragma(`max_page_count = ${pages}`);
        // The batch must need new pages: make the failing row big.
        db.exec(`CREATE TRIGGER kit_grow BEFORE INSERT ON cache_storage WHEN NEW.key = '${key}'
          BEGIN INSERT INTO cache_storage VALUES ('kit-pad', 'pad', hex(randomblob(200000)), '2000-01-01'); END;`);
        return true;
      }
      default:
        return false;
    }
  }

  heal(s) {
    if (this.locker) {
      this.locker.exec('ROLLBACK');
      this.locker.close();
      this.locker = null;
    }
    const moved = s.connection.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'kit_moved'").pluck().get();
    if (moved) s.connection.exec('ALTER TABLE kit_moved RENAME TO cache_storage');
    s.connection.exec(`DROP TRIGGER IF EXISTS kit_refuse; DROP TRIGGER IF EXISTS kit_grow;
      PRAGMA query_only = 0; PRAGMA max_page_count = 4294967294;`);
  }
}
