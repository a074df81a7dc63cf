// Clock: the one source of time for every module (models k8s.io/utils/clock).
//
// Every timer, sleep and timestamp in nodelet goes through a Clock so that unit tests can
// drive time with FakeClock and never sleep. Times are milliseconds since the Unix epoch.

export interface Timer {
  /** Cancels the timer; returns false if it had already fired or was stopped. */
  stop(): boolean;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  /** Resolves after ms; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function since(clock: Clock, t: number): number {
  return clock.now() - t;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Sleep built on a clock's setTimeout, honouring an AbortSignal. */
function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      timer.stop();
      reject(abortError(signal!));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The longest delay a Node timer holds (2^31-1 ms). */
const maxTimerMs = 2 ** 31 - 1;

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    // Node's timers hold at most 2^31-1 ms (~24.8 days) and fire at once beyond that: a longer
    // wait (a certificate rotation months away) is chained in steps
    let done = false;
    const due = Date.now() + Math.max(0, ms);
    let h: ReturnType<typeof setTimeout>;
    const arm = (): void => {
      const left = due - Date.now();
      h = setTimeout(() => {
        if (left > maxTimerMs) return arm();
        done = true;
        fn();
      }, Math.min(Math.max(0, left), maxTimerMs));
    };
    arm();
    return {
      stop: () => {
        if (done) return false;
        done = true;
        clearTimeout(h);
        return true;
      },
    };
  }

  setInterval(fn: () => void, ms: number): Timer {
    let stopped = false;
    const h = setInterval(fn, Math.max(1, ms));
    return {
      stop: () => {
        if (stopped) return false;
        stopped = true;
        clearInterval(h);
        return true;
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  interval?: number;
  active: boolean;
}

/**
 * FakeClock: time moves only when a test says so.
 *
 * `step(ms)` fires due timers synchronously in time order. `advance(ms)` does the same but lets
 * promise chains settle between timers (use it when the code under test is async).
 */
export class FakeClock implements Clock {
  private time: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, Math.max(1, ms), Math.max(1, ms));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    return this.timers.filter((t) => t.active).length;
  }

  /** When the next timer fires, or undefined if none is waiting. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers) if (t.active && (min === undefined || t.at < min)) min = t.at;
    return min;
  }

  /** Moves time forward by ms, firing due timers synchronously. */
  step(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const t = this.nextDue(end);
      if (!t) break;
      this.fire(t);
    }
    this.time = end;
  }

  /** Moves time forward by ms, letting promise chains settle before and after each timer. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const t = this.nextDue(end);
      if (!t) break;
      this.fire(t);
      await flushMicrotasks();
    }
    this.time = end;
    await flushMicrotasks();
  }

  /** Sets the time (forward only), firing due timers. */
  setTime(t: number): void {
    if (t > this.time) this.step(t - this.time);
  }

  private add(fn: () => void, ms: number, interval?: number): Timer {
    const timer: FakeTimer = { id: this.nextId++, at: this.time + ms, fn, active: true };
    if (interval !== undefined) timer.interval = interval;
    this.timers.push(timer);
    return {
      stop: () => {
        if (!timer.active) return false;
        timer.active = false;
        this.timers = this.timers.filter((x) => x !== timer);
        return true;
      },
    };
  }

  private nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (!t.active || t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    }
    return best;
  }

  private fire(t: FakeTimer): void {
    this.time = Math.max(this.time, t.at);
    if (t.interval !== undefined) {
      t.at += t.interval;
    } else {
      t.active = false;
      this.timers = this.timers.filter((x) => x !== t);
    }
    t.fn();
  }
}

/** Lets pending promise callbacks run (a macrotask turn), without any wall-clock wait. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
