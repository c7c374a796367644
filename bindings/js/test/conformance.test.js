// Runs conformance/scenarios.json against the real component transpiled by jco (V8).
// Format and comparison rules: conformance/README.md. Every scenario runs with the
// read path off and on (src/read-path.js); both must pass, with the same answers,
// errors, storage calls, final stats and stored rows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CacheError, ComponentTrapError, createCache, StorageError } from '../src/index.js';
import { RecordingStorage } from './support/recording-storage.js';

const DOC = JSON.parse(readFileSync(new URL('../../../conformance/scenarios.json', import.meta.url), 'utf8'));
assert.equal(DOC.format, 2, `unsupported scenarios format ${DOC.format}`);

// Every exported function's WIT types, written by `just signatures` from the component
// (a Rust test checks it is current): arguments and answers are converted by them.
const SIGNATURES = JSON.parse(readFileSync(new URL('../../../conformance/signatures.json', import.meta.url), 'utf8')).functions;
const SCENARIO_KEYS = new Set(['name', 'covers', 'description', 'configure', 'storage', 'steps']);
const CALL_KEYS = new Set(['call', 'args', 'ok', 'err', 'err_contains', 'err_kind', 'outcome', 'storage_calls', 'storage_calls_include', 'note']);
const MOCK_KEYS = new Set(['mock', 'message', 'kind', 'times', 'fns', 'rows', 'chat_settings', 'user_data', 'note']);
const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

function genStr(spec) {
  if (typeof spec === 'string') return spec;
  if (spec && typeof spec === 'object' && 'repeat' in spec) return genStr(spec.repeat).repeat(spec.times);
  if (spec && typeof spec === 'object' && 'concat' in spec) return spec.concat.map(genStr).join('');
  throw new Error(`not a string or generated string: ${JSON.stringify(spec)}`);
}
const toBig = (v) => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new Error(`not an integer: ${v}`);
};

/** A scenario argument (conformance/README.md) as jco takes a value of `type`. */
function toJs(type, v) {
  if (typeof type === 'string') {
    if (type === 's64' || type === 'u64') return toBig(v);
    if (type === 'string' || type === 'char') return genStr(v);
    return v;
  }
  const [[kind, t]] = Object.entries(type);
  switch (kind) {
    case 'option': return v === null ? undefined : toJs(t, v);
    case 'list': return v.map((x) => toJs(t, x));
    case 'tuple': return t.map((ty, i) => toJs(ty, v[i]));
    case 'record': return Object.fromEntries(t.map(([name, ty]) => [camel(name), toJs(ty, v[name])]));
    case 'enum': return v;
    case 'variant': {
      const [[tag, val]] = Object.entries(v);
      const [, ty] = t.find(([name]) => name === tag);
      return ty === null ? { tag } : { tag, val: toJs(ty, val) };
    }
    default: throw new Error(`no conversion of a ${kind} argument`);
  }
}

/** A value jco returned for `type`, in the scenarios' JSON (kebab-case fields, null for none). */
function fromJs(type, v) {
  if (typeof type === 'string') return typeof v === 'bigint' ? Number(v) : v;
  const [[kind, t]] = Object.entries(type);
  switch (kind) {
    case 'option': return v === undefined || v === null ? null : fromJs(t, v);
    case 'list': return v.map((x) => fromJs(t, x));
    case 'tuple': return t.map((ty, i) => fromJs(ty, v[i]));
    case 'record': return Object.fromEntries(t.map(([name, ty]) => [name, fromJs(ty, v[camel(name)])]));
    case 'result': return t.ok === null ? null : fromJs(t.ok, v); // jco returns ok, throws err
    case 'enum': return v;
    case 'variant': {
      const [, ty] = t.find(([name]) => name === v.tag);
      return { [v.tag]: ty === null ? null : fromJs(ty, v.val) };
    }
    default: throw new Error(`no conversion of a ${kind} answer`);
  }
}

/** Calls `name` (its WIT name) with the scenario's arguments, converted by its signature. */
function callByName(cache, name, rawArgs, where) {
  const signature = SIGNATURES[name];
  assert.ok(signature, `${where}: the component exports no ${name}`);
  assert.equal(rawArgs.length, signature.params.length, `${where}: wrong arity`);
  const args = signature.params.map(([, type], i) => toJs(type, rawArgs[i]));
  const [iface, fn] = name.split('.');
  const raw = cache.call(iface, camel(fn), ...args);
  return { raw, value: signature.result === null ? null : fromJs(signature.result, raw) };
}

