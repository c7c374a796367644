/**
 * JS errors for the component's `cache-error` variant and the storage's
 * `storage-error` record. Every failed call throws a subclass of CacheError named
 * after the case (`InvalidJsonError` for `invalid-json`…), with `.case` (the WIT
 * case name) and `.detail` (its message). A storage failure is a StorageError
 * with `.kind`, one of STORAGE_ERROR_KINDS, whether it came through the component
 * or straight from a storage backend.
 */
export class CacheError extends Error {
  /** @param {string} caseName @param {string} detail */
  constructor(caseName, detail) {
    super(`${caseName}: ${detail}`);
    this.name = new.target.name;
    this.case = caseName;
    this.detail = detail;
  }
}
export class UnknownNamespaceError extends CacheError {}
export class InvalidJsonError extends CacheError {}
export class InvalidConfigError extends CacheError {}
export class TooLargeError extends CacheError {}
export class InvalidKeyError extends CacheError {}

/** The WIT `storage-error-kind` cases, in declaration order. */
export const STORAGE_ERROR_KINDS = Object.freeze([
  'busy', 'full', 'read-only', 'corrupt', 'constraint', 'schema', 'unavailable', 'conflict', 'other',
]);

/**
 * The storage failed. `.kind` says what a caller can do about it (`busy`: retry
 * later; `full`: free space; …, see wit/rows.wit); `.detail` is the message for a
 * person. Thrown by storage backends and by every component call that failed in
 * storage.
 */
export class StorageError extends CacheError {
  /** @param {string} kind one of STORAGE_ERROR_KINDS @param {string} message */
  constructor(kind, message) {
    if (!STORAGE_ERROR_KINDS.includes(kind)) throw new TypeError(`unknown storage error kind ${JSON.stringify(kind)}`);
    super('storage', message);
    this.message = `storage (${kind}): ${message}`;
    this.kind = kind;
  }
}

/** The component trapped: a bug in it or in the host; the instance is unusable. */
export class ComponentTrapError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ComponentTrapError';
  }
}

const TYPES = {
  'unknown-namespace': UnknownNamespaceError,
  'invalid-json': InvalidJsonError,
  'invalid-config': InvalidConfigError,
  'too-large': TooLargeError,
  'invalid-key': InvalidKeyError,
};

/** The CacheError for a `cache-error` value `{tag, val}` as jco lifts it. */
export function errorFromCase(tag, val) {
  if (tag === 'storage') {
    const kind = STORAGE_ERROR_KINDS.includes(val?.kind) ? val.kind : 'other';
    return new StorageError(kind, String(val?.message ?? val));
  }
  const Type = TYPES[tag] ?? CacheError;
  return new Type(tag, String(val));
}
