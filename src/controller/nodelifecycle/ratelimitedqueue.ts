// RateLimitedTimedQueue: the per-zone queue of nodes to taint NoExecute (models kube-controller-
// manager v1.30 pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go: TimedValue,
// UniqueQueue, RateLimitedTimedQueue with Try / Add / Remove / Clear / SwapLimiter, burst 1).
//
// As upstream:
// - a name is queued at most once until remove(name) is called: an item that succeeded leaves the
//   queue but stays "added", so add(name) returns false and the node is not processed again until
//   the controller removes it (node Ready again, or its taint went away);
// - try() walks the queue in processAt order; every step first takes a token from the bucket (a
//   refusal ends the pass), then stops if the head is not due yet (the token is spent, as upstream);
//   a failed item is put back with processAt = now + retryAfterMs;
// - swapLimiter(qps): qps <= 0 is a limiter that never admits; a new token bucket starts empty when
//   the old one had no token left (so a swap never grants an extra eviction), full otherwise.
//
// Differences: items with the same processAt keep FIFO order (upstream's heap has no order among
// equal times). The limiter's qps is tracked as given, so swapping back from 0 to a rate always
// takes effect (upstream's never-limiter reports QPS 1 and a swap to 1 would be ignored). try() is
// async so the action can await the API write; the caller must not run two try() at once.

import type { Clock } from '../../util/clock.js';
import { TokenBucket } from '../../util/ratelimit.js';

/** Burst of every eviction/tainting limiter (scheduler.EvictionRateLimiterBurst). */
export const evictionRateLimiterBurst = 1;
/** How often the NoExecute tainting pass runs (scheduler.NodeEvictionPeriod). */
export const nodeEvictionPeriodMs = 100;
/** The retry delay doNoExecuteTaintingPass asks for when the node cannot be read. */
export const noExecuteRetryAfterMs = 50;

export interface TimedValue {
  /** The node name. */
  value: string;
  /** The node UID when queued. */
  uid: string | undefined;
  addedAt: number;
  processAt: number;
}

/** ok: done (leaves the queue); not ok: retried no earlier than retryAfterMs from now. */
export interface ActionResult {
  ok: boolean;
  retryAfterMs?: number;
}

export class RateLimitedTimedQueue {
  /** Sorted by processAt, FIFO among equal times. */
  private queue: TimedValue[] = [];
  /** Names added and not removed (including the ones already processed). */
  private readonly set = new Set<string>();
  /** undefined: qps 0, nothing passes. */
  private limiter: TokenBucket | undefined;
  private currentQps: number;

  constructor(
    private readonly clock: Clock,
    qps: number,
  ) {
    this.currentQps = qps > 0 ? qps : 0;
    this.limiter = qps > 0 ? new TokenBucket(clock, qps, evictionRateLimiterBurst) : undefined;
  }

  /** The current rate (0: stopped). */
  get qps(): number {
    return this.currentQps;
  }

  /** Items waiting to be processed. */
  get length(): number {
    return this.queue.length;
  }

  /** The waiting items in processing order (copies). */
  items(): TimedValue[] {
    return this.queue.map((v) => ({ ...v }));
  }

  /** True when the name was added and not removed since (queued or already processed). */
  has(value: string): boolean {
    return this.set.has(value);
  }

  /** Queues the name to be processed now; false (nothing done) if it was added and not removed since. */
  add(value: string, uid?: string): boolean {
    if (this.set.has(value)) return false;
    const now = this.clock.now();
    this.insert({ value, uid, addedAt: now, processAt: now });
    this.set.add(value);
    return true;
  }

  /** Forgets the name (queued or processed), so a later add queues it again; false if it was not there. */
  remove(value: string): boolean {
    if (!this.set.delete(value)) return false;
    this.removeFromQueue(value);
    return true;
  }

  /** Forgets every name. */
  clear(): void {
    this.queue = [];
    this.set.clear();
  }

  /**
   * Processes due items in order while the limiter admits them: fn says ok (done: out of the queue,
   * still counted as added) or not ok (back in the queue at now + retryAfterMs).
   */
  async try(fn: (item: TimedValue) => ActionResult | Promise<ActionResult>): Promise<void> {
    let head = this.queue[0];
    while (head) {
      if (!this.limiter?.tryAccept()) break;
      const now = this.clock.now();
      if (now < head.processAt) break;
      const r = await fn({ ...head });
      if (!r.ok) {
        // Replace: only when still queued (fn or a concurrent remove may have dropped it)
        if (this.removeFromQueue(head.value)) this.insert({ ...head, processAt: now + Math.max(0, r.retryAfterMs ?? 0) });
      } else {
        this.removeFromQueue(head.value);
      }
      head = this.queue[0];
    }
  }

  /** Changes the rate; qps <= 0 stops the queue. A drained bucket stays drained across the swap. */
  swapLimiter(qps: number): void {
    const next = qps > 0 ? qps : 0;
    if (next === this.currentQps) return;
    if (next === 0) {
      this.limiter = undefined;
    } else {
      const hadToken = this.limiter?.tryAccept() ?? false;
      const bucket = new TokenBucket(this.clock, next, evictionRateLimiterBurst);
      if (!hadToken) bucket.tryAccept();
      this.limiter = bucket;
    }
    this.currentQps = next;
  }

  private insert(v: TimedValue): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.processAt > v.processAt) i--;
    this.queue.splice(i, 0, v);
  }

  private removeFromQueue(value: string): boolean {
    const i = this.queue.findIndex((v) => v.value === value);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }
}
