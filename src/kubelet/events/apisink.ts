// The API event sink (models k8s.io/client-go/kubernetes/typed/core/v1 EventSinkImpl: Create ->
// CreateWithEventNamespace, Patch -> PatchWithEventNamespace with a strategic merge patch; and the
// kubelet's separate event client of cmd/kubelet/app/server.go, whose rest.Config has
// QPS = eventRecordQPS (default 50) and Burst = eventBurst (default 100)).
//
// Writes go through @kubernetes/client-node's CoreV1Api (createNamespacedEvent,
// patchNamespacedEvent) in the event's own namespace. Every request first waits for a token of the
// client's token bucket, as client-go's rate limiter does.
//
// Differences: the bucket waits on the injected Clock; eventRecordQPS 0 means no limit (as the
// KubeletConfiguration documents; client-go would fall back to its default 5 QPS); each request
// has a deadline (default 60 s, on the Clock) so that a hung connection cannot stall the
// broadcaster forever, and a request past it counts as a transport error (retried).

import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { formatTime } from '../../api/podutil.js';
import type { Clock } from '../../util/clock.js';
import { TokenBucket } from '../../util/ratelimit.js';
import { apiErrorMessage, apiStatus, isAlreadyExists, withDeadline } from '../../util/apicall.js';
import type { EventPatch, KubeEvent } from './correlator.js';
import type { EventType } from './recorder.js';

export const defaultEventRecordQPS = 50;
export const defaultEventBurst = 100;
export const defaultEventRequestTimeoutMs = 60_000;

/** What the broadcaster writes to (record.EventSink). Errors are classified by sinkErrorAction. */
export interface EventSink {
  create(event: KubeEvent, signal?: AbortSignal): Promise<KubeEvent>;
  patch(event: KubeEvent, patch: EventPatch, signal?: AbortSignal): Promise<KubeEvent>;
}

/**
 * What recordEvent does after a failed write:
 * - 'retry': transport errors (connection refused or reset, timeouts), 429 and 5xx with Retry-After
 *   (client-go's transport retries those itself);
 * - 'alreadyExists': 409 AlreadyExists, given up quietly (upstream logs it at V(5));
 * - 'rejected': any other API status (409 Conflict, 403, 422, 500, ...), given up with an error.
 * A 404 on a patch is handled before this (create anew).
 */
export function sinkErrorAction(err: unknown): 'retry' | 'alreadyExists' | 'rejected' {
  const code = apiStatus(err);
  if (code === 0) return 'retry';
  if (isAlreadyExists(err)) return 'alreadyExists';
  if (code === 429) return 'retry';
  if (code >= 500 && err instanceof ApiException && retryAfter(err.headers)) return 'retry';
  return 'rejected';
}

function retryAfter(headers: unknown): boolean {
  if (!headers || typeof headers !== 'object') return false;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (k.toLowerCase() === 'retry-after' && v) return true;
  return false;
}

export { apiErrorMessage as sinkErrorMessage };

/** The Event as the API wants it (timestamps RFC 3339 in seconds, as metav1.Time marshals). */
export function toWireEvent(e: KubeEvent): CoreV1Event {
  const wire = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: e.name, namespace: e.namespace, ...(e.resourceVersion ? { resourceVersion: e.resourceVersion } : {}) },
    involvedObject: { ...e.involvedObject },
    reason: e.reason,
    message: e.message,
    source: { ...e.source },
    firstTimestamp: formatTime(e.firstTimestamp),
    lastTimestamp: formatTime(e.lastTimestamp),
    count: e.count,
    type: e.type,
    ...(e.reportingComponent ? { reportingComponent: e.reportingComponent } : {}),
    ...(e.reportingInstance ? { reportingInstance: e.reportingInstance } : {}),
  };
  // client-node passes non-Date values of date-time fields through as they are
  return wire as unknown as CoreV1Event;
}

/** The body of the PATCH (upstream: CreateTwoWayMergePatch of the event against itself without count/lastTimestamp/message). */
export function patchBody(p: EventPatch): Record<string, unknown> {
  return { count: p.count, lastTimestamp: formatTime(p.lastTimestamp), ...(p.message !== undefined ? { message: p.message } : {}) };
}

