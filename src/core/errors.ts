/**
 * Errors with a stable `code`. Only `UsageError` and `ConfigError` messages are
 * meant for users verbatim; anything else is logged and answered "internal error".
 */
export class LookoutError extends Error {
  override name = 'LookoutError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A user typed something wrong: the message says what and how to fix it. */
export class UsageError extends LookoutError {
  override name = 'UsageError';
  constructor(message: string, code = 'usage') {
    super(code, message);
  }
}

/** Not found (target, token…). */
export class NotFoundError extends UsageError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, 'not_found');
  }
}

/** Already exists. */
export class ConflictError extends UsageError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(message, 'conflict');
  }
}

/** Not allowed: missing admin rights or API token. */
export class ForbiddenError extends UsageError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(message, 'forbidden');
  }
}

/** Bad configuration: `key` names the setting, the message says the fix. */
export class ConfigError extends LookoutError {
  override name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('config', `${key}: ${message}`);
  }
}

/** The data file cannot be used; start-up must stop without touching it. */
export class StoreError extends LookoutError {
  override name = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('store', message, options);
  }
}

/** A channel failed to deliver. `permanent` stops retries (bad token, channel gone). */
export class DeliveryError extends LookoutError {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly permanent: boolean,
    /** Milliseconds the remote side asked us to wait (429 retry_after). */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(permanent ? 'delivery_permanent' : 'delivery', message, options);
  }
}
