// Typed runtime errors: what a CRI call can fail with, independent of gRPC.
// runtime/cri maps gRPC status codes onto these; runtime/sim throws them directly.

import { NodeletError } from '../util/errors.js';

export class RuntimeError extends NodeletError {
  constructor(
    code: string,
    /** The CRI method that failed, e.g. "ContainerStatus". */
    readonly method: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${method}: ${message}`, options);
  }
}

/** gRPC NOT_FOUND: the container, sandbox or image does not exist. */
export class NotFoundError extends RuntimeError {
  constructor(method: string, message: string, options?: { cause?: unknown }) {
    super('NotFound', method, message, options);
  }
}

/** gRPC UNIMPLEMENTED: the runtime does not offer this call (e.g. GetContainerEvents on containerd 1.6). */
export class UnimplementedError extends RuntimeError {
  constructor(method: string, message: string, options?: { cause?: unknown }) {
    super('Unimplemented', method, message, options);
  }
}

/** gRPC DEADLINE_EXCEEDED: the call (or an exec) ran past its timeout. */
export class DeadlineExceededError extends RuntimeError {
  constructor(method: string, message: string, options?: { cause?: unknown }) {
    super('DeadlineExceeded', method, message, options);
  }
}

/** gRPC UNAVAILABLE: the runtime cannot be reached. */
export class UnavailableError extends RuntimeError {
  constructor(method: string, message: string, options?: { cause?: unknown }) {
    super('Unavailable', method, message, options);
  }
}

/** gRPC INVALID_ARGUMENT / FAILED_PRECONDITION and malformed replies. */
export class InvalidArgumentError extends RuntimeError {
  constructor(method: string, message: string, options?: { cause?: unknown }) {
    super('InvalidArgument', method, message, options);
  }
}

/** A reply that does not have the shape CRI promises (a "garbage reply"). */
export class BadReplyError extends RuntimeError {
  constructor(method: string, message: string) {
    super('BadReply', method, message);
  }
}

/** The runtime's version is not one nodelet supports. */
export class UnsupportedRuntimeError extends RuntimeError {
  constructor(message: string) {
    super('UnsupportedRuntime', 'Version', message);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError;
}
