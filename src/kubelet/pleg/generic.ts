// Generic PLEG (models the kubelet's pkg/kubelet/pleg/generic.go, GenericPLEG).
//
// Every relist period it lists all pods from the runtime (getPods(true)), compares each container's
// (and sandbox's) state with the previous listing, turns the transitions into PodLifecycleEvents
// with upstream's generateEvents table, re-reads the status of every pod that changed into the
// PodStatusCache, advances the cache's global timestamp, and only then hands the events to the
// watchers, so a worker reacting to an event always finds a status at least as new as the relist.
//
// Differences from upstream:
// - Statuses are cached with the time the relist started (upstream: clock.Now() just before each
//   pod's GetPodStatus). Both are "read no earlier than"; ours is the more conservative of the two.
// - A pod that vanished from the listing gets an empty status (keeping its name/namespace) stored
//   at the relist time instead of cache.Delete: a waiter sees it is gone at once; upstream gets the
//   same empty status from the global timestamp.
// - Events go to callbacks (watch), called synchronously after the whole relist has updated the
//   cache (upstream: a channel of capacity 1000, filled pod by pod). There is no buffer to overflow:
//   kubelet_pleg_discard_events counts events a watcher threw on (logged, then dropped).
// - Like upstream, ContainerChanged (a container in created/unknown state) is generated and makes
//   the pod's status be re-read, but is not emitted. PodSync is never generated here.
// - Relist duration/interval are measured on the injected Clock (upstream: wall time).
// - No watch conditions (ConditionMet) or Update(relistDuration).
// - A record for a pod that vanished without containers is dropped (upstream keeps it forever).
//
// Container events (in the place of upstream's EventedPLEG, pkg/kubelet/pleg/evented.go): given a
// runtime with watchContainerEvents, the PLEG subscribes on start and relists soon after an event
// instead of up to a period later. Upstream's EventedPLEG puts the statuses carried by CRI events
// straight into the cache and relists only every 300 s; here an event is only a wake-up call and
// the relist stays the single source of truth, at its usual period:
// - Events are coalesced: one relist eventRelistWindowMs (50 ms) after the first event not yet
//   relisted for, and never concurrent with a running relist (relists are serialized).
// - containerd 1.6's events come before its CRI status changes (an exit shows in ListContainers
//   100-250 ms after /tasks/exit), so each event is an expectation (started: not created any more;
//   stopped: exited or gone; deleted: gone): while a listing contradicts one, the PLEG relists
//   again every window, for at most one relist period; after that the periodic relist has it.
// - A stream that ends is watched again after a backoff (0.5 s doubling to 10 s, on the Clock),
//   with a relist once it is back (events in between are lost). A runtime without events
//   (UnimplementedError) is relisted only, as before, with one warning.
// - Metrics: upstream's kubelet_evented_pleg_connection_{success,error}_count and
//   kubelet_evented_pleg_connection_latency_seconds (an event's age on arrival, from its
//   created_at), plus nodelet's kubelet_pleg_event_relists_total (relists an event asked for).

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock, Timer } from '../../util/clock.js';
import { formatDuration } from '../../util/duration.js';
import type { Logger } from '../../util/logger.js';
import type { ContainerEvent, ContainerEventType, ContainerEventWatch, RuntimeService } from '../../runtime/types.js';
import { UnimplementedError } from '../../runtime/errors.js';
import { defaultBuckets, getOrCreate } from '../../util/metrics.js';
import type { PodStatusProvider } from '../container/runtime.js';
import type { RuntimeContainerState, RuntimePod, RuntimePodStatus } from '../container/types.js';
import { emptyPodStatus, type PodStatusCache } from './cache.js';
import type { PlegHealth, PodLifecycleEvent, PodLifecycleEventGenerator } from './types.js';

/** Upstream's plegContainerState: kubecontainer.State plus "non-existent". */
export type PlegContainerState = 'running' | 'exited' | 'unknown' | 'non-existent';

/** Upstream's convertState: "created" is not used by the kubelet, so it reads as unknown. */
export function convertState(state: RuntimeContainerState): PlegContainerState {
  switch (state) {
    case 'running':
      return 'running';
    case 'exited':
      return 'exited';
    case 'created':
    case 'unknown':
      return 'unknown';
  }
}

