// The event broadcaster's path to the API (models k8s.io/client-go/tools/record/event.go:
// eventBroadcasterImpl with watch.NewLongQueueBroadcaster(maxQueuedEvents = 1000,
// DropIfChannelFull), StartRecordingToSink, recordToSink, recordEvent, Shutdown; and
// recorderImpl.generateEvent's ActionOrDrop).
//
// As upstream: action() never blocks the caller: the event goes on a queue of at most 1000, or is
// dropped with "Unable to record event: too many queued events, dropped event". One worker takes
// events in order, correlates them (EventCorrelator) and writes each: PATCH when the correlator
// gives a patch (a 404 there creates the event anew, as the API may have expired it), else
// create. A write failing on transport (API down, reset, timeout) is tried again, up to
// maxTriesPerEvent = 12 tries, sleeping sleepDuration (10 s) between tries, the first sleep
// jittered (× random in [0, 1)) so that kubelets do not all come back at once; meanwhile later
// events wait on the queue, as they do upstream. An API status error is final (409 AlreadyExists
// quietly, the rest with an error log). A success feeds the API's answer back into the
// correlator (UpdateState).
//
// Differences: sleeps on the injected Clock; stop() drops what is still queued (upstream's
// Shutdown stops the watcher the same way) and aborts a retry sleep or a request in flight;
// flush() (for tests and a graceful stop) waits until the queue is empty and the worker idle.

import type { Clock } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { isNotFound } from '../../util/apicall.js';
import { sinkErrorAction, sinkErrorMessage, type EventSink } from './apisink.js';
import { EventCorrelator, type CorrelateResult, type KubeEvent } from './correlator.js';

export const maxQueuedEvents = 1000;
export const maxTriesPerEvent = 12;
export const defaultSleepDurationMs = 10_000;

export interface EventBroadcasterOptions {
  sink: EventSink;
  clock: Clock;
  logger?: Logger;
  /** Default: a correlator with upstream's defaults on the same clock. */
  correlator?: EventCorrelator;
  /** Queue bound (default 1000). */
  maxQueued?: number;
  /** Tries per event (default 12). */
  maxTries?: number;
  /** Sleep between tries (default 10 s; the first is jittered). */
  sleepMs?: number;
  /** [0, 1) source for the jitter (default Math.random). */
  random?: () => number;
}

export interface BroadcasterStats {
  /** Events waiting on the queue. */
  queued: number;
  /** Dropped because the queue was full. */
  dropped: number;
  /** Dropped by the spam filter. */
  skipped: number;
  /** Written to the API (created or patched). */
  written: number;
  /** Given up: status errors and exhausted retries. */
  failed: number;
  /** Failed tries that were retried. */
  retries: number;
}

/** A short description of an event for logs. */
function describe(e: KubeEvent): Record<string, unknown> {
  const o = e.involvedObject;
  return { event: e.name, object: `${o.kind}/${o.namespace ? o.namespace + '/' : ''}${o.name}`, reason: e.reason, type: e.type, count: e.count };
}

export class EventBroadcaster {
  private readonly sink: EventSink;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly correlator: EventCorrelator;
  private readonly maxQueued: number;
  private readonly maxTries: number;
  private readonly sleepMs: number;
  private readonly random: () => number;
  private readonly queue: KubeEvent[] = [];
  private worker: Promise<void> = Promise.resolve();
  private running = false;
  private stopped = false;
  private readonly stopAc = new AbortController();
  private readonly counts = { dropped: 0, skipped: 0, written: 0, failed: 0, retries: 0 };

  constructor(opts: EventBroadcasterOptions) {
    this.sink = opts.sink;
    this.clock = opts.clock;
    this.log = opts.logger ?? nopLogger;
    this.correlator = opts.correlator ?? new EventCorrelator({ clock: opts.clock });
    this.maxQueued = opts.maxQueued ?? maxQueuedEvents;
    this.maxTries = opts.maxTries ?? maxTriesPerEvent;
    this.sleepMs = opts.sleepMs ?? defaultSleepDurationMs;
    this.random = opts.random ?? Math.random;
  }

