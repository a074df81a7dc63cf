// Pods from the API server (models pkg/kubelet/config/apiserver.go: NewSourceApiserver, a
// reflector over pods with fieldSelector spec.nodeName=<node> into an UndeltaStore that sends the
// whole set on every change, and client-go's reflector ListAndWatch for the list/watch loop).
//
// The loop: list (resourceVersion "0" the first time, "" after an expiry), then watch from the
// list's resourceVersion with bookmarks and a 5-10 min timeoutSeconds. A watch the server ends
// cleanly is re-opened from the last resourceVersion (as the reflector does); a 410 Expired (as
// an ERROR event or an HTTP status) relists at once; any other failure relists after an
// exponential backoff (800 ms doubling to 30 s with jitter, reset after 2 min without failure,
// the reflector's defaults). Every change sends the full set of pods to onSet, like the
// UndeltaStore's PushFunc.
//
// Differences from upstream: sends are coalesced (a change after a quiet 100 ms goes out at once,
// further changes within 100 ms of the last send go out together at the end of that window) and
// a set equal to the last one sent (same UIDs and resourceVersions) is not sent again, so a relist
// that found nothing new sends nothing; mirror pods are split off here (upstream's pod manager
// does it): onSet gets regular pods only, mirror pods are in mirrorPods() / onMirrorPods. Watch
// objects are decoded with client-node's ObjectSerializer so that list and watch pods have the
// same types (Dates for times).

import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { isMirrorPod } from '../../api/podutil.js';
import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';

