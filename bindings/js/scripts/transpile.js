// Transpiles target/cache.wasm (or $GROMOZEKA_CACHE_WASM) with jco into gen/ as an
// ES module with an `instantiate(getCoreModule, imports)` entry point, so every
// instance gets its own `storage` import. gen/ is generated: never edit or commit it.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
console.log(`transpile: ${wasm} -> ${out}`);
