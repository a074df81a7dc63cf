// Per-request deadlines for API calls through @kubernetes/client-node (models rest.Config.Timeout:
// the kubelet's heartbeat client, min(nodeStatusUpdateFrequency, lease renew interval); leader
// election's lock client, max(1 s, renewDeadline / 2)) and API error classification
// (apierrors.IsNotFound / IsConflict / IsAlreadyExists). Shared by the kubelet and the controllers.
//
// The deadline runs on the injected Clock: an AbortController aborted by clock.setTimeout, handed
// to @kubernetes/client-node through a request middleware (RequestContext.setSignal).

import { ApiException, setHeaderMiddleware, type ConfigurationOptions } from '@kubernetes/client-node';
import type { Clock } from './clock.js';
import { version } from '../version.js';

export class RequestTimeoutError extends Error {
  constructor(ms: number) {
    super(`request timed out after ${ms} ms (Client.Timeout exceeded while awaiting headers)`);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * Runs `call` with options whose requests abort after timeoutMs on clock (or when `stop` aborts,
 * at once if it already has). A timed-out call rejects with RequestTimeoutError. `component` is
 * added to the User-Agent (`nodelet/<version> <component>`).
 */
export async function withDeadline<T>(clock: Clock, timeoutMs: number, stop: AbortSignal | undefined, call: (opts: ConfigurationOptions) => Promise<T>, component?: string): Promise<T> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    ac.abort(new RequestTimeoutError(timeoutMs));
  }, timeoutMs);
  const onStop = (): void => ac.abort(stop?.reason ?? new Error('aborted'));
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  const base = setHeaderMiddleware('User-Agent', `nodelet/${version}${component ? ` ${component}` : ''}`);
  const opts: ConfigurationOptions = {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(ac.signal);
          return base.pre(ctx);
        },
        post: (res) => base.post(res),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
  // The deadline also bounds a call that ignores the signal.
  const deadline = new Promise<never>((_, reject) => {
    const fail = (): void => reject(timedOut ? new RequestTimeoutError(timeoutMs) : (ac.signal.reason ?? new Error('aborted')));
    if (ac.signal.aborted) fail();
    else ac.signal.addEventListener('abort', fail, { once: true });
  });
  deadline.catch(() => undefined);
  try {
    return await Promise.race([call(opts), deadline]);
  } catch (e) {
    if (timedOut) throw new RequestTimeoutError(timeoutMs);
    throw e;
  } finally {
    timer.stop();
    stop?.removeEventListener('abort', onStop);
    if (!ac.signal.aborted) ac.abort(new Error('request finished'));
  }
}

/** The HTTP status of an API error (0 for transport errors). */
export function apiStatus(e: unknown): number {
  return e instanceof ApiException ? e.code : 0;
}

export const isNotFound = (e: unknown): boolean => apiStatus(e) === 404;
export const isConflict = (e: unknown): boolean => apiStatus(e) === 409 && reasonOf(e) !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown): boolean => apiStatus(e) === 409 && reasonOf(e) === 'AlreadyExists';

function reasonOf(e: unknown): string | undefined {
  if (!(e instanceof ApiException)) return undefined;
  const body: unknown = typeof e.body === 'string' ? safeParse(e.body) : e.body;
  return (body as { reason?: string } | undefined)?.reason;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A short message for logs: "409 Conflict: ..." or the transport error. */
export function apiErrorMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = typeof e.body === 'string' ? safeParse(e.body) : e.body;
    const msg = (body as { message?: string } | undefined)?.message;
    return `${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}
