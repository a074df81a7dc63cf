// The eviction manager's control loop, node side (models pkg/kubelet/eviction/eviction_manager.go:
// managerImpl.Start/synchronize/reclaimNodeLevelResources/Admit/IsUnder*Pressure, and
// helpers.go buildSignalToNodeReclaimFuncs, getReclaimableThreshold).
//
// Every evictionMonitoringPeriod (10 s) a pass observes the signals, works out the thresholds met
// (those met earlier stay met until their minimum reclaim is recovered), the node conditions (with
// the pressure transition period's hysteresis), and, for the thresholds met past their grace period
// whose figures are new, records EvictionThresholdMet "Attempting to reclaim <resource>" on the
// Node and tries node-level reclaim: with no dedicated imagefs, nodefs and imagefs pressure delete
// all unused containers then unused images; with a dedicated imagefs only imagefs pressure does
// (nodefs pressure has nothing to reclaim at node level). Then it observes again to see whether the
// thresholds (plus minimum reclaim) are now clear. admit() applies the conditions to new pods.
//
// Not here (a later issue): evicting running pods when node-level reclaim is not enough (ranking,
// killing with the Evicted status, kubelet_evictions), local ephemeral-storage limit eviction, and
// memcg threshold notifiers. When reclaim falls short this pass logs that pods would have to be
// evicted and leaves running pods alone.
//
// Differences: passes run on the Clock (the next one is scheduled after the previous ends, as
// upstream sleeps between passes); start() resolves once the first pass is done so the kubelet can
// admit its first pods with real conditions; optional NodeHas* condition events stand in for the
// node status setters until nodelet has node status.

import type { V1Pod } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';
import { errorMessage, ValidationError } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { nopRecorder, type EventRecorder, type ObjectRef } from '../events/index.js';
import { admitPod, isCriticalPod, type PodAdmitResult } from './admission.js';
import {
  conditionEventReason,
  mergeThresholds,
  nodeConditions,
  nodeConditionsLastObservedAt,
  nodeConditionsObservedSince,
  pressureConditions,
  sortByEvictionPriority,
  thresholdsFirstObservedAt,
  thresholdsMet,
  thresholdsMetGracePeriod,
  thresholdsUpdatedStats,
  unobservedSignals,
  type NodeConditionsObservedAt,
  type PressureCondition,
  type ThresholdsObservedAt,
} from './conditions.js';
import { SignalObserver, type HostReaders, type ImageFsInfoProvider, type ObservationResult, type SignalObservations } from './observations.js';
import { effectiveThresholds, formatThreshold, parseThresholdConfig, signalToResource, type NodeConditionType, type Signal, type Threshold } from './thresholds.js';

/** The kubelet's evictionMonitoringPeriod. */
export const evictionMonitoringPeriodMs = 10_000;

/** Node-level reclaim (upstream ImageGC.DeleteUnusedImages and ContainerGC.DeleteAllUnusedContainers). */
export interface NodeReclaimer {
  deleteAllUnusedContainers(): Promise<void>;
  /** Deletes every unused image it may; returns the bytes freed. */
  deleteUnusedImages(): Promise<number>;
}

export interface Observer {
  observe(): Promise<ObservationResult>;
}

export type ReclaimStep = 'containers' | 'images';

/** buildSignalToNodeReclaimFuncs without a split container filesystem. */
export function nodeReclaimSteps(signal: Signal, dedicatedImageFs: boolean): ReclaimStep[] {
  const both: ReclaimStep[] = ['containers', 'images'];
  switch (signal) {
    case 'nodefs.available':
    case 'nodefs.inodesFree':
      return dedicatedImageFs ? [] : both;
    case 'imagefs.available':
    case 'imagefs.inodesFree':
      return both;
    default:
      return [];
  }
}

export interface EvictionManagerOptions {
  clock: Clock;
  logger?: Logger;
  recorder?: EventRecorder;
  nodeName: string;
  /** Parsed thresholds (parseThresholdConfig); containerfs/allocatable ones are dropped with a log line. */
  thresholds: Threshold[];
  /** evictionPressureTransitionPeriod (upstream default 5m). */
  pressureTransitionPeriodMs: number;
  monitoringPeriodMs?: number;
  observer: Observer;
  reclaimer?: NodeReclaimer;
  /** Which pods are admitted whatever the pressure (default: upstream's isCriticalPod). */
  isCritical?: (pod: V1Pod) => boolean;
  /** Record NodeHasDiskPressure / NodeHasNoDiskPressure & co. on the Node when a condition changes. */
  recordNodeConditionEvents?: boolean;
}

export class EvictionManager {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recorder: EventRecorder;
  private readonly nodeRef: ObjectRef;
  private readonly thresholds: Threshold[];
  private readonly period: number;
  private readonly isCritical: (pod: V1Pod) => boolean;

