// A timed work queue (models the kubelet's pkg/kubelet/util/queue.WorkQueue): items become due
// after a delay; the sync loop takes the due ones every tick. Re-enqueueing an item keeps the
// earlier of the two due times.

import type { Clock } from './clock.js';

export class TimedWorkQueue<K = string> {
  private readonly due = new Map<K, number>();

  constructor(private readonly clock: Clock) {}

  enqueue(key: K, delayMs: number): void {
    const at = this.clock.now() + Math.max(0, delayMs);
    const cur = this.due.get(key);
    if (cur === undefined || at < cur) this.due.set(key, at);
  }

  /** Removes and returns the keys that are due now. */
  getWork(): K[] {
    const now = this.clock.now();
    const out: K[] = [];
    for (const [k, at] of this.due) {
      if (at <= now) {
        out.push(k);
        this.due.delete(k);
      }
    }
    return out;
  }

  forget(key: K): void {
    this.due.delete(key);
  }

  dueAt(key: K): number | undefined {
    return this.due.get(key);
  }

  get size(): number {
    return this.due.size;
  }
}

/** `wait.Jitter`: d plus up to factor*d, with an injectable random source. */
export function jitter(d: number, factor: number, rand: () => number = Math.random): number {
  return d + Math.floor(rand() * factor * d);
}
