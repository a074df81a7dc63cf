// How many image pulls run at once (models pkg/kubelet/images/puller.go: serialImagePuller and
// parallelImagePuller).
//
// - serializeImagePulls true (the kubelet's default): one pull at a time, in the order asked (FIFO);
// - serializeImagePulls false: pulls run in parallel, at most maxParallelImagePulls at once when
//   that is set (undefined or 0: no cap), the rest waiting in FIFO order.
//
// Differences: upstream's serial puller is a channel of at most 10 queued requests that blocks
// further callers; here the queue is unbounded (callers are awaiting promises, not goroutines).
// Upstream's config validation rejects maxParallelImagePulls with serializeImagePulls true; here
// serializeImagePulls wins.

export interface PullScheduler {
  /** Runs fn when a slot is free (FIFO); resolves or rejects with fn's outcome. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Pulls running now. */
  readonly active: number;
  /** Pulls waiting for a slot. */
  readonly waiting: number;
  /** The cap (Infinity when none). */
  readonly limit: number;
}

/** A FIFO semaphore: at most `limit` functions run at once. */
class LimitedScheduler implements PullScheduler {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.running--;
    }
  }
}

/** The scheduler the kubelet's image settings ask for. */
export function newPullScheduler(serializeImagePulls: boolean, maxParallelImagePulls?: number): PullScheduler {
  if (serializeImagePulls) return new LimitedScheduler(1);
  if (maxParallelImagePulls === undefined || maxParallelImagePulls < 1) return new LimitedScheduler(Infinity);
  return new LimitedScheduler(Math.floor(maxParallelImagePulls));
}