const ms = (t: unknown): number => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : 0);

/** The event the API returned, for the correlator's updateState. */
export function fromWireEvent(w: CoreV1Event): KubeEvent {
  const io = w.involvedObject ?? {};
  const e: KubeEvent = {
    name: w.metadata?.name ?? '',
    namespace: w.metadata?.namespace ?? '',
    involvedObject: {
      kind: io.kind ?? '',
      name: io.name ?? '',
      ...(io.namespace ? { namespace: io.namespace } : {}),
      ...(io.uid ? { uid: io.uid } : {}),
      ...(io.apiVersion ? { apiVersion: io.apiVersion } : {}),
      ...(io.resourceVersion ? { resourceVersion: io.resourceVersion } : {}),
      ...(io.fieldPath ? { fieldPath: io.fieldPath } : {}),
    },
    reason: w.reason ?? '',
    message: w.message ?? '',
    type: (w.type ?? 'Normal') as EventType,
    source: { component: w.source?.component ?? '', ...(w.source?.host ? { host: w.source.host } : {}) },
    firstTimestamp: ms(w.firstTimestamp),
    lastTimestamp: ms(w.lastTimestamp),
    count: w.count ?? 1,
  };
  if (w.metadata?.resourceVersion) e.resourceVersion = w.metadata.resourceVersion;
  if (w.reportingComponent) e.reportingComponent = w.reportingComponent;
  if (w.reportingInstance) e.reportingInstance = w.reportingInstance;
  return e;
}

/** client-go's client-side token bucket (flowcontrol.NewTokenBucketRateLimiter + Wait), on the Clock. */
export class ClientRateLimiter {
  private readonly bucket: TokenBucket | undefined;

  constructor(
    private readonly clock: Clock,
    readonly qps: number,
    readonly burst: number,
  ) {
    // qps <= 0: no limit; a burst below 1 would never let a request through
    this.bucket = qps > 0 ? new TokenBucket(clock, qps, Math.max(1, Math.floor(burst))) : undefined;
  }

  /** Resolves once a token is taken (rejects when the signal aborts). */
  async wait(signal?: AbortSignal): Promise<void> {
    const b = this.bucket;
    if (!b) return;
    while (!b.tryAccept()) {
      const missing = Math.max(0, 1 - b.available());
      await this.clock.sleep(Math.max(1, Math.ceil((missing * 1000) / b.qps)), signal);
    }
  }
}

export interface ApiEventSinkOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** eventRecordQPS (default 50; 0 = no limit). */
  qps?: number;
  /** eventBurst (default 100). */
  burst?: number;
  requestTimeoutMs?: number;
}

/** EventSinkImpl over CoreV1Api with the event client's rate limit. */
export class ApiEventSink implements EventSink {
  private readonly api: CoreV1Api;
  private readonly limiter: ClientRateLimiter;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(opts: ApiEventSinkOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.clock = opts.clock;
    this.limiter = new ClientRateLimiter(opts.clock, opts.qps ?? defaultEventRecordQPS, opts.burst ?? defaultEventBurst);
    this.timeoutMs = opts.requestTimeoutMs ?? defaultEventRequestTimeoutMs;
  }

  async create(event: KubeEvent, signal?: AbortSignal): Promise<KubeEvent> {
    await this.limiter.wait(signal);
    // "Making sure that ResourceVersion is empty on creation"
    const body = toWireEvent(event);
    delete body.metadata.resourceVersion;
    const out = await withDeadline(this.clock, this.timeoutMs, signal, (opts) => this.api.createNamespacedEvent({ namespace: event.namespace, body }, opts));
    return fromWireEvent(out);
  }

  async patch(event: KubeEvent, patch: EventPatch, signal?: AbortSignal): Promise<KubeEvent> {
    await this.limiter.wait(signal);
    const out = await withDeadline(this.clock, this.timeoutMs, signal, (opts) =>
      this.api.patchNamespacedEvent({ name: event.name, namespace: event.namespace, body: patchBody(patch) }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, opts)),
    );
    return fromWireEvent(out);
  }
}