/** Upstream's generateEvents: the events one container's state transition produces. */
export function generateEvents(podUid: string, cid: string, oldState: PlegContainerState, newState: PlegContainerState): PodLifecycleEvent[] {
  if (oldState === newState) return [];
  switch (newState) {
    case 'running':
      return [{ podUid, type: 'ContainerStarted', data: cid }];
    case 'exited':
      return [{ podUid, type: 'ContainerDied', data: cid }];
    case 'unknown':
      return [{ podUid, type: 'ContainerChanged', data: cid }];
    case 'non-existent':
      // An exited container already had its ContainerDied.
      if (oldState === 'exited') return [{ podUid, type: 'ContainerRemoved', data: cid }];
      return [
        { podUid, type: 'ContainerDied', data: cid },
        { podUid, type: 'ContainerRemoved', data: cid },
      ];
  }
}

/**
 * The PLEG state of every container and sandbox of a pod, in upstream's order (containers, then
 * sandboxes; a container wins over a sandbox with the same ID). Sandboxes count as containers:
 * ready is running, notready is exited (kubecontainer.SandboxToContainerState).
 */
function podStates(pod: RuntimePod | undefined): Map<string, PlegContainerState> {
  const m = new Map<string, PlegContainerState>();
  if (!pod) return m;
  for (const c of pod.containers) if (!m.has(c.id)) m.set(c.id, convertState(c.state));
  for (const s of pod.sandboxes) if (!m.has(s.id)) m.set(s.id, s.state === 'ready' ? 'running' : 'exited');
  return m;
}

/** Upstream's getContainersFromPods + computeEvents over one pod's old and current listing. */
export function computePodEvents(podUid: string, oldPod: RuntimePod | undefined, newPod: RuntimePod | undefined): PodLifecycleEvent[] {
  const oldStates = podStates(oldPod);
  const newStates = podStates(newPod);
  const ids = new Set([...oldStates.keys(), ...newStates.keys()]);
  const events: PodLifecycleEvent[] = [];
  for (const cid of ids) {
    events.push(...generateEvents(podUid, cid, oldStates.get(cid) ?? 'non-existent', newStates.get(cid) ?? 'non-existent'));
  }
  return events;
}

/** Where container events come from: the Runtime (its watchContainerEvents is optional). */
export type ContainerEventSource = Pick<RuntimeService, 'watchContainerEvents'>;

/**
 * Whether a listing state agrees with what an event said happened: a started container is no
 * longer merely created, a stopped one is exited or gone, a deleted one is gone. A container the
 * listing does not have (not the kubelet's, or gone already) never holds a relist up.
 */
export function eventSeen(type: ContainerEventType, state: PlegContainerState): boolean {
  switch (type) {
    case 'created':
      return true;
    case 'started':
      return state !== 'unknown';
    case 'stopped':
      return state === 'exited' || state === 'non-existent';
    case 'deleted':
      return state === 'non-existent';
  }
}

export interface GenericPLEGOptions {
  provider: PodStatusProvider;
  cache: PodStatusCache;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** Pause between the end of one relist and the start of the next (upstream: 1 s). */
  relistPeriodMs?: number;
  /** healthy() fails when the last successful relist started longer ago than this (upstream: 3 min). */
  relistThresholdMs?: number;
  /** Container events that wake the PLEG (pass the Runtime); without them it only relists periodically. */
  events?: ContainerEventSource;
  /** Events within this window share one relist, run at its end (default 50 ms). */
  eventRelistWindowMs?: number;
}

interface PodRecord {
  old?: RuntimePod;
  current?: RuntimePod;
}

interface PlegMetrics {
  relistDuration: Histogram;
  relistInterval: Histogram;
  lastSeen: Gauge;
  discardEvents: Counter;
  runningPods: Gauge;
  runningContainers: Gauge<'container_state'>;
  connSuccess: Counter;
  connError: Counter;
  connLatency: Histogram;
  eventRelists: Counter;
}

