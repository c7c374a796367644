/**
 * The SQL of the repository's `schema/sqlite/` (the one copy every SQLite host
 * runs), read at run time: in a checkout straight from the repository's folder;
 * in a packed package from its `schema/sqlite/`, which `scripts/copy-schema.js`
 * copies there at pack time only. No SQL is written in this package.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The shared schema this package runs: the packed copy when the package was
 * packed, else the repository's `schema/sqlite/` beside this checkout.
 */
export const SCHEMA_DIR = existsSync(join(PACKAGE, 'schema', 'sqlite'))
  ? join(PACKAGE, 'schema', 'sqlite')
  : join(PACKAGE, '..', '..', 'schema', 'sqlite');

/** The query files the SQLite storage runs, by name (file name without `.sql`). */
export const QUERY_NAMES = Object.freeze([
  'rows_load', 'rows_get', 'rows_clear', 'rows_delete', 'rows_upsert', 'rows_value_bytes',
  'settings_get', 'settings_keys', 'settings_upsert', 'settings_delete', 'settings_value_bytes',
  'user_data_get', 'user_data_upsert', 'user_data_value_bytes',
  'last_written',
  'schema_version_table', 'schema_version_exists', 'schema_version_get', 'schema_version_set',
]);

let cached = null;

/**
 * `{migrations: [sql...], queries: {name: sql}, version}`: migration `i` brings the
 * schema to version `i + 1`; `version` is the number of migrations. Throws if the
 * schema folder is missing or a migration number is out of sequence.
 */
export function loadSchema(dir = SCHEMA_DIR) {
  if (dir === SCHEMA_DIR && cached) return cached;
  if (!existsSync(dir)) {
    throw new Error(`the SQLite schema is missing at ${dir}; run this package from a checkout of the repository, or pack it with npm pack (which copies schema/sqlite)`);
  }
  const files = readdirSync(join(dir, 'migrations')).filter((f) => f.endsWith('.sql')).sort();
  const migrations = files.map((file, i) => {
    const number = Number.parseInt(file.slice(0, 4), 10);
    if (!/^\d{4}_/.test(file) || number !== i + 1) {
      throw new Error(`${join(dir, 'migrations', file)}: expected migration number ${i + 1} (NNNN_name.sql, in sequence)`);
    }
    return readFileSync(join(dir, 'migrations', file), 'utf8');
  });
  const queries = Object.fromEntries(QUERY_NAMES.map((name) => [name, readFileSync(join(dir, 'queries', `${name}.sql`), 'utf8')]));
  const schema = Object.freeze({ migrations, queries, version: migrations.length });
  if (dir === SCHEMA_DIR) cached = schema;
  return schema;
}
