// Transpiles target/cache.wasm (or $GROMOZEKA_CACHE_WASM) with jco into gen/ as an
// ES module with an `instantiate(getCoreModule, imports)` entry point, so every
// instance gets its own `storage` import. gen/ is generated: never edit or commit it.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const wasm = process.env.GROMOZEKA_CACHE_WASM ?? resolve(pkg, '../../target/cache.wasm');
if (!existsSync(wasm)) {
  console.error(`transpile: ${wasm} does not exist; build it with \`just build\` or set GROMOZEKA_CACHE_WASM`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
const jcoPkg = require('@bytecodealliance/jco/package.json');
const bin = join(dirname(require.resolve('@bytecodealliance/jco/package.json')), jcoPkg.bin.jco);
const out = join(pkg, 'gen');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [bin, 'transpile', wasm, '-o', out, '--name', 'cache',
  '--instantiation', 'async', '--no-wasi-shim', '--quiet'], { stdio: 'inherit' });
console.log(`transpile: ${wasm} -> ${out}`);