  private current: NodeConditionType[] = [];
  private reported: NodeConditionType[] | undefined;
  private conditionsLastObservedAt: NodeConditionsObservedAt = new Map();
  private firstObservedAt: ThresholdsObservedAt = new Map();
  private met: Threshold[] = [];
  private lastObservations: SignalObservations = {};
  private readonly reportedUnobserved = new Set<Signal>();

  private running = false;
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private firstPass: Promise<void> | undefined;

  constructor(private readonly opts: EvictionManagerOptions) {
    this.clock = opts.clock;
    this.log = opts.logger ?? nopLogger;
    this.recorder = opts.recorder ?? nopRecorder;
    this.nodeRef = { kind: 'Node', name: opts.nodeName, uid: opts.nodeName };
    this.period = opts.monitoringPeriodMs ?? evictionMonitoringPeriodMs;
    this.isCritical = opts.isCritical ?? isCriticalPod;
    const eff = effectiveThresholds(opts.thresholds);
    for (const n of eff.notices) this.log.info(n, {});
    this.thresholds = eff.thresholds;
  }

  /** The thresholds evaluated. */
  activeThresholds(): readonly Threshold[] {
    return this.thresholds;
  }

  /**
   * Starts the monitoring loop: a pass now, then one every monitoring period after the previous
   * ends. Resolves when the first pass is done (it never rejects).
   */
  start(): Promise<void> {
    if (this.running) return this.firstPass ?? Promise.resolve();
    this.running = true;
    const loop = async (): Promise<void> => {
      await this.synchronize();
      if (this.running) this.timer = this.clock.setTimeout(() => void loop(), this.period);
    };
    this.firstPass = loop();
    return this.firstPass;
  }

  stop(): void {
    this.running = false;
    this.timer?.stop();
    this.timer = undefined;
  }

  /** One pass; concurrent callers share the pass under way. Never rejects. */
  synchronize(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.pass()
        .catch((e: unknown) => this.log.error('Eviction manager: failed to synchronize', { err: errorMessage(e) }))
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    return this.inFlight;
  }

  private async pass(): Promise<void> {
    if (this.thresholds.length === 0) return;
    let result: ObservationResult;
    try {
      result = await this.opts.observer.observe();
    } catch (e) {
      this.log.error('Eviction manager: failed to get summary stats', { err: errorMessage(e) });
      return;
    }
    const { observations, dedicatedImageFs } = result;
    this.logUnobserved(observations);

    let thresholds = thresholdsMet(this.thresholds, observations, false);
    if (this.met.length > 0) thresholds = mergeThresholds(thresholds, thresholdsMet(this.met, observations, true));

    const now = this.clock.now();
    const firstObservedAt = thresholdsFirstObservedAt(thresholds, this.firstObservedAt, now);
    const lastObservedAt = nodeConditionsLastObservedAt(nodeConditions(thresholds), this.conditionsLastObservedAt, now);
    const conditions = nodeConditionsObservedSince(lastObservedAt, this.opts.pressureTransitionPeriodMs, now);
    const met = thresholdsMetGracePeriod(firstObservedAt, now);

    this.current = conditions;
    this.firstObservedAt = firstObservedAt;
    this.conditionsLastObservedAt = lastObservedAt;
    this.met = met;
    const updated = thresholdsUpdatedStats(met, observations, this.lastObservations);
    this.lastObservations = observations;
    this.reportConditions(conditions);

    if (updated.length === 0) return;
    const toReclaim = sortByEvictionPriority(updated)[0]!;
    const resource = signalToResource[toReclaim.signal];
    const obs = observations[toReclaim.signal];
    this.log.info('Eviction manager: attempting to reclaim', { resourceName: resource, threshold: formatThreshold(toReclaim), available: obs?.available, capacity: obs?.capacity });
    this.recorder.event(this.nodeRef, 'Warning', 'EvictionThresholdMet', `Attempting to reclaim ${resource}`);

    if (await this.reclaimNodeLevelResources(toReclaim.signal, resource, dedicatedImageFs)) {
      this.log.info('Eviction manager: able to reduce resource pressure without evicting pods.', { resourceName: resource });
      return;
    }
    this.log.info('Eviction manager: must evict pod(s) to reclaim; pod eviction is not implemented, running pods are left alone', { resourceName: resource });
  }

