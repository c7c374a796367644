// Copies the repository's schema/sqlite/ (the one copy of the SQL) into the package's
// schema/sqlite/, where src/schema.js reads it at run time and `npm pack` ships it.
// The copy is generated: never edit or commit it; edit ../../schema/sqlite instead.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const from = resolve(pkg, '../../schema/sqlite');
const to = resolve(pkg, 'schema/sqlite');
if (!existsSync(from)) {
  console.error(`copy-schema: ${from} does not exist; run this from a checkout of the repository`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('README.md') });
console.log(`copy-schema: ${from} -> ${to}`);