function plegMetrics(registry: Registry): PlegMetrics {
  const registers = [registry];
  return {
    relistDuration: getOrCreate(registry, 'kubelet_pleg_relist_duration_seconds', () =>
      new Histogram({ name: 'kubelet_pleg_relist_duration_seconds', help: 'Duration in seconds for relisting pods in PLEG.', buckets: defaultBuckets, registers }),
    ),
    relistInterval: getOrCreate(registry, 'kubelet_pleg_relist_interval_seconds', () =>
      new Histogram({ name: 'kubelet_pleg_relist_interval_seconds', help: 'Interval in seconds between relisting in PLEG.', buckets: defaultBuckets, registers }),
    ),
    lastSeen: getOrCreate(registry, 'kubelet_pleg_last_seen_seconds', () =>
      new Gauge({ name: 'kubelet_pleg_last_seen_seconds', help: 'Timestamp in seconds when PLEG was last seen active.', registers }),
    ),
    discardEvents: getOrCreate(registry, 'kubelet_pleg_discard_events', () =>
      new Counter({ name: 'kubelet_pleg_discard_events', help: 'The number of discard events in PLEG.', registers }),
    ),
    runningPods: getOrCreate(registry, 'kubelet_running_pods', () =>
      new Gauge({ name: 'kubelet_running_pods', help: 'Number of pods that have a running pod sandbox', registers }),
    ),
    runningContainers: getOrCreate(registry, 'kubelet_running_containers', () =>
      new Gauge({ name: 'kubelet_running_containers', help: 'Number of containers currently running', labelNames: ['container_state'] as const, registers }),
    ),
    connSuccess: getOrCreate(registry, 'kubelet_evented_pleg_connection_success_count', () =>
      new Counter({ name: 'kubelet_evented_pleg_connection_success_count', help: 'The number of times a streaming client was obtained to receive CRI Events.', registers }),
    ),
    connError: getOrCreate(registry, 'kubelet_evented_pleg_connection_error_count', () =>
      new Counter({ name: 'kubelet_evented_pleg_connection_error_count', help: 'The number of errors encountered during the establishment of streaming connection with the CRI runtime.', registers }),
    ),
    connLatency: getOrCreate(registry, 'kubelet_evented_pleg_connection_latency_seconds', () =>
      new Histogram({ name: 'kubelet_evented_pleg_connection_latency_seconds', help: 'The latency of streaming connection with the CRI runtime, measured in seconds.', buckets: defaultBuckets, registers }),
    ),
    eventRelists: getOrCreate(registry, 'kubelet_pleg_event_relists_total', () =>
      new Counter({ name: 'kubelet_pleg_event_relists_total', help: 'Relists run because a container event asked for one (nodelet).', registers }),
    ),
  };
}

const containerStates: RuntimeContainerState[] = ['created', 'running', 'exited', 'unknown'];
const resubscribeInitialMs = 500;
const resubscribeMaxMs = 10_000;

interface Expectation {
  type: ContainerEventType;
  /** When the event arrived: only a listing started later can confirm it. */
  since: number;
}

export class GenericPLEG implements PodLifecycleEventGenerator {
  private readonly provider: PodStatusProvider;
  private readonly cache: PodStatusCache;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: PlegMetrics;
  readonly relistPeriodMs: number;
  readonly relistThresholdMs: number;
  readonly eventRelistWindowMs: number;
  private readonly events: ContainerEventSource | undefined;

  private readonly records = new Map<string, PodRecord>();
  /** Pods whose status could not be read in the last relist: re-read in the next one. */
  private podsToReinspect = new Map<string, RuntimePod | undefined>();
  /** Start time of the last relist whose getPods succeeded. */
  private relistTime: number | undefined;
  private readonly watchers = new Set<(e: PodLifecycleEvent) => void>();

  /** Serializes relists: each one starts after the previous has finished. */
  private tail: Promise<void> = Promise.resolve();
  private running = false;
  /** Bumped by stop(), so a loop from an earlier start() never reschedules itself. */
  private generation = 0;
  private timer: Timer | undefined;

  // container events
  private eventWatch: ContainerEventWatch | undefined;
  private connected = false;
  /** Bumped for each watch and by stop(): callbacks of an older watch are ignored. */
  private watchToken = 0;
  private resubscribeTimer: Timer | undefined;
  private resubscribeDelayMs = resubscribeInitialMs;
  /** Failures since the last successful connection (only the first is a warning). */
  private watchFailures = 0;
  private eventRelistTimer: Timer | undefined;
  private readonly expectations = new Map<string, Expectation>();

