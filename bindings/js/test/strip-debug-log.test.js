// scripts/strip-debug-log.js: the generated gen/cache.js has no `_debugLog` call left (no
// exported call reads process.env for it), and the step refuses input not shaped as jco 1.35.0's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DebugLogShapeError, stripDebugLog } from '../scripts/strip-debug-log.js';
import { createCache } from '../src/index.js';

const GEN = new URL('../gen/cache.js', import.meta.url);
const DEFINITION = [
  '  const _debugLog = (...args) => {',
  '    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }',
  '    console.debug(...args);',
  '  };',
  '',
].join('\n');
const module = (body) => `export function instantiate() {\n${DEFINITION}${body}\n}\n`;
const code = (src) => src.replace(/^[ \t]*\/\/.*$/gm, '');

test('gen/cache.js: no `_debugLog` call in any exported function, nor anywhere else', () => {
  const src = readFileSync(GEN, 'utf8');
  // jco's export wrappers: the 2-space-indented functions that create a task with `callingWasmExport: true`.
  const wrappers = [...src.matchAll(/callingWasmExport: true,/g)].map(({ index }) => {
    const start = src.lastIndexOf('\n  function ', index);
    return src.slice(start + 1, src.indexOf('\n  }\n', index) + 5);
  });
  assert.ok(wrappers.length >= 20, `expected the export wrappers, found ${wrappers.length}`);
  for (const body of wrappers) {
    assert.match(body, /^ {2}function [\w$]+\(.*\) \{\n[\s\S]*\n {2}\}\n$/, 'an export wrapper not delimited as expected');
    assert.doesNotMatch(code(body), /_debugLog\s*\(/, `a _debugLog call remains in ${body.split('\n')[0].trim()}`);
  }
  // The definition is all that is left of it, unreferenced; it is the only environment read.
  const rest = code(src).replace(DEFINITION, '');
  assert.notEqual(rest, code(src), 'the _debugLog definition is gone or changed');
  assert.doesNotMatch(rest, /\b_debugLog\b/);
  assert.doesNotMatch(rest, /process\s*\??\.\s*env/);
  // Stripping again finds nothing to strip, which counts as a change of shape.
  assert.throws(() => stripDebugLog(src), /no `_debugLog\(\.\.\.\)` call statement was found/);
});

test('gen/cache.js: exported calls log nothing even with JCO_DEBUG set', async (t) => {
  const saved = process.env.JCO_DEBUG;
  process.env.JCO_DEBUG = '1';
  const debug = t.mock.method(console, 'debug', () => {});
  try {
    const cache = await createCache();
    cache.configure([{ name: 'n', maxEntries: 10, persistence: 'memory-only' }]);
    cache.set('n', 'k', '{"a":1}');
    assert.equal(cache.get('n', 'k'), '{"a":1}');
    assert.equal(cache.get('n', 'missing'), null);
    cache.close();
  } finally {
    if (saved === undefined) delete process.env.JCO_DEBUG;
    else process.env.JCO_DEBUG = saved;
  }
  assert.equal(debug.mock.callCount(), 0);
});

test('stripDebugLog removes call statements, whatever their arguments hold', () => {
  const src = module([
    '  function get(a) {',
    "    _debugLog('[get] enter');",
    "    _debugLog('[get] args (', {",
    "      a: `x${ {b: ')'}.b }y`, // a ) in a comment",
    '      c: "}", /* ( */',
    '    });',
    '    // _debugLog(\'commented out\', {',
    '    switch (a) {',
    '      case 1:',
    "      _debugLog('one');",
    '      break;',
    '      default:',
    "      _debugLog('other', a);",
    '    }',
    '    return a;',
    '  }',
  ].join('\n'));
  const { code: out, removed } = stripDebugLog(src);
  assert.equal(removed, 4);
  assert.equal(out, module([
    '  function get(a) {',
    '    // _debugLog(\'commented out\', {',
    '    switch (a) {',
    '      case 1:',
    '      break;',
    '      default:',
    '    }',
    '    return a;',
    '  }',
  ].join('\n')));
});

test('stripDebugLog throws on input not shaped as jco 1.35.0 emits it', () => {
  const call = "  function f() {\n    _debugLog('x');\n  }";
  const cases = [
    ['no definition', `function f() {\n  _debugLog('x');\n}\n`, /definition was not found/],
    ['a changed definition', module(call).replace('JCO_DEBUG', 'JCO_TRACE'), /definition was not found/],
    ['no call', module('  function f() {}'), /no `_debugLog\(\.\.\.\)` call statement/],
    ['a brace-less if body', module(`${call}\n  function g(x) {\n    if (x)\n    _debugLog('y');\n  }`), /not in statement position/],
    ['a call inside an expression', module(`${call}\n  function g() {\n    _debugLog('y') || g();\n  }`), /not a statement ended by ';'/],
    ['an unclosed call', module("  function f() {\n    _debugLog('x', {\n  }"), /unclosed|unbalanced/],
    ['a reference left', module(`${call}\n  function g(p) { p.catch(_debugLog); }`), /a reference to `_debugLog` remains/],
    ['a second definition', module(`${call}\n  const _debugLog = () => {};`), /a reference to `_debugLog` remains/],
    ['an environment read left', module(`${call}\n  const level = globalThis.process?.env?.LEVEL;`), /an environment read remains/],
  ];
  for (const [what, src, message] of cases) {
    assert.throws(() => stripDebugLog(src), (e) => e instanceof DebugLogShapeError
      && message.test(e.message) && /jco's output changed shape/.test(e.message), what);
  }
});
