// The static pod URL source (models pkg/kubelet/config/http.go).
//
// GETs the URL at start and every checkFrequencyMs (default 20 s, the kubelet's
// httpCheckFrequency) with a 10 s timeout and optional headers (--manifest-url-header). As
// upstream: the body may be a single Pod or a PodList; a non-200 answer, a body over 10 MiB, or a
// body that does not decode into valid pods is logged and the last good set stays (nothing is
// emitted); an empty 200 body emits an empty SET (so the source counts as seen, and its pods go);
// a body identical to the previous one is not decoded again; after three failures in a row the
// failure log drops to debug until a success.
// Differences: the body may also be multi-document YAML; a response is used whole or not at all
// (one invalid pod rejects it, as upstream's all-or-nothing decode); requests go through an
// injectable fetch and time out through the Clock.

import type { V1Pod } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage, ValidationError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { decodeStaticPods } from './static.js';

export interface FetchResponse {
  status: number;
  statusText?: string;
  text(): Promise<string>;
}

export type FetchFn = (url: string, init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal }) => Promise<FetchResponse>;

export interface HttpSourceOptions {
  url: string;
  nodeName: string;
  clock: Clock;
  logger: Logger;
  /** Poll period (kubelet httpCheckFrequency), default 20 s. */
  checkFrequencyMs?: number;
  /** Request timeout, default 10 s (upstream's http.Client timeout). */
  timeoutMs?: number;
  /** Extra request headers (kubelet --manifest-url-header). */
  headers?: Record<string, string>;
  /** Defaults to the global fetch. */
  fetch?: FetchFn;
  /** Receives each new good set of pods; the error list is always empty (failures keep the last set). */
  onSet: (pods: V1Pod[], errors: ValidationError[]) => void;
}

/** Upstream's maxConfigLength. */
export const maxManifestBytes = 10 * 1024 * 1024;

export class HttpSource {
  private readonly url: string;
  private readonly nodeName: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly checkFrequencyMs: number;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetchFn: FetchFn;
  private readonly onSet: HttpSourceOptions['onSet'];
  private ticker: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private lastBody: string | undefined;
  private failures = 0;
  private running = false;
  private stopped = false;

  constructor(opts: HttpSourceOptions) {
    this.url = opts.url;
    this.nodeName = opts.nodeName;
    this.clock = opts.clock;
    this.log = opts.logger.child({ source: 'http', url: opts.url });
    this.checkFrequencyMs = opts.checkFrequencyMs ?? 20_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.headers = { ...opts.headers };
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.onSet = opts.onSet;
  }

  /** Starts polling: the first GET is issued now (see sync()). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.ticker = this.clock.setInterval(() => void this.sync(), this.checkFrequencyMs);
    void this.sync();
  }

  stop(): void {
    this.running = false;
    this.stopped = true;
    this.ticker?.stop();
    this.ticker = undefined;
  }

  /** One poll; resolves when it is done. Concurrent calls share the poll in flight. Never rejects. */
  sync(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.poll().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async poll(): Promise<void> {
    try {
      await this.extract();
      if (this.failures > 0) this.log.info('Successfully read pods from URL');
      this.failures = 0;
    } catch (err) {
      const fields: Record<string, unknown> = { error: errorMessage(err) };
      if (err instanceof ValidationError) fields['field'] = err.field;
      if (this.failures < 3) this.log.warn('Failed to read pods from URL', fields);
      else if (this.failures === 3) this.log.warn('Failed to read pods from URL, logging further failures at debug level', fields);
      else this.log.debug('Failed to read pods from URL', fields);
      this.failures++;
    }
  }

  private async extract(): Promise<void> {
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(new Error(`timeout after ${this.timeoutMs} ms`)), this.timeoutMs);
    let status: number;
    let statusText: string;
    let body: string;
    try {
      const resp = await this.fetchFn(this.url, { method: 'GET', headers: this.headers, signal: ac.signal });
      status = resp.status;
      statusText = resp.statusText ?? '';
      body = await resp.text();
    } catch (err) {
      throw ac.signal.aborted ? (ac.signal.reason as Error) : err;
    } finally {
      timer.stop();
    }
    if (this.stopped) return; // answered after stop(): nobody wants it
    if (Buffer.byteLength(body, 'utf8') > maxManifestBytes) throw new Error(`${this.url}: response larger than ${maxManifestBytes} bytes`);
    if (status !== 200) throw new Error(`${this.url}: ${status} ${statusText}`.trim());
    if (body.length === 0) {
      // Upstream emits an empty SET so that the source counts as seen, then reports the error.
      this.lastBody = undefined;
      this.onSet([], []);
      throw new Error(`zero-length data received from ${this.url}`);
    }
    if (body === this.lastBody) return;
    this.lastBody = body;
    const { pods, errors } = decodeStaticPods(body, { source: this.url, kind: 'http', nodeName: this.nodeName }, { allowList: true });
    if (errors.length > 0) {
      const e = errors[0]!;
      throw new ValidationError(e.object, e.field, errors.length > 1 ? `${e.detail} (and ${errors.length - 1} more errors)` : e.detail);
    }
    this.onSet(pods, []);
  }
}