  /** True when node-level reclaim cleared every threshold (with minimum reclaim). */
  private async reclaimNodeLevelResources(signal: Signal, resource: string, dedicatedImageFs: boolean): Promise<boolean> {
    const steps = this.opts.reclaimer ? nodeReclaimSteps(signal, dedicatedImageFs) : [];
    if (steps.length === 0) return false;
    const reclaimer = this.opts.reclaimer!;
    for (const step of steps) {
      try {
        if (step === 'containers') {
          await reclaimer.deleteAllUnusedContainers();
        } else {
          const freed = await reclaimer.deleteUnusedImages();
          this.log.info('Eviction manager: deleted unused images', { bytesFreed: freed });
        }
      } catch (e) {
        this.log.info('Eviction manager: unexpected error when attempting to reduce resource pressure', { resourceName: resource, err: errorMessage(e) });
      }
    }
    let after: ObservationResult;
    try {
      after = await this.opts.observer.observe();
    } catch (e) {
      this.log.error('Eviction manager: failed to get summary stats after resource reclaim', { err: errorMessage(e) });
      return false;
    }
    return thresholdsMet(this.thresholds, after.observations, true).length === 0;
  }

  private logUnobserved(observations: SignalObservations): void {
    for (const s of unobservedSignals(this.thresholds, observations)) {
      if (this.reportedUnobserved.has(s)) continue;
      this.reportedUnobserved.add(s);
      this.log.warn('Eviction manager: no observation found for eviction signal', { signal: s });
    }
  }

  private reportConditions(conditions: NodeConditionType[]): void {
    const prev = this.reported;
    if (prev && prev.length === conditions.length && prev.every((c, i) => c === conditions[i])) return;
    this.reported = conditions;
    this.log.info('Eviction manager: node conditions', { nodeConditions: conditions });
    if (!this.opts.recordNodeConditionEvents) return;
    for (const c of pressureConditions(conditions)) {
      const on = c.status === 'True';
      const was = prev?.includes(c.type);
      if (prev !== undefined && was === on) continue;
      const reason = on ? conditionEventReason[c.type].true : conditionEventReason[c.type].false;
      this.recorder.event(this.nodeRef, 'Normal', reason, `Node ${this.opts.nodeName} status is now: ${reason}`);
    }
  }

  /** Admission of a new pod under the current conditions (upstream Admit). */
  admit(pod: V1Pod): PodAdmitResult {
    const r = admitPod(pod, this.current, this.isCritical);
    if (!r.admit) {
      this.log.info('Failed to admit pod to node', { pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, nodeCondition: this.current });
    }
    return r;
  }

  /** The pressure conditions now present. */
  pressure(): NodeConditionType[] {
    return [...this.current];
  }

  isUnderMemoryPressure(): boolean {
    return this.current.includes('MemoryPressure');
  }

  isUnderDiskPressure(): boolean {
    return this.current.includes('DiskPressure');
  }

  isUnderPIDPressure(): boolean {
    return this.current.includes('PIDPressure');
  }

  /** MemoryPressure, DiskPressure and PIDPressure as node status reports them. */
  conditions(): PressureCondition[] {
    return pressureConditions(this.current);
  }
}

export interface EvictionSettings {
  evictionHard?: Record<string, string>;
  evictionSoft?: Record<string, string>;
  evictionSoftGracePeriod?: Record<string, string>;
  evictionMinimumReclaim?: Record<string, string>;
  /** A Go duration ("5m0s"). */
  evictionPressureTransitionPeriod: string;
}

export interface NewEvictionManagerOptions {
  config: EvictionSettings;
  rootDir: string;
  runtime: ImageFsInfoProvider;
  clock: Clock;
  nodeName: string;
  logger?: Logger;
  recorder?: EventRecorder;
  reclaimer?: NodeReclaimer;
  isCritical?: (pod: V1Pod) => boolean;
  recordNodeConditionEvents?: boolean;
  readers?: HostReaders;
  monitoringPeriodMs?: number;
}

/** Builds the manager from the kubelet configuration; throws ValidationError on bad settings. */
export function newEvictionManager(o: NewEvictionManagerOptions): EvictionManager {
  const parsed = parseThresholdConfig(o.config);
  let transition: number;
  try {
    transition = parseDuration(o.config.evictionPressureTransitionPeriod);
  } catch (e) {
    throw new ValidationError('KubeletConfiguration', 'evictionPressureTransitionPeriod', errorMessage(e));
  }
  const logger = o.logger ?? nopLogger;
  const { thresholds } = effectiveThresholds(parsed);
  const observer = new SignalObserver({ rootDir: o.rootDir, runtime: o.runtime, clock: o.clock, logger, signals: thresholds.map((t) => t.signal), readers: o.readers });
  return new EvictionManager({
    clock: o.clock,
    logger,
    recorder: o.recorder,
    nodeName: o.nodeName,
    thresholds: parsed,
    pressureTransitionPeriodMs: transition,
    monitoringPeriodMs: o.monitoringPeriodMs,
    observer,
    reclaimer: o.reclaimer,
    isCritical: o.isCritical,
    recordNodeConditionEvents: o.recordNodeConditionEvents,
  });
}
