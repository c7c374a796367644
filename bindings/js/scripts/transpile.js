// Transpiles target/cache.wasm (or $GROMOZEKA_CACHE_WASM) with jco into gen/ as an
// ES module with an `instantiate(getCoreModule, imports)` entry point, so every
// instance gets its own `storage` import, then strips jco's per-call debug logging from
// gen/cache.js (scripts/strip-debug-log.js). gen/ is generated: never edit or commit it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripDebugLog } from './strip-debug-log.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const wasm = process.env.GROMOZEKA_CACHE_WASM ?? resolve(pkg, '../../target/cache.wasm');
if (!existsSync(wasm)) {
  console.error(`transpile: ${wasm} does not exist; build it with \`just build\` or set GROMOZEKA_CACHE_WASM`);
  process.exit(1);
}
// The jco CLI as npm installed it (node_modules/.bin/jco -> @bytecodealliance/jco/dist/jco.js).
const bin = join(pkg, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
if (!existsSync(bin)) {
  console.error(`transpile: ${bin} missing; run \`npm ci\` in ${pkg}`);
  process.exit(1);
}
const out = join(pkg, 'gen');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [bin, 'transpile', wasm, '-o', out, '--name', 'cache',
  '--instantiation', 'async', '--no-wasi-shim', '--quiet'], { stdio: 'inherit' });
// jco 1.35.0 calls `_debugLog` (a `process.env` read) several times per exported call, ~39% of
// a hot `get`, with no option to omit it. The result must still parse (node --check); on any
// failure gen/ is removed, so that nothing runs the unstripped or a broken module.
const js = join(out, 'cache.js');
let removed;
try {
  const stripped = stripDebugLog(readFileSync(js, 'utf8'));
  removed = stripped.removed;
  writeFileSync(js, stripped.code);
  execFileSync(process.execPath, ['--check', js], { stdio: 'inherit' });
} catch (e) {
  rmSync(out, { recursive: true, force: true });
  console.error(`transpile: ${e.message}`);
  process.exit(1);
}
console.log(`transpile: ${wasm} -> ${out} (${removed} _debugLog calls stripped)`);