function jsonEqual(a, b) {
  if (typeof a !== typeof b) return false;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a === 'object') {
    const ka = Object.keys(a).sort(); const kb = Object.keys(b).sort();
    return jsonEqual(ka, kb) && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return a === b;
}
function jsonTextEqual(expected, actual) {
  let e; let a;
  try { e = JSON.parse(expected); a = JSON.parse(actual); } catch { return expected === actual; }
  return jsonEqual(e, a);
}
function multisetEqual(expected, actual, eq) {
  if (expected.length !== actual.length) return false;
  const remaining = [...actual];
  return expected.every((e) => {
    const i = remaining.findIndex((a) => eq(e, a));
    if (i < 0) return false;
    remaining.splice(i, 1);
    return true;
  });
}

function callMatches(exp, act) {
  const ek = Object.keys(exp).sort(); const ak = Object.keys(act).sort();
  if (exp.fn !== act.fn || ek.join() !== ak.join()) return false;
  if (exp.fn === 'write') {
    const eb = exp.batch; const ab = act.batch;
    return multisetEqual(eb.clear, ab.clear, (x, y) => x === y)
      && multisetEqual(eb.delete, ab.delete, (x, y) => x.namespace === y.namespace && x.key === y.key)
      && multisetEqual(eb.upsert, ab.upsert, (x, y) => x.namespace === y.namespace && x.key === y.key && jsonTextEqual(x.value, y.value));
  }
  return ek.every((k) => {
    const v = exp[k]; const a = act[k];
    if (k === 'chat-id' || k === 'user-id') return toBig(v) === a;
    if (k === 'change') {
      const [[tag, val], ...more] = Object.entries(v);
      if (more.length || !(tag in a)) return false;
      return tag === 'unset' ? val === a.unset : multisetEqual(val, a[tag], (x, y) => x[0] === y[0] && x[1] === y[1]);
    }
    if (k === 'value' && exp.fn === 'set-user-data') return jsonTextEqual(v, a);
    return v === a;
  });
}
function isSubsequence(expected, actual) {
  let i = 0;
  for (const a of actual) if (i < expected.length && callMatches(expected[i], a)) i += 1;
  return i === expected.length;
}

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** Whether `actual` answers `expected` (conformance/README.md): strings equal or JSON-equal,
 * arrays element-wise, objects on the fields `expected` names, anything else exactly. */
function matches(expected, actual) {
  if (typeof expected === 'string' && typeof actual === 'string') return jsonTextEqual(expected, actual);
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => matches(e, actual[i]));
  }
  if (expected !== null && typeof expected === 'object') {
    return actual !== null && typeof actual === 'object' && !Array.isArray(actual)
      && Object.entries(expected).every(([k, v]) => k in actual && matches(v, actual[k]));
  }
  return expected === actual;
}

function checkOk(call, expected, actual) {
  const bad = () => `expected ok ${show(expected)}, got ok ${show(actual)}`;
  if (call === 'cache.load-from-storage') {
    // The one freedom the contract leaves: the order of the skipped rows.
    if (actual.skipped.some((s) => typeof s.reason !== 'string' || !s.reason)) return `empty reason: ${show(actual)}`;
    const byKey = (x, y) => (x.namespace + '\0' + x.key < y.namespace + '\0' + y.key ? -1 : 1);
    return matches({ ...expected, skipped: [...expected.skipped].sort(byKey) }, { ...actual, skipped: [...actual.skipped].sort(byKey) }) ? null : bad();
  }
  return matches(expected, actual) ? null : bad();
}

function storageMismatch(mock, step) {
  const problems = [];
  if ('rows' in step) {
    const actual = mock.rows();
    if (!multisetEqual(step.rows, actual, (e, a) => e.namespace === a.namespace && e.key === a.key && jsonTextEqual(e.value, a.value))) {
      problems.push(`rows: expected ${show(step.rows)}, got ${show(actual)}`);
    }
  }
  if ('chat_settings' in step) {
    const actual = mock.chatSettings();
    if (!multisetEqual(step.chat_settings, actual, (e, a) => toBig(e.chat_id) === a.chatId && e.key === a.key && e.value === a.value)) {
      problems.push(`chat_settings: expected ${show(step.chat_settings)}, got ${show(actual)}`);
    }
  }
  if ('user_data' in step) {
    const actual = mock.userDataItems();
    if (!multisetEqual(step.user_data, actual, (e, a) => toBig(e.chat_id) === a.chatId && toBig(e.user_id) === a.userId
      && e.key === a.key && jsonTextEqual(e.data, a.data))) {
      problems.push(`user_data: expected ${show(step.user_data)}, got ${show(actual)}`);
    }
  }
  return problems.length ? problems.join('; ') : null;
}

