/**
 * JS errors for the component's `cache-error` variant. Every failed call throws a
 * subclass of CacheError named after the case (`InvalidJsonError` for `invalid-json`…),
 * with `.case` (the WIT case name) and `.detail` (its payload string).
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
export class StorageError extends CacheError {}
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
  storage: StorageError,
};

/** The CacheError for a `cache-error` value `{tag, val}`. */
export function errorFromCase(tag, val) {
  const Type = TYPES[tag] ?? CacheError;
  return new Type(tag, String(val));
}