  /** ActionOrDrop: queues the event for the API; false when dropped (queue full or stopped). Never blocks. */
  action(event: KubeEvent): boolean {
    if (this.stopped) {
      this.log.debug('Unable to record event: the broadcaster is shut down', describe(event));
      return false;
    }
    if (this.queue.length >= this.maxQueued) {
      this.counts.dropped++;
      this.log.warn('Unable to record event: too many queued events, dropped event', describe(event));
      return false;
    }
    this.queue.push(event);
    if (!this.running) {
      this.running = true;
      this.worker = this.run();
    }
    return true;
  }

  stats(): BroadcasterStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Resolves once every queued event is written or given up (retry sleeps need the clock to move). */
  async flush(): Promise<void> {
    while (this.running) await this.worker;
  }

  /** Shutdown: drops queued events, aborts a retry sleep or request under way, waits for the worker. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.queue.length > 0) this.log.info('Dropping queued events at shutdown', { events: this.queue.length });
      this.queue.length = 0;
      this.stopAc.abort(new Error('event broadcaster is shut down'));
    }
    await this.flush();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (!next || this.stopped) return;
        try {
          await this.recordToSink(next);
        } catch (err) {
          // never let one event stop the worker
          this.log.error('Event recording failed', { ...describe(next), err });
        }
      }
    } finally {
      // cleared as the loop ends, so an event queued right after starts a new worker
      this.running = false;
    }
  }

  /** recordToSink: correlate, then write with retries. */
  private async recordToSink(event: KubeEvent): Promise<void> {
    const result: CorrelateResult = this.correlator.correlate(event);
    if (result.skip || !result.event) {
      this.counts.skipped++;
      this.log.debug('Event dropped by the spam filter', describe(event));
      return;
    }
    const e = result.event;
    let tries = 0;
    for (;;) {
      if (await this.recordEvent(e, result.patch)) return;
      tries++;
      if (tries >= this.maxTries) {
        this.counts.failed++;
        this.log.error('Unable to write event (retry limit exceeded!)', describe(e));
        return;
      }
      this.counts.retries++;
      const delay = tries === 1 ? Math.floor(this.sleepMs * this.random()) : this.sleepMs;
      try {
        await this.clock.sleep(delay, this.stopAc.signal);
      } catch {
        this.counts.failed++;
        this.log.error('Unable to write event (broadcaster is shut down)', describe(e));
        return;
      }
    }
  }

  /** recordEvent: true when written or given up, false to retry. */
  private async recordEvent(e: KubeEvent, patch: CorrelateResult['patch']): Promise<boolean> {
    let err: unknown;
    try {
      let written: KubeEvent | undefined;
      if (patch && e.count > 1) {
        try {
          written = await this.sink.patch(e, patch, this.stopAc.signal);
        } catch (pe) {
          // the event may have been removed (expired): create it anew
          if (!isNotFound(pe)) throw pe;
        }
      }
      if (!written) {
        const fresh = { ...e };
        delete fresh.resourceVersion;
        written = await this.sink.create(fresh, this.stopAc.signal);
      }
      this.correlator.updateState(written);
      this.counts.written++;
      return true;
    } catch (caught) {
      err = caught;
    }
    if (this.stopped) {
      this.counts.failed++;
      this.log.error('Unable to write event (broadcaster is shut down)', describe(e));
      return true;
    }
    switch (sinkErrorAction(err)) {
      case 'alreadyExists':
        this.counts.failed++;
        this.log.debug('Server rejected event (will not retry!)', { ...describe(e), err: sinkErrorMessage(err) });
        return true;
      case 'rejected':
        this.counts.failed++;
        this.log.error('Server rejected event (will not retry!)', { ...describe(e), err: sinkErrorMessage(err) });
        return true;
      case 'retry':
        this.log.error('Unable to write event (may retry after sleeping)', { ...describe(e), err: sinkErrorMessage(err) });
        return false;
    }
  }
}
