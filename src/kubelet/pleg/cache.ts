// Pod status cache (models the kubelet's pkg/kubelet/container/cache.go, kubecontainer.Cache).
//
// Holds the newest RuntimePodStatus the PLEG read for each pod, with the time it was read, and a
// global timestamp (updateTime) saying "every entry is at least this fresh: a pod without an entry
// had nothing in the runtime as of this time". Pod workers call getNewerThan(uid, t) to wait for a
// status read after their last sync, exactly as upstream's GetNewerThan.
//
// Differences from upstream:
// - Times are ms since the epoch (upstream: time.Time with ns), so "newer than" is strict in both
//   the immediate check and the notification: a status modified at exactly minTime does not
//   satisfy getNewerThan(uid, minTime). Upstream's immediate check is strict (After) while its
//   notify() accepts equality (!Before); at ns resolution the two agree in practice, at ms they
//   would not, and only the strict reading guarantees the status was read after minTime.
// - An error stored for a pod (upstream: Set(id, status, err, t)) is stored instead of a status;
//   get() throws it and getNewerThan() rejects with it.
// - getNewerThan takes an optional AbortSignal so a waiter (a pod worker being torn down) can give
//   up; upstream's waiter blocks until the condition is met.
// - The default ("no entry") status carries the global timestamp rather than a zero time.

import type { RuntimePodStatus } from '../container/types.js';

/** The status of a pod the runtime knows nothing about (upstream's makeDefaultData). */
export function emptyPodStatus(uid: string, timestamp = 0, name = '', namespace = ''): RuntimePodStatus {
  return { uid, name, namespace, ips: [], sandboxStatuses: [], containerStatuses: [], timestamp };
}

interface Entry {
  value: RuntimePodStatus | Error;
  /** When the data was read (ms). */
  modified: number;
}

interface Waiter {
  minTime: number;
  resolve: (s: RuntimePodStatus) => void;
  reject: (e: unknown) => void;
  cleanup: () => void;
}

export class PodStatusCache {
  private readonly pods = new Map<string, Entry>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Global timestamp; undefined until the first updateTime (the cache is not yet ready to serve). */
  private globalTime: number | undefined;

  /** The cached status, or an empty status for a pod without an entry; throws a stored error. */
  get(uid: string): RuntimePodStatus {
    const v = this.lookup(uid);
    if (v instanceof Error) throw v;
    return v;
  }

  /** Every cached status (entries holding an error are left out). */
  getAll(): RuntimePodStatus[] {
    const out: RuntimePodStatus[] = [];
    for (const e of this.pods.values()) if (!(e.value instanceof Error)) out.push(e.value);
    return out;
  }

  /** The global timestamp (ms), or undefined before the first updateTime. */
  timestamp(): number | undefined {
    return this.globalTime;
  }

  /**
   * Resolves with the pod's status once the cache holds one modified after minTimeMs, or once the
   * global timestamp is after minTimeMs (then with the current entry, or an empty status when the
   * pod has none). Rejects with the stored error if the entry is an error, or with the signal's
   * reason when aborted.
   */
  getNewerThan(uid: string, minTimeMs: number, signal?: AbortSignal): Promise<RuntimePodStatus> {
    if (this.ready(uid, minTimeMs)) return settle(this.lookup(uid));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<RuntimePodStatus>((resolve, reject) => {
      const onAbort = (): void => {
        this.removeWaiter(uid, waiter);
        reject(abortReason(signal!));
      };
      const waiter: Waiter = {
        minTime: minTimeMs,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.waiters.get(uid);
      if (list) list.push(waiter);
      else this.waiters.set(uid, [waiter]);
    });
  }

  /** Stores a pod's status (or the error met reading it), read at modifiedMs, and wakes waiters. */
  set(uid: string, status: RuntimePodStatus | Error, modifiedMs: number): void {
    this.pods.set(uid, { value: status, modified: modifiedMs });
    this.notify(uid, modifiedMs);
  }

  /** Frees a pod's entry; later reads see an empty status. Waiters are not woken. */
  delete(uid: string): void {
    this.pods.delete(uid);
  }

  /** Sets the global timestamp and wakes every waiter whose minTime it passes. */
  updateTime(ms: number): void {
    this.globalTime = ms;
    for (const uid of [...this.waiters.keys()]) this.notify(uid, ms);
  }

  /** Number of pending getNewerThan calls (for tests and debugging). */
  pendingWaiters(): number {
    let n = 0;
    for (const l of this.waiters.values()) n += l.length;
    return n;
  }

  private lookup(uid: string): RuntimePodStatus | Error {
    return this.pods.get(uid)?.value ?? emptyPodStatus(uid, this.globalTime ?? 0);
  }

  /** Upstream's getIfNewerThan, as a predicate. */
  private ready(uid: string, minTime: number): boolean {
    if (this.globalTime !== undefined && this.globalTime > minTime) return true;
    const e = this.pods.get(uid);
    return e !== undefined && e.modified > minTime;
  }

  private notify(uid: string, timestamp: number): void {
    const list = this.waiters.get(uid);
    if (!list) return;
    const keep: Waiter[] = [];
    const due: Waiter[] = [];
    for (const w of list) (timestamp > w.minTime ? due : keep).push(w);
    if (keep.length) this.waiters.set(uid, keep);
    else this.waiters.delete(uid);
    if (!due.length) return;
    const v = this.lookup(uid);
    for (const w of due) {
      w.cleanup();
      if (v instanceof Error) w.reject(v);
      else w.resolve(v);
    }
  }

  private removeWaiter(uid: string, w: Waiter): void {
    const list = this.waiters.get(uid);
    if (!list) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length) this.waiters.set(uid, rest);
    else this.waiters.delete(uid);
  }
}

function settle(v: RuntimePodStatus | Error): Promise<RuntimePodStatus> {
  return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
