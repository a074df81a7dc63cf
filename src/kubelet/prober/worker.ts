// One probe worker per (pod UID, container name, probe type) (models pkg/kubelet/prober/worker.go).
//
// - Timing: the first run waits a random part of the period when the manager started less than a
//   period ago (a restarted kubelet does not probe everything at once), then one run per period
//   (periodSeconds, default 10) on a Clock interval; a tick that comes while a probe is still
//   running is kept and runs right after it (Go's ticker channel holds one tick). A manual trigger
//   (a readiness result asked for before the worker saw the container) runs at once and restarts
//   the period.
// - Each run: no container yet -> wait; a new container ID -> the old ID's result is removed, the
//   new one gets the initial result (readiness Failure, liveness Success, startup Unknown) and
//   probing resumes; on hold (after a liveness Failure or a startup verdict) -> nothing until the
//   container ID changes; not running -> readiness Failure, and the worker ends when the container
//   exited in a restartPolicy Never pod; pod being deleted -> liveness/startup publish Success and
//   end; before initialDelaySeconds since the container's start -> nothing; liveness and
//   readiness wait for the startup probe to succeed (when there is one), startup stops once it
//   has; then the probe runs, the metrics count it, and a result is published once it has been
//   seen failureThreshold (3) / successThreshold (1) times in a row.
//
// Differences from upstream:
// - The container's state comes from getContainer (the runtime status the kubelet caches)
//   instead of the status manager's API status; "started" is read from the startup results
//   directly, so liveness/readiness begin at the first run after the startup success instead of
//   after the kubelet has written the started status.
// - A new container ID also resets the success/failure run counters (upstream keeps them across
//   containers, so a restarted container could be published Ready on its first success whatever
//   successThreshold says).
// - A container that is not running gets a readiness Failure only: upstream also publishes
//   Failure for liveness/startup, which would make a created container that then starts (same
//   ID) look failed to the kubelet until the next probe.
// - The worker adopts its container when it starts (not only at its first run), so the initial
//   result, and the result seeded from the previous kubelet's status (previousReadiness), is there
//   before the jittered first probe: a kubelet restart does not flip a ready container.
// - Probe runs that errored count as result "unknown" in prober_probe_total (upstream drops them).

import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { probeResultLabel, type ProberMetrics } from './metrics.js';
import { probeSpec, probeTypeName, type ProbeOutcome, type ProbeTarget, type ProbeType } from './prober.js';
import type { ProbeResult, ResultsManager } from './results.js';

/** What a worker needs to know about its container (from the kubelet's runtime status cache). */
export interface ContainerInfo {
  /** CRI container ID ('' when there is none yet). */
  id: string;
  running: boolean;
  /** When the container started, ms since the epoch (0 if it never did). */
  startedAt: number;
}

/** What the manager gives its workers. */
export interface WorkerContext {
  clock: Clock;
  rand: () => number;
  logger: Logger;
  metrics: ProberMetrics;
  /** When the manager started (ms): workers created within a period of it start with jitter. */
  managerStart(): number;
  results(probeType: ProbeType): ResultsManager;
  probe(probeType: ProbeType, target: ProbeTarget): Promise<ProbeOutcome>;
  getContainer(podUid: string, containerName: string): ContainerInfo | undefined;
  podIP(pod: V1Pod): string;
  /** Has the container passed its startup probe (true when it has none)? */
  isStarted(container: V1Container, containerId: string): boolean;
  /** A result to start a container with instead of the initial one (kubelet restart). */
  seed(probeType: ProbeType, podUid: string, containerName: string, containerId: string): ProbeResult | undefined;
  /** A worker adopted a container ID / dropped one. */
  containerAdopted(containerId: string, containerName: string): void;
  containerDropped(containerId: string): void;
  /** The worker has ended (by itself or stopped): the manager forgets it. */
  workerDone(w: ProbeWorker): void;
}

const defaultPeriodSeconds = 10;
const defaultSuccessThreshold = 1;
const defaultFailureThreshold = 3;