/** The list and watch calls the source makes (the API server, or a fake in unit tests). */
export interface PodListWatcher {
  /** Lists the node's pods (decoded, as client-node's API classes return them); resourceVersion as the reflector sends it. */
  list(resourceVersion: string): Promise<{ items: V1Pod[]; resourceVersion: string }>;
  /**
   * Opens a watch from resourceVersion. onEvent gets the event type and the raw object; onDone is
   * called once when the stream ends (err null for a clean end). Resolves once the request is made.
   */
  watch(
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

/** The PodListWatcher over the API: GET /api/v1/pods?fieldSelector=spec.nodeName=<node> (list and watch). */
export function nodePodListWatcher(kc: KubeConfig, nodeName: string): PodListWatcher {
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  return {
    async list(resourceVersion) {
      const l = await api.listPodForAllNamespaces({ fieldSelector, ...(resourceVersion ? { resourceVersion } : {}) });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    watch(resourceVersion, timeoutSeconds, onEvent, onDone) {
      return watch.watch('/api/v1/pods', { fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, onDone);
    },
  };
}

export interface ApiserverSourceOptions {
  clock: Clock;
  listWatcher: PodListWatcher;
  /** Receives the whole set of the node's (non-mirror) pods after every change. */
  onSet: (pods: V1Pod[]) => void;
  /** Receives the mirror pods bound to the node whenever they change. */
  onMirrorPods?: (pods: V1Pod[]) => void;
  logger?: Logger;
  /** Sends are at most once per this period (default 100 ms). */
  coalesceMs?: number;
  /** Backoff after a failed list or a broken watch: initial (default 800 ms) and cap (default 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** A backoff starts over after this long without failure (default 2 min). */
  backoffResetMs?: number;
  /** The watch's timeoutSeconds is min * (1 + random) (default min 300 s). */
  minWatchTimeoutSeconds?: number;
  /** [0, 1) random numbers for jitter (default Math.random). */
  random?: () => number;
}

function isExpiredStatus(obj: unknown): boolean {
  const o = obj as { code?: number; reason?: string } | undefined;
  return o?.code === 410 || o?.reason === 'Expired' || o?.reason === 'Gone';
}

function errCode(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}

/** Decodes a raw API pod into client-node's types (Dates for times). */
export function decodePod(raw: unknown): V1Pod {
  return ObjectSerializer.deserialize(raw, 'V1Pod') as V1Pod;
}

const setKey = (pods: V1Pod[]): string => pods.map((p) => `${p.metadata?.uid ?? ''}@${p.metadata?.resourceVersion ?? ''}`).join(',');

/** The kubelet's "api" pod source. start() begins listing; stop() ends the loop. */
export class ApiserverSource {
  private readonly clock: Clock;
  private readonly lw: PodListWatcher;
  private readonly log: Logger;
  private readonly coalesceMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly backoffResetMs: number;
  private readonly minWatchTimeoutSeconds: number;
  private readonly random: () => number;
  /** uid -> pod, in list/arrival order. */
  private pods = new Map<string, V1Pod>();
  private resourceVersion = '';
  private listedOnce = false;
  private synced = false;
  private stopped = true;
  private abort = new AbortController();
  private watchHandle: { abort(): void } | undefined;
  private emitTimer: Timer | undefined;
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private lastSetKey: string | undefined;
  private lastMirrorKey: string | undefined;
  private backoffMs = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private loop: Promise<void> | undefined;
  /** Counts, for tests and metrics: lists made, watches opened, sets sent. */
  readonly stats = { lists: 0, watches: 0, sets: 0 };

  constructor(private readonly opts: ApiserverSourceOptions) {
    this.clock = opts.clock;
    this.lw = opts.listWatcher;
    this.log = (opts.logger ?? nopLogger).child({ component: 'apiserver-source' });
    this.coalesceMs = opts.coalesceMs ?? 100;
    this.backoffInitialMs = opts.backoffInitialMs ?? 800;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30_000;
    this.backoffResetMs = opts.backoffResetMs ?? 120_000;
    this.minWatchTimeoutSeconds = opts.minWatchTimeoutSeconds ?? 300;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.loop = this.run().catch((err: unknown) => this.log.error('Pod source loop failed', { err: errorMessage(err) }));
  }

  /** Stops listing and watching; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('stopped'));
    this.watchHandle?.abort();
    this.endWatch?.();
    this.emitTimer?.stop();
    this.emitTimer = undefined;
    await this.loop;
  }

  /** True once the first list has been sent (the kubelet's sources-ready for "api"). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** The pod (regular or mirror) with this API UID, as last seen. Do not mutate. */
  getPod(uid: string): V1Pod | undefined {
    return this.pods.get(uid);
  }

  /** The pod (regular or mirror) by namespace and name, as last seen. Do not mutate. */
  getPodByName(namespace: string, name: string): V1Pod | undefined {
    for (const p of this.pods.values()) if (p.metadata?.name === name && (p.metadata?.namespace ?? '') === namespace) return p;
    return undefined;
  }

  /** The mirror pods bound to the node. */
  mirrorPods(): V1Pod[] {
    return [...this.pods.values()].filter(isMirrorPod);
  }

  private async run(): Promise<void> {
    let needList = true;
    let expired = false;
    while (!this.stopped) {
      if (needList) {
        const rv = expired || !this.listedOnce ? (expired ? '' : '0') : this.resourceVersion;
        try {
          this.stats.lists++;
          const l = await this.lw.list(rv);
          if (this.stopped) return;
          this.replace(l.items);
          this.resourceVersion = l.resourceVersion;
          this.listedOnce = true;
          needList = false;
          expired = false;
          const first = !this.synced;
          this.synced = true;
          if (first) this.emitNow();
          else this.scheduleEmit();
        } catch (err) {
          if (this.stopped) return;
          this.log.warn('Failed to list pods from the API server', { err: errorMessage(err) });
          if (!(await this.backoff())) return;
          continue;
        }
      }
      const openedAt = this.clock.now();
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome === 'expired') {
        this.log.info('Watch of pods expired, relisting', { resourceVersion: this.resourceVersion });
        needList = true;
        expired = true;
        continue;
      }
      if (outcome === 'closed') {
        // A clean end: watch again from where we are; a watch that ends at once without a single
        // event is treated as a failure so that a misbehaving server is not hammered.
        if (this.clock.now() - openedAt >= 1000 || this.sawEvent) continue;
        if (!(await this.backoff())) return;
        continue;
      }
      this.log.warn('Watch of pods failed, relisting', { err: errorMessage(outcome.err) });
      needList = true;
      if (!(await this.backoff())) return;
    }
  }

  private sawEvent = false;
  /** Ends the open watch's wait (stop()). */
  private endWatch: (() => void) | undefined;

  /** One watch stream, until it ends. */
  private watchOnce(): Promise<'expired' | 'closed' | { err: unknown }> {
    this.sawEvent = false;
    return new Promise((resolve) => {
      let expired = false;
      let settled = false;
      const done = (err: unknown): void => {
        if (settled) return;
        settled = true;
        this.watchHandle = undefined;
        this.endWatch = undefined;
        if (expired || (err && errCode(err) === 410)) resolve('expired');
        else if (err && !this.stopped) resolve({ err });
        else resolve('closed');
      };
      const onEvent = (type: string, obj: unknown): void => {
        if (settled || this.stopped) return;
        if (type === 'ERROR') {
          if (isExpiredStatus(obj)) {
            expired = true;
            this.watchHandle?.abort();
            done(null);
          } else {
            this.log.warn('Watch of pods sent an error', { status: obj });
          }
          return;
        }
        this.sawEvent = true;
        this.handleEvent(type, obj);
      };
      this.endWatch = () => done(null);
      const timeout = Math.floor(this.minWatchTimeoutSeconds * (1 + this.random()));
      this.stats.watches++;
      this.lw
        .watch(this.resourceVersion, timeout, onEvent, done)
        .then((h) => {
          if (settled) h.abort();
          else this.watchHandle = h;
        })
        .catch((err: unknown) => done(err ?? new Error('watch failed')));
    });
  }

  private handleEvent(type: string, raw: unknown): void {
    const rv = (raw as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const pod = decodePod(raw);
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (type === 'ADDED' || type === 'MODIFIED') {
      this.pods.set(uid, pod);
    } else if (type === 'DELETED') {
      this.pods.delete(uid);
    } else {
      return;
    }
    if (rv) this.resourceVersion = rv;
    this.scheduleEmit();
  }

  private replace(items: V1Pod[]): void {
    const next = new Map<string, V1Pod>();
    for (const p of items) {
      const uid = p.metadata?.uid;
      if (uid) next.set(uid, p);
    }
    this.pods = next;
  }

  /** Sleeps the current backoff; false when stopped meanwhile. */
  private async backoff(): Promise<boolean> {
    const now = this.clock.now();
    if (now - this.lastFailureAt > this.backoffResetMs || this.backoffMs === 0) this.backoffMs = this.backoffInitialMs;
    else this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
    this.lastFailureAt = now;
    const wait = Math.min(this.backoffMs * (1 + this.random()), this.backoffMaxMs);
    try {
      await this.clock.sleep(wait, this.abort.signal);
    } catch {
      return false;
    }
    return !this.stopped;
  }

  private scheduleEmit(): void {
    if (this.emitTimer || this.stopped) return;
    const wait = this.lastEmitAt + this.coalesceMs - this.clock.now();
    if (wait <= 0) {
      this.emitNow();
      return;
    }
    this.emitTimer = this.clock.setTimeout(() => {
      this.emitTimer = undefined;
      this.emitNow();
    }, wait);
  }

  private emitNow(): void {
    if (this.stopped) return;
    this.lastEmitAt = this.clock.now();
    const all = [...this.pods.values()];
    const regular = all.filter((p) => !isMirrorPod(p));
    const mirrors = all.filter(isMirrorPod);
    const key = setKey(regular);
    if (key !== this.lastSetKey) {
      this.lastSetKey = key;
      this.stats.sets++;
      try {
        this.opts.onSet(regular.map((p) => structuredClone(p)));
      } catch (err) {
        this.log.error('Pod set receiver failed', { err: errorMessage(err) });
      }
    }
    const mkey = setKey(mirrors);
    if (mkey !== this.lastMirrorKey) {
      this.lastMirrorKey = mkey;
      try {
        this.opts.onMirrorPods?.(mirrors.map((p) => structuredClone(p)));
      } catch (err) {
        this.log.error('Mirror pod receiver failed', { err: errorMessage(err) });
      }
    }
  }
}
