// The controllers' worker pools (models client-go's util/workqueue as the node lifecycle
// controller uses it with its worker counts, and workqueue.ParallelizeUntil of monitorNodeHealth).
//
// WorkQueue: keys processed by up to `workers` concurrent workers, in the order first added. A key
// waiting is queued once however often it is added; a key being processed is never handed to a
// second worker, and one added meanwhile is processed again once the first run is done (client-go's
// dirty/processing sets). Differences: no rate limiting or delayed adds (the controllers re-add on
// the Clock themselves), and `process` may finish synchronously (return undefined), so thousands
// of keys with nothing to write cost no promise each.

import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';

/** One unit of work: undefined when it finished synchronously. */
export type WorkResult = Promise<void> | undefined;

export class WorkQueue {
  /** Waiting keys, in insertion order (a Set: queued once, FIFO, O(1) take). */
  private readonly waiting = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: processed again after. */
  private readonly again = new Set<string>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly workers: number,
    private readonly process: (key: string) => WorkResult,
    private readonly log: Logger = nopLogger,
  ) {
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`workqueue: workers must be a positive integer, got ${workers}`);
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.again.add(key);
      return;
    }
    this.waiting.add(key);
    if (this.active < this.workers) void this.work();
  }

  /** Keys waiting or being processed. */
  get length(): number {
    return this.waiting.size + this.processing.size;
  }

  /** Resolves once nothing waits and nothing runs. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys (the ones running finish) and forgets the waiting ones. */
  stop(): void {
    this.stopped = true;
    this.waiting.clear();
    this.again.clear();
  }

  private async work(): Promise<void> {
    this.active++;
    try {
      for (let key = this.take(); key !== undefined; key = this.take()) {
        this.processing.add(key);
        try {
          const pending = this.process(key);
          if (pending) await pending;
        } catch (e) {
          this.log.error('work item failed', { key, err: errorMessage(e) });
        } finally {
          this.processing.delete(key);
          if (this.again.delete(key) && !this.stopped) this.waiting.add(key);
        }
      }
    } finally {
      this.active--;
      if (this.active === 0 && this.waiting.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private take(): string | undefined {
    if (this.stopped) return undefined;
    for (const key of this.waiting) {
      this.waiting.delete(key);
      return key;
    }
    return undefined;
  }
}

/**
 * workqueue.ParallelizeUntil: fn over every item with up to `workers` running at once. Items whose
 * fn finishes synchronously run back to back in one worker without a promise each.
 */
export async function parallelize<T>(workers: number, items: readonly T[], fn: (item: T) => WorkResult): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const pending = fn(items[next++]!);
      if (pending) await pending;
    }
  };
  const running: Promise<void>[] = [];
  for (let i = 0; i < Math.min(workers, items.length); i++) running.push(worker());
  await Promise.all(running);
}