/** Runs the scenario with the read path on or off; what it saw, for comparing the two. */
async function runScenario(scenario, { readPath }) {
  const unknown = Object.keys(scenario).filter((k) => !SCENARIO_KEYS.has(k));
  assert.deepEqual(unknown, [], 'unknown scenario keys');
  const mock = new RecordingStorage();
  mock.seed(scenario.storage ?? {});
  const cache = await createCache({ storage: mock, readPath });
  const transcript = [];
  if (scenario.configure) callByName(cache, 'cache.configure', [scenario.configure], `${scenario.name}: configure`);
  mock.calls = [];

  scenario.steps.forEach((step, index) => {
    const where = `read path ${readPath ? 'on' : 'off'}, step ${index} ${show(step).slice(0, 300)}`;
    if ('mock' in step) {
      assert.deepEqual(Object.keys(step).filter((k) => !MOCK_KEYS.has(k)), [], `${where}: unknown keys`);
      switch (step.mock) {
        case 'fail-writes': mock.setRule('writes', step); break;
        case 'fail-reads': mock.setRule('reads', step); break;
        case 'heal': mock.heal(); break;
        case 'expect-storage': {
          const problem = storageMismatch(mock, step);
          assert.equal(problem, null, `${where}: ${problem}`);
          break;
        }
        default: assert.fail(`${where}: unknown mock step`);
      }
      return;
    }
    assert.deepEqual(Object.keys(step).filter((k) => !CALL_KEYS.has(k)), [], `${where}: unknown keys`);
    assert.equal(['ok', 'err', 'outcome'].filter((k) => k in step).length, 1, `${where}: need one of ok/err/outcome`);
    mock.calls = [];
    let error = null; let result; let value;
    try {
      ({ raw: result, value } = callByName(cache, step.call, step.args ?? [], where));
    } catch (e) {
      if (e instanceof ComponentTrapError) assert.fail(`${where}: the component trapped: ${e.message}`);
      if (!(e instanceof CacheError)) throw e;
      error = e;
    }
    const calls = mock.calls;
    transcript.push({ index, result: show(result), error: error && [error.case, error.detail, error.kind], calls: show(calls) });
    if ('ok' in step) {
      assert.equal(error, null, `${where}: expected ok ${show(step.ok)}, got ${error?.message}`);
      const problem = checkOk(step.call, step.ok, value);
      assert.equal(problem, null, `${where}: ${problem}`);
    } else if ('err' in step) {
      assert.ok(error, `${where}: expected err ${step.err}, got ok ${show(result)}`);
      assert.equal(error.case, step.err, `${where}: expected err ${step.err}, got ${error.message}`);
      if ('err_contains' in step) assert.ok(error.detail.includes(step.err_contains), `${where}: ${error.detail} lacks ${step.err_contains}`);
      if ('err_kind' in step) {
        assert.equal(step.err, 'storage', `${where}: err_kind needs "err": "storage"`);
        assert.ok(error instanceof StorageError, `${where}: not a StorageError: ${error}`);
        assert.equal(error.kind, step.err_kind, `${where}: expected kind ${step.err_kind}, got ${error.message}`);
      }
    } else {
      assert.equal(step.outcome, 'any');
    }
    if ('storage_calls' in step) {
      const exp = step.storage_calls;
      const ok = exp.length === calls.length && exp.every((e, i) => callMatches(e, calls[i]));
      assert.ok(ok, `${where}: storage calls differ\n expected ${show(exp)}\n actual   ${show(calls)}`);
    }
    if ('storage_calls_include' in step) {
      assert.ok(isSubsequence(step.storage_calls_include, calls),
        `${where}: storage calls lack\n ${show(step.storage_calls_include)}\n actual ${show(calls)}`);
    }
  });
  const readPathStats = cache.readPathStats();
  mock.calls = [];
  let stats;
  try {
    stats = show(cache.stats());
  } catch (e) {
    if (!(e instanceof CacheError)) throw e;
    stats = e.message;
  }
  transcript.push({ stats, calls: show(mock.calls), rows: show(mock.rows()), settings: show(mock.chatSettings()), data: show(mock.userDataItems()) });
  mock.close();
  return { transcript, readPathStats };
}

/** Hits the read path served over every scenario: the scenarios must exercise it. */
let served = 0;
for (const scenario of DOC.scenarios) {
  test(`conformance: ${scenario.name}`, async () => {
    const off = await runScenario(scenario, { readPath: false });
    const on = await runScenario(scenario, { readPath: true });
    assert.equal(off.readPathStats.served, 0);
    assert.equal(on.readPathStats.stale, 0, 'the read path served a stale copy');
    served += on.readPathStats.served;
    assert.deepEqual(on.transcript, off.transcript, 'the read path on and off saw different answers, stats or storage calls');
  });
}

test('the scenarios exercise the read path', (t) => {
  t.diagnostic(`${served} reads served from copies`);
  assert.ok(served > 0, 'no read was served from a copy');
});

test('scenarios cover semantics 1-12', () => {
  const covered = new Set(DOC.scenarios.flatMap((s) => s.covers));
  for (let n = 1; n <= 12; n += 1) assert.ok(covered.has(n), `semantic ${n} not covered`);
});