  constructor(opts: GenericPLEGOptions) {
    this.provider = opts.provider;
    this.cache = opts.cache;
    this.clock = opts.clock;
    this.logger = opts.logger.child({ component: 'pleg' });
    this.metrics = plegMetrics(opts.registry);
    this.relistPeriodMs = opts.relistPeriodMs ?? 1000;
    this.relistThresholdMs = opts.relistThresholdMs ?? 3 * 60_000;
    this.eventRelistWindowMs = opts.eventRelistWindowMs ?? 50;
    this.events = opts.events;
  }

  /**
   * Relists now, then relistPeriodMs after each relist finishes (upstream's wait.Until: sliding,
   * so a slow relist delays the next one instead of overlapping it). Idempotent.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.generation;
    const loop = (): void => {
      this.timer = undefined;
      if (!this.running || gen !== this.generation) return;
      void this.relist().then(() => {
        if (this.running && gen === this.generation) this.timer = this.clock.setTimeout(loop, this.relistPeriodMs);
      });
    };
    loop();
    if (this.events?.watchContainerEvents) this.subscribe();
    else if (this.events) this.logger.warn('container events: the runtime streams none; relisting only', { relistPeriod: formatDuration(this.relistPeriodMs) });
  }

  /** Stops the periodic relist; resolves once a relist in flight (if any) has finished. */
  stop(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.generation++;
      this.timer?.stop();
      this.timer = undefined;
      this.watchToken++;
      this.eventWatch?.stop();
      this.eventWatch = undefined;
      this.connected = false;
      this.watchFailures = 0;
      this.resubscribeDelayMs = resubscribeInitialMs;
      this.resubscribeTimer?.stop();
      this.resubscribeTimer = undefined;
      this.eventRelistTimer?.stop();
      this.eventRelistTimer = undefined;
      this.expectations.clear();
    }
    return this.tail;
  }

  /** Whether a container event stream is up now (the relist then follows events). */
  eventsConnected(): boolean {
    return this.connected;
  }

  // ------------------------------------------------------------ container events

  private subscribe(): void {
    const watchFn = this.events?.watchContainerEvents;
    if (!this.running || !watchFn) return;
    const token = ++this.watchToken;
    const live = (): boolean => this.running && token === this.watchToken;
    this.connected = false;
    const watch = watchFn.call(this.events, {
      onReady: (source) => {
        if (!live()) return;
        this.connected = true;
        this.metrics.connSuccess.inc();
        const reconnected = this.watchFailures > 0;
        this.watchFailures = 0;
        this.resubscribeDelayMs = resubscribeInitialMs;
        this.logger.info(
          source === 'containerd' ? 'container events from containerd: relist on event' : 'container events from the CRI runtime: relist on event',
          { source, window: formatDuration(this.eventRelistWindowMs), ...(reconnected ? { reconnected } : {}) },
        );
        // whatever happened while no stream was up went unseen
        if (reconnected) this.scheduleEventRelist();
      },
      onEvent: (e) => {
        if (live()) this.onContainerEvent(e);
      },
      onError: (err) => {
        if (!live()) return;
        this.watchToken++;
        this.eventWatch = undefined;
        this.connected = false;
        this.metrics.connError.inc();
        if (err instanceof UnimplementedError) {
          this.logger.warn('container events unavailable; relisting only', { reason: err.message, relistPeriod: formatDuration(this.relistPeriodMs) });
          return;
        }
        const delay = this.resubscribeDelayMs;
        this.resubscribeDelayMs = Math.min(delay * 2, resubscribeMaxMs);
        const fields = { reason: err.message, retryIn: formatDuration(delay), relistPeriod: formatDuration(this.relistPeriodMs) };
        if (this.watchFailures++ === 0) this.logger.warn('container event stream failed; relisting only until it is back', fields);
        else this.logger.debug('container event stream still failing', fields);
        this.resubscribeTimer = this.clock.setTimeout(() => {
          this.resubscribeTimer = undefined;
          this.subscribe();
        }, delay);
      },
    });
    // onError may already have run (a watch that fails at once)
    if (live()) this.eventWatch = watch;
    else watch.stop();
  }

  private onContainerEvent(e: ContainerEvent): void {
    if (e.createdAt > 0) this.metrics.connLatency.observe(Math.max(0, this.clock.now() - e.createdAt / 1e6) / 1000);
    this.logger.debug('PLEG: container event', { containerId: e.containerId, type: e.type });
    // a created container is not a state the PLEG reports (ContainerChanged is not emitted)
    if (e.type === 'created') return;
    this.expectations.set(e.containerId, { type: e.type, since: this.clock.now() });
    this.scheduleEventRelist();
  }

  /** One relist at the end of the coalescing window, unless one is already due. */
  private scheduleEventRelist(): void {
    if (!this.running || this.eventRelistTimer) return;
    this.eventRelistTimer = this.clock.setTimeout(() => {
      this.eventRelistTimer = undefined;
      if (!this.running) return;
      this.metrics.eventRelists.inc();
      void this.relist();
    }, this.eventRelistWindowMs);
  }

  /**
   * After a listing started at `timestamp`: drops the expectations it confirms (or that waited a
   * whole relist period), and asks for another relist while some remain.
   */
  private checkExpectations(pods: RuntimePod[], timestamp: number): void {
    if (this.expectations.size === 0) return;
    const states = new Map<string, PlegContainerState>();
    for (const p of pods) for (const [id, st] of podStates(p)) if (!states.has(id)) states.set(id, st);
    for (const [id, x] of this.expectations) {
      if (x.since >= timestamp) continue; // arrived after this listing was taken (or maybe did)
      if (eventSeen(x.type, states.get(id) ?? 'non-existent') || timestamp - x.since >= this.relistPeriodMs) this.expectations.delete(id);
    }
    if (this.expectations.size) this.scheduleEventRelist();
  }

  /** Subscribes to events; returns the function that unsubscribes. */
  watch(cb: (e: PodLifecycleEvent) => void): () => void {
    this.watchers.add(cb);
    return () => {
      this.watchers.delete(cb);
    };
  }

  /** Upstream's Healthy: fails before the first successful relist and when the last is too old. */
  healthy(): PlegHealth {
    const relistTime = this.relistTime;
    if (relistTime === undefined) return { ok: false, message: 'pleg has yet to be successful' };
    this.metrics.lastSeen.set(Math.floor(relistTime / 1000));
    const elapsed = this.clock.now() - relistTime;
    if (elapsed > this.relistThresholdMs) {
      return {
        ok: false,
        message: `pleg was last seen active ${formatDuration(elapsed)} ago; threshold is ${formatDuration(this.relistThresholdMs)}`,
      };
    }
    return { ok: true, message: '' };
  }

  /** Start time (ms) of the last relist whose listing succeeded, if any. */
  lastRelistTime(): number | undefined {
    return this.relistTime;
  }

  /** One relist; waits for a relist in flight to finish first. Never rejects (errors are logged). */
  relist(): Promise<void> {
    const run = this.tail.then(() => this.doRelist());
    this.tail = run;
    return run;
  }

  private async doRelist(): Promise<void> {
    try {
      await this.relistOnce();
    } catch (err) {
      // Only a bug or a misbehaving cache/provider gets here; the next relist starts afresh.
      this.logger.error('GenericPLEG: relist failed', { err });
    }
  }

  private async relistOnce(): Promise<void> {
    this.logger.debug('GenericPLEG: Relisting');
    if (this.relistTime !== undefined) this.metrics.relistInterval.observe((this.clock.now() - this.relistTime) / 1000);
    const timestamp = this.clock.now();
    try {
      let pods: RuntimePod[];
      try {
        pods = await this.provider.getPods(true);
      } catch (err) {
        this.logger.error('GenericPLEG: Unable to retrieve pods', { err });
        return;
      }
      this.relistTime = timestamp;
      this.metrics.lastSeen.set(Math.floor(timestamp / 1000));
      this.updateRunningMetrics(pods);
      this.setCurrent(pods);
      this.checkExpectations(pods, timestamp);

      const needsReinspection = new Map<string, RuntimePod | undefined>();
      const toEmit: PodLifecycleEvent[] = [];
      for (const [uid, rec] of [...this.records]) {
        const events = computePodEvents(uid, rec.old, rec.current);
        const reinspect = this.podsToReinspect.has(uid);
        if (events.length === 0 && !reinspect) {
          if (!rec.current) this.records.delete(uid);
          continue;
        }
        let status: RuntimePodStatus | undefined;
        try {
          status = await this.updateCache(uid, rec, timestamp);
        } catch (err) {
          this.logger.debug('PLEG: Ignoring events for pod', { podUid: uid, pod: podRef(rec.current), err });
          needsReinspection.set(uid, rec.current);
          continue;
        }
        // The pod's status is cached: its record moves on, and its events go out.
        if (rec.current) {
          rec.old = rec.current;
          rec.current = undefined;
        } else {
          this.records.delete(uid);
        }
        for (const e of events) {
          // Not reliable, and nothing uses it yet (as upstream).
          if (e.type === 'ContainerChanged') continue;
          toEmit.push(e);
          if (e.type === 'ContainerDied' && status) {
            const cs = status.containerStatuses.find((c) => c.id === e.data);
            if (cs) this.logger.info('Generic (PLEG): container finished', { podUid: uid, containerId: e.data, exitCode: cs.exitCode });
          }
        }
      }
      // Only after every changed pod is in the cache.
      this.cache.updateTime(timestamp);
      this.podsToReinspect = needsReinspection;
      this.emit(toEmit);
    } finally {
      this.metrics.relistDuration.observe((this.clock.now() - timestamp) / 1000);
    }
  }

  /**
   * Reads the pod's status into the cache at the relist's timestamp. A pod gone from the listing
   * gets an empty status. On error the error is cached too (as upstream) and rethrown.
   */
  private async updateCache(uid: string, rec: PodRecord, timestamp: number): Promise<RuntimePodStatus | undefined> {
    const pod = rec.current;
    if (!pod) {
      this.logger.debug('PLEG: pod gone from the runtime; caching an empty status', { podUid: uid });
      this.cache.set(uid, emptyPodStatus(uid, timestamp, rec.old?.name ?? '', rec.old?.namespace ?? ''), timestamp);
      return undefined;
    }
    let status: RuntimePodStatus;
    try {
      status = await this.provider.getPodStatus(pod.uid, pod.name, pod.namespace, pod);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.logger.error('PLEG: Write status', { pod: podRef(pod), podUid: uid, err });
      this.cache.set(uid, err, timestamp);
      throw err;
    }
    this.logger.debug('PLEG: Write status', { pod: podRef(pod), podUid: uid });
    status = { ...status, ips: this.podIPs(uid, status) };
    this.cache.set(uid, status, timestamp);
    return status;
  }

  /**
   * Upstream's getPodIPs: keeps the previously cached IPs when the new status has none and no
   * sandbox is ready (a torn-down pod keeps reporting its IP).
   */
  private podIPs(uid: string, status: RuntimePodStatus): string[] {
    if (status.ips.length) return status.ips;
    let old: RuntimePodStatus;
    try {
      old = this.cache.get(uid);
    } catch {
      return [];
    }
    if (!old.ips.length) return [];
    if (status.sandboxStatuses.some((s) => s.state === 'ready')) return status.ips;
    return old.ips;
  }

  private setCurrent(pods: RuntimePod[]): void {
    for (const r of this.records.values()) r.current = undefined;
    for (const p of pods) {
      const r = this.records.get(p.uid);
      if (r) r.current = p;
      else this.records.set(p.uid, { current: p });
    }
  }

  private updateRunningMetrics(pods: RuntimePod[]): void {
    const counts = new Map<RuntimeContainerState, number>(containerStates.map((s) => [s, 0]));
    let runningSandboxes = 0;
    for (const p of pods) {
      for (const c of p.containers) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
      if (p.sandboxes.some((s) => s.state === 'ready')) runningSandboxes++;
    }
    for (const [state, n] of counts) this.metrics.runningContainers.set({ container_state: state }, n);
    this.metrics.runningPods.set(runningSandboxes);
  }

  private emit(events: PodLifecycleEvent[]): void {
    for (const e of events) {
      for (const cb of [...this.watchers]) {
        try {
          cb(e);
        } catch (err) {
          this.metrics.discardEvents.inc();
          this.logger.error('PLEG: a watcher failed on an event; event discarded for it', { podUid: e.podUid, type: e.type, data: e.data, err });
        }
      }
    }
  }
}

function podRef(pod: RuntimePod | undefined): string {
  return pod ? `${pod.namespace}/${pod.name}` : '';
}
