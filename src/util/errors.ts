// Typed errors shared by every module.
//
// A NodeletError carries a machine-readable code; errors about user input also name the object
// and the field at fault, so that a log line or an event says exactly what to fix.

export class NodeletError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Invalid user input: a manifest, a pod spec, a flag. Names the object and the field. */
export class ValidationError extends NodeletError {
  constructor(
    readonly object: string,
    readonly field: string,
    readonly detail: string,
  ) {
    super('Invalid', `${object}: ${field}: ${detail}`);
  }
}

export class ConfigError extends NodeletError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('InvalidConfig', message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
