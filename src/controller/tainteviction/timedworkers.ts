// TimedWorkerQueue: work per key that runs no earlier than a given time (models upstream
// pkg/controller/tainteviction/timed_workers.go: TimedWorker, CreateWorkerQueue, AddWork,
// CancelWork, GetWorkerUnsafe, CancelAndWait), on the injected Clock.
//
// As upstream: add() does nothing while work for the key exists (scheduled or running); work due
// at or before now runs at once; cancel() stops scheduled work and forgets the key (work already
// running finishes, and the key may be scheduled again meanwhile); a finished work forgets its key.
// get() returns work that was scheduled with a delay, whether waiting or running (upstream keeps no
// TimedWorker for work started at once).
//
// Differences: the delay is measured from now, not from createdAt (upstream arms its timer for
// fireAt − createdAt, so work re-added with an older createdAt fires late); a timer that wakes
// before fireAt by the clock is re-armed, so work never runs early; a finished work forgets its key
// only if the key still holds that same work (upstream could drop a newer one).

import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';

export type WorkFunc<A> = (key: string, args: A, fireAt: number) => Promise<void>;

interface Worker<A> {
  args: A;
  createdAt: number;
  fireAt: number;
  /** Started with a delay (a TimedWorker upstream). */
  timed: boolean;
  timer: Timer | undefined;
  running: Promise<void> | undefined;
}

export interface WorkInfo {
  createdAt: number;
  fireAt: number;
}

export class TimedWorkerQueue<A> {
  private readonly workers = new Map<string, Worker<A>>();
  private readonly running = new Set<Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly clock: Clock,
    private readonly work: WorkFunc<A>,
    logger: Logger = nopLogger,
  ) {
    this.log = logger;
  }

  /** AddWork: runs `work` for the key no earlier than fireAt; a no-op while the key has work. */
  add(key: string, args: A, createdAt: number, fireAt: number): boolean {
    if (this.workers.has(key)) {
      this.log.debug('Trying to add already existing work, skipping', { item: key, createTime: createdAt, firedTime: fireAt });
      return false;
    }
    const w: Worker<A> = { args, createdAt, fireAt, timed: false, timer: undefined, running: undefined };
    this.workers.set(key, w);
    const delay = fireAt - this.clock.now();
    if (delay <= 0) {
      this.run(key, w);
    } else {
      w.timed = true;
      this.arm(key, w);
    }
    return true;
  }

  /** CancelWork: true if work was waiting and is now stopped. The key is forgotten either way. */
  cancel(key: string): boolean {
    const w = this.workers.get(key);
    if (!w) return false;
    this.workers.delete(key);
    if (w.running) return false;
    w.timer?.stop();
    w.timer = undefined;
    return true;
  }

  /** GetWorkerUnsafe: the key's work when it was scheduled with a delay (waiting or running). */
  get(key: string): WorkInfo | undefined {
    const w = this.workers.get(key);
    return w?.timed ? { createdAt: w.createdAt, fireAt: w.fireAt } : undefined;
  }

  /** Keys with work (waiting or running). */
  keys(): string[] {
    return [...this.workers.keys()];
  }

  /** Keys whose work is waiting, with its times. */
  pending(): Map<string, WorkInfo> {
    const out = new Map<string, WorkInfo>();
    for (const [k, w] of this.workers) if (!w.running) out.set(k, { createdAt: w.createdAt, fireAt: w.fireAt });
    return out;
  }

  /** CancelAndWait: stops all waiting work and forgets every key; resolves when running work is done. */
  async cancelAll(): Promise<void> {
    for (const w of this.workers.values()) {
      w.timer?.stop();
      w.timer = undefined;
    }
    this.workers.clear();
    await Promise.allSettled([...this.running]);
  }

  /** Resolves when no work is running (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private arm(key: string, w: Worker<A>): void {
    w.timer = this.clock.setTimeout(() => {
      w.timer = undefined;
      if (this.workers.get(key) !== w) return;
      if (this.clock.now() < w.fireAt) return this.arm(key, w);
      this.run(key, w);
    }, Math.max(1, w.fireAt - this.clock.now()));
  }

  private run(key: string, w: Worker<A>): void {
    this.log.debug('Firing worker', { item: key, firedTime: w.fireAt });
    const p = (async () => {
      try {
        await this.work(key, w.args, w.fireAt);
      } catch (err) {
        this.log.error('TaintEvictionController: timed worker failed', { item: key, err: errorMessage(err) });
      }
    })().finally(() => {
      this.running.delete(p);
      if (this.workers.get(key) === w) this.workers.delete(key);
    });
    w.running = p;
    this.running.add(p);
  }
}