const initialValues: Record<ProbeType, ProbeResult> = { readiness: 'Failure', liveness: 'Success', startup: 'Unknown' };

export class ProbeWorker {
  readonly podUid: string;
  readonly containerName: string;
  readonly spec: V1Probe;
  private pod: V1Pod;
  /** The container ID the worker probes ('' until it sees one). */
  containerId = '';
  private everAdopted = false;
  private lastResult: ProbeResult = 'Unknown';
  private resultRun = 0;
  private onHold = false;
  private started = false;
  private stopped = false;
  private looping = false;
  private running = false;
  private pendingTick = false;
  private pendingTrigger = false;
  private jitterTimer: Timer | undefined;
  private ticker: Timer | undefined;
  private readonly periodMs: number;
  private readonly results: ResultsManager;
  private readonly log: Logger;

  constructor(
    private readonly ctx: WorkerContext,
    readonly probeType: ProbeType,
    pod: V1Pod,
    readonly container: V1Container,
  ) {
    this.pod = pod;
    this.podUid = pod.metadata?.uid ?? '';
    this.containerName = container.name;
    this.spec = probeSpec(container, probeType) ?? {};
    this.periodMs = positive(this.spec.periodSeconds, defaultPeriodSeconds) * 1000;
    this.results = ctx.results(probeType);
    this.log = ctx.logger.child({ probeType: probeTypeName[probeType], pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, containerName: container.name });
  }

  /** The newest pod object (a deletion timestamp makes liveness/startup end quietly). */
  updatePod(pod: V1Pod): void {
    this.pod = pod;
  }

  /** Starts probing (upstream run()). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.adoptCurrent();
    const { clock } = this.ctx;
    if (this.periodMs > clock.now() - this.ctx.managerStart()) {
      this.jitterTimer = clock.setTimeout(() => this.beginLoop(), Math.floor(this.ctx.rand() * this.periodMs));
    } else {
      this.beginLoop();
    }
  }

  /** Stops the worker and drops its result; a probe in flight is thrown away. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.jitterTimer?.stop();
    this.ticker?.stop();
    if (this.containerId) {
      this.results.remove(this.containerId);
      this.ctx.containerDropped(this.containerId);
    }
    const base = this.baseLabels();
    for (const result of Object.values(probeResultLabel)) this.ctx.metrics.probeTotal.remove(this.totalLabels(result));
    this.ctx.metrics.probeDuration.remove(base);
    this.ctx.workerDone(this);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Runs a probe now (upstream's manualTriggerCh): at once, or right after the current run. */
  trigger(): void {
    if (this.stopped) return;
    if (!this.looping || this.running) {
      this.pendingTrigger = true;
      return;
    }
    this.restartTicker();
    void this.runOnce();
  }

  private beginLoop(): void {
    if (this.stopped) return;
    this.looping = true;
    this.restartTicker();
    void this.runOnce();
  }

