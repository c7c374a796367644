// Removes jco's `_debugLog(...)` call statements from a transpiled component (gen/cache.js).
//
// Why: jco 1.35.0 emits `_debugLog(...)` calls on every exported call (in the export wrapper
// and in the task/async-state helpers it runs: createNewCurrentTask, enterSync, resolve, exit,
// ...), and `_debugLog` reads `globalThis.process.env.JCO_DEBUG` each time. `process.env` is
// an interceptor that copies the variable out of the C environment, and each call also builds
// its argument object: ~39% of a hot `get` (3.6 -> 1.7 us here once stripped).
// jco has no option to omit them.
// Cost: JCO_DEBUG no longer has any effect on gen/cache.js (to debug jco's runtime, run
// `jco transpile` by hand).
//
// How: the `_debugLog(` occurrences that begin a line are parsed to their closing `)` (strings,
// template literals and comments skipped) and removed with the `;` that must end them. Each must
// sit in statement position (the code line before it ends in `;`, `{` or `}`, or is a
// `case`/`default` label), so that removing it cannot change what the surrounding code means
// (e.g. the body of a brace-less `if`). Their arguments only read state (ids, names, flags).
// The definition is kept, unreferenced. Anything unexpected throws: no definition, no call, a call
// in another shape, or any reference to `_debugLog` or read of `process.env` left outside the
// definition.

/** jco 1.35.0's definition, the only place that reads the environment. */
const DEFINITION = /^( *)const _debugLog = \(\.\.\.args\) => \{\n\1  if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\n\1  console\.debug\(\.\.\.args\);\n\1\};\n/m;
/** A call statement's start: only indentation before it on its line. */
const CALL_START = /^[ \t]*_debugLog\(/gm;
/** How the code line before a call statement ends: a statement, a block edge or a switch label. */
const STATEMENT_BOUNDARY = /(?:[;{}]|^case\b.*:|^default\s*:)$/;

export class DebugLogShapeError extends Error {
  constructor(message) {
    super(`strip-debug-log: ${message}; jco's output changed shape, so scripts/strip-debug-log.js must be revisited`);
    this.name = 'DebugLogShapeError';
  }
}

const lineOf = (src, i) => src.slice(0, i).split('\n').length;

/** Index just past the string or template literal that opens at `i`. */
function skipQuoted(src, i) {
  const quote = src[i];
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') j += 2;
    else if (c === quote) return j + 1;
    else if (quote === '`' && c === '$' && src[j + 1] === '{') j = skipBalanced(src, j + 1);
    else if (c === '\n' && quote !== '`') break;
    else j += 1;
  }
  throw new DebugLogShapeError(`unterminated string literal from line ${lineOf(src, i)}`);
}

/** Index just past the bracket that closes the one at `open` (`(`, `[` or `{`). */
function skipBalanced(src, open) {
  const closing = { '(': ')', '[': ']', '{': '}' };
  const stack = [closing[src[open]]];
  let j = open + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '"' || c === "'" || c === '`') { j = skipQuoted(src, j); continue; }
    if (c === '/' && src[j + 1] === '/') { j = src.indexOf('\n', j); if (j < 0) break; continue; }
    if (c === '/' && src[j + 1] === '*') { j = src.indexOf('*/', j + 2); if (j < 0) break; j += 2; continue; }
    if (c in closing) stack.push(closing[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) throw new DebugLogShapeError(`unbalanced '${c}' at line ${lineOf(src, j)}`);
      if (stack.length === 0) return j + 1;
    }
    j += 1;
  }
  throw new DebugLogShapeError(`unclosed '${src[open]}' from line ${lineOf(src, open)}`);
}

/** The last code line before the line that starts at `lineStart`, past blank and `//` lines, trimmed. */
function codeLineBefore(src, lineStart) {
  let end = lineStart - 1; // the '\n' ending the previous line
  while (end > 0) {
    const start = src.lastIndexOf('\n', end - 1) + 1;
    const line = src.slice(start, end).trim();
    if (line !== '' && !line.startsWith('//')) return line;
    end = start - 1;
  }
  return undefined;
}

/** Source text with comment lines blanked, for the checks on what is left. */
const withoutLineComments = (src) => src.replace(/^[ \t]*\/\/.*$/gm, '');

/**
 * Returns `{ code, removed }`: `source` without its `_debugLog(...)` call statements.
 * Throws DebugLogShapeError when `source` is not shaped as jco 1.35.0 emits it.
 */
export function stripDebugLog(source) {
  const def = DEFINITION.exec(source);
  if (!def) throw new DebugLogShapeError('the `_debugLog` definition was not found in its expected form');

  const cuts = [];
  for (const m of source.matchAll(CALL_START)) {
    const callStart = m.index + m[0].indexOf('_debugLog(');
    const before = codeLineBefore(source, m.index) ?? '';
    if (!STATEMENT_BOUNDARY.test(before)) {
      throw new DebugLogShapeError(`the \`_debugLog\` call at line ${lineOf(source, callStart)} is not in statement position (the code line before it: ${JSON.stringify(before)})`);
    }
    const end = skipBalanced(source, callStart + '_debugLog'.length);
    const semi = /^[ \t]*;[ \t]*\n/.exec(source.slice(end));
    if (!semi) throw new DebugLogShapeError(`the \`_debugLog\` call at line ${lineOf(source, callStart)} is not a statement ended by ';' and a newline`);
    cuts.push([m.index, end + semi[0].length]);
  }
  if (cuts.length === 0) throw new DebugLogShapeError('no `_debugLog(...)` call statement was found');

  let code = '';
  let from = 0;
  for (const [start, stop] of cuts) {
    code += source.slice(from, start);
    from = stop;
  }
  code += source.slice(from);

  // What is left: the definition (now unreferenced, so never run) and comments, nothing else.
  const defAt = code.indexOf(def[0]);
  const rest = withoutLineComments(code.slice(0, defAt) + code.slice(defAt + def[0].length));
  const ref = /\b_debugLog\b/.exec(rest);
  if (ref) throw new DebugLogShapeError(`a reference to \`_debugLog\` remains: ${JSON.stringify(rest.slice(ref.index, ref.index + 60))}`);
  const env = /\bprocess\s*\??\.\s*env\b|\benv\s*\??\.\s*JCO_DEBUG\b/.exec(rest);
  if (env) throw new DebugLogShapeError(`an environment read remains: ${JSON.stringify(rest.slice(Math.max(0, env.index - 40), env.index + 40))}`);
  return { code, removed: cuts.length };
}
