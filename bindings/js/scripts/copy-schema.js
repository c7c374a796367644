// At pack time only: copies the repository's schema/sqlite/ (the one copy of the SQL)
// into the package's schema/sqlite/, which `npm pack` ships and src/schema.js then
// reads; `--remove` (postpack) deletes it again, so a checkout runs the repository's
// folder itself. Never edit or commit the copy; edit ../../schema/sqlite instead.
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
if (process.argv.includes('--remove')) {
  rmSync(resolve(pkg, 'schema'), { recursive: true, force: true });
  console.log(`copy-schema: removed ${to}`);
  process.exit(0);
}
cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('README.md') });
console.log(`copy-schema: ${from} -> ${to}`);