  private restartTicker(): void {
    this.ticker?.stop();
    this.ticker = this.ctx.clock.setInterval(() => void this.runOnce(), this.periodMs);
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.pendingTick = true;
      return;
    }
    this.running = true;
    let keepGoing = true;
    try {
      keepGoing = await this.doProbe();
    } catch (e) {
      this.log.error('probe worker failed', { err: errorMessage(e) });
    }
    this.running = false;
    if (this.stopped) return;
    if (!keepGoing) {
      this.stop();
      return;
    }
    if (this.pendingTrigger) {
      this.pendingTrigger = false;
      this.pendingTick = false;
      this.restartTicker();
      void this.runOnce();
    } else if (this.pendingTick) {
      this.pendingTick = false;
      void this.runOnce();
    }
  }

  /** Takes the container the kubelet knows now, if it has a new ID. */
  private adoptCurrent(): ContainerInfo | undefined {
    const c = this.ctx.getContainer(this.podUid, this.containerName);
    if (!c || !c.id) return undefined;
    if (c.id !== this.containerId) {
      if (this.containerId) {
        this.results.remove(this.containerId);
        this.ctx.containerDropped(this.containerId);
      }
      this.containerId = c.id;
      this.ctx.containerAdopted(c.id, this.containerName);
      // the first container a worker sees may carry the previous kubelet's verdict
      const seeded = this.everAdopted ? undefined : this.ctx.seed(this.probeType, this.podUid, this.containerName, c.id);
      this.everAdopted = true;
      // a new container: the counters start again, and probing resumes
      this.lastResult = seeded ?? 'Unknown';
      this.resultRun = seeded ? 1 : 0;
      this.onHold = false;
      this.results.set(c.id, seeded ?? initialValues[this.probeType], this.pod);
    }
    return c;
  }

  /** One run; returns whether the worker should keep going (upstream doProbe). */
  async doProbe(): Promise<boolean> {
    const { clock } = this.ctx;
    const startTime = clock.now();
    const c = this.adoptCurrent();
    if (!c) return true; // not created yet, or gone: wait for more information
    if (this.onHold) return true;

    if (!c.running) {
      if (this.probeType === 'readiness') this.results.set(c.id, 'Failure', this.pod);
      // a container that exited in a pod that never restarts will not come back
      const exited = c.startedAt > 0;
      return !(exited && this.pod.spec?.restartPolicy === 'Never');
    }

    if (this.pod.metadata?.deletionTimestamp && (this.probeType === 'liveness' || this.probeType === 'startup')) {
      if (this.probeType === 'startup') this.log.info('Pod deletion requested before container has fully started');
      this.results.set(c.id, 'Success', this.pod);
      return false;
    }

    const initialDelay = this.spec.initialDelaySeconds ?? 0;
    if (Math.trunc((clock.now() - c.startedAt) / 1000) < initialDelay) return true;

    if (this.ctx.isStarted(this.container, c.id)) {
      if (this.probeType === 'startup') return true; // started: the startup probe has done its job
    } else if (this.probeType !== 'startup') {
      return true; // liveness and readiness wait for the startup probe
    }

    const outcome = await this.ctx.probe(this.probeType, { pod: this.pod, container: this.container, containerId: c.id, podIP: this.ctx.podIP(this.pod) });
    if (this.stopped) return false;
    if (c.id !== this.containerId) return true; // the container changed under the probe: its result is stale

    const base = this.baseLabels();
    this.ctx.metrics.probeTotal.inc(this.totalLabels(probeResultLabel[outcome.result]));
    if (outcome.result !== 'Failure') this.ctx.metrics.probeDuration.observe(base, (clock.now() - startTime) / 1000);
    if (outcome.result === 'Unknown') return true; // the probe could not run: its result is thrown away

    const result = outcome.result;
    if (this.lastResult === result) {
      this.resultRun++;
    } else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    const failureThreshold = positive(this.spec.failureThreshold, defaultFailureThreshold);
    const successThreshold = positive(this.spec.successThreshold, defaultSuccessThreshold);
    if ((result === 'Failure' && this.resultRun < failureThreshold) || (result === 'Success' && this.resultRun < successThreshold)) {
      return true; // below the threshold: the published result stays
    }
    this.results.set(c.id, result, this.pod);
    if ((this.probeType === 'liveness' && result === 'Failure') || this.probeType === 'startup') {
      // the container will be restarted (or has started): hold until a new container ID
      this.onHold = true;
      this.resultRun = 0;
    }
    return true;
  }

  /** prober_probe_total's labels, in upstream's order. */
  private totalLabels(result: string): Record<'probe_type' | 'result' | 'container' | 'pod' | 'namespace' | 'pod_uid', string> {
    const b = this.baseLabels();
    return { probe_type: b.probe_type, result, container: b.container, pod: b.pod, namespace: b.namespace, pod_uid: this.podUid };
  }

  private baseLabels(): { probe_type: string; container: string; pod: string; namespace: string } {
    return {
      probe_type: probeTypeName[this.probeType],
      container: this.containerName,
      pod: this.pod.metadata?.name ?? '',
      namespace: this.pod.metadata?.namespace ?? '',
    };
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && v > 0 ? v : dflt;
}
