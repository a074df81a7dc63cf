// The probe manager (models pkg/kubelet/prober/prober_manager.go, with the parts of the
// kubelet's syncLoop that read the results managers and of kuberuntime's computePodActions that
// read liveness/startup results).
//
// addPod starts one worker per (container, probe type) of the pod's regular containers;
// removePod / stopLivenessAndStartup / cleanupPods stop them (their results go with them).
// readiness(id) and started(id) answer status generation; probeVerdict(id) tells
// computePodActions which running containers failed liveness or startup ("Container web failed
// liveness probe", upstream's kill messages); onUpdate(cb) tells the kubelet which pod to sync:
// on every readiness and startup change and on a liveness Failure (the updates the kubelet's
// syncLoop acts on).
//
// Differences from upstream:
// - Workers are driven by the Clock and read container state through getContainer (the runtime
//   status the kubelet caches) and the pod IP through getPodIP, not the status manager.
// - previousReadiness / previousStarted seed a worker's first container with what the kubelet
//   said before it restarted (upstream starts over at not-ready); a container that was ready is
//   also taken as started.
// - removePod stops every worker of the pod UID, whatever containers its spec lists now; a
//   second addPod of a pod updates the workers' pod object (deletion timestamp) instead of
//   returning early; no workers for init containers (nodelet predates sidecar containers).
// - Workers run between start() and stop(); addPod before start() registers them.

import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { Runtime } from '../../runtime/types.js';
import type { Clock } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { EventRecorder } from '../events/index.js';
import type { ProbeVerdict } from '../kuberuntime/index.js';
import { proberMetrics, type ProberMetrics } from './metrics.js';
import { Prober, type ProbeOutcome, type ProbeTarget, type ProbeType } from './prober.js';
import { ResultsManager, type ProbeResult, type ResultUpdate } from './results.js';
import { ProbeWorker, type ContainerInfo, type WorkerContext } from './worker.js';

export interface ProbeUpdate extends ResultUpdate {
  probeType: ProbeType;
}

export interface ProbeManagerDeps {
  /** Exec probes run through its ExecSync. */
  runtime: Pick<Runtime, 'execSync'>;
  clock: Clock;
  logger?: Logger;
  /** Where prober_probe_total and prober_probe_duration_seconds live (default: a private registry). */
  registry?: Registry;
  /** Unhealthy / ProbeWarning events. */
  recorder?: EventRecorder;
  /** Random source for the first probe's jitter (default Math.random). */
  rand?: () => number;
  /** The container's current state as the kubelet knows it (undefined: no such container yet). */
  getContainer(podUid: string, containerName: string): ContainerInfo | undefined;
  /** The pod's IP (default: pod.status.podIP). */
  getPodIP?(podUid: string): string | undefined;
  /** Readiness the kubelet last reported for this container (seeds the worker after a restart). */
  previousReadiness?(podUid: string, containerName: string, containerId: string): boolean | undefined;
  /** Started the kubelet last reported for this container (seeds the startup worker). */
  previousStarted?(podUid: string, containerName: string, containerId: string): boolean | undefined;
  /** Replaces the prober (tests). */
  probe?(probeType: ProbeType, target: ProbeTarget): Promise<ProbeOutcome>;
}

const probeTypes: readonly ProbeType[] = ['readiness', 'liveness', 'startup'];

function key(podUid: string, containerName: string, probeType: ProbeType): string {
  return `${podUid}\u0000${containerName}\u0000${probeType}`;
}

export class ProbeManager {
  readonly livenessResults = new ResultsManager();
  readonly readinessResults = new ResultsManager();
  readonly startupResults = new ResultsManager();
  readonly prober: Prober;
  readonly metrics: ProberMetrics;
  private readonly workers = new Map<string, ProbeWorker>();
  /** Container ID -> container name, for the kill messages. */
  private readonly names = new Map<string, string>();
  private readonly listeners: Array<(podUid: string, update: ProbeUpdate) => void> = [];
  private readonly ctx: WorkerContext;
  private running = false;
  private startTime = 0;
  private readonly log: Logger;

  constructor(private readonly deps: ProbeManagerDeps) {
    const logger = deps.logger ?? nopLogger;
    this.log = logger;
    this.metrics = proberMetrics(deps.registry ?? new Registry());
    this.prober = new Prober({ runtime: deps.runtime, clock: deps.clock, logger, ...(deps.recorder ? { recorder: deps.recorder } : {}) });
    this.startTime = deps.clock.now();
    const probe = deps.probe ?? ((t: ProbeType, target: ProbeTarget) => this.prober.probe(t, target));
    this.ctx = {
      clock: deps.clock,
      rand: deps.rand ?? Math.random,
      logger,
      metrics: this.metrics,
      managerStart: () => this.startTime,
      results: (t) => this.resultsFor(t),
      probe,
      getContainer: (uid, name) => this.container(uid, name),
      podIP: (pod) => deps.getPodIP?.(pod.metadata?.uid ?? '') ?? pod.status?.podIP ?? '',
      isStarted: (c, id) => this.isStarted(c, id),
      seed: (t, uid, name, id) => this.seed(t, uid, name, id),
      containerAdopted: (id, name) => this.names.set(id, name),
      containerDropped: (id) => this.forgetIfUnused(id),
      workerDone: (w) => {
        const k = key(w.podUid, w.containerName, w.probeType);
        if (this.workers.get(k) === w) this.workers.delete(k);
      },
    };
    const notify = (probeType: ProbeType) => (u: ResultUpdate) => {
      for (const l of [...this.listeners]) l(u.podUid, { ...u, probeType });
    };
    this.readinessResults.onUpdate(notify('readiness'));
    this.startupResults.onUpdate(notify('startup'));
    const livenessNotify = notify('liveness');
    this.livenessResults.onUpdate((u) => {
      if (u.result === 'Failure') livenessNotify(u);
    });
  }

  /** Starts the workers registered so far and any added later. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startTime = this.deps.clock.now();
    for (const w of this.workers.values()) w.start();
  }

  /** Stops every worker (their results are dropped). */
  stop(): void {
    this.running = false;
    for (const w of [...this.workers.values()]) w.stop();
  }

  /** Starts probing the pod's containers; idempotent (call it on every sync). */
  addPod(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    for (const c of pod.spec?.containers ?? []) {
      for (const t of probeTypes) {
        if (!specFor(c, t)) continue;
        const k = key(uid, c.name, t);
        const existing = this.workers.get(k);
        if (existing) {
          existing.updatePod(pod);
          continue;
        }
        const w = new ProbeWorker(this.ctx, t, pod, c);
        this.workers.set(k, w);
        if (this.running) w.start();
      }
    }
  }

  /** Stops every worker of the pod and drops their results. */
  removePod(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    for (const w of [...this.workers.values()]) if (w.podUid === uid) w.stop();
  }

  /** Stops the pod's liveness and startup workers (a terminating pod is only probed for readiness). */
  stopLivenessAndStartup(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    for (const w of [...this.workers.values()]) if (w.podUid === uid && w.probeType !== 'readiness') w.stop();
  }

  /** Stops the workers of every pod not in desiredUids. */
  cleanupPods(desiredUids: Set<string>): void {
    for (const w of [...this.workers.values()]) if (!desiredUids.has(w.podUid)) w.stop();
  }

  /**
   * The container's readiness result: undefined when there is none (no readiness probe, or not
   * seen by its worker yet: the worker is then asked to probe at once, as UpdatePodStatus does).
   */
  readiness(containerId: string): boolean | undefined {
    const r = this.readinessResults.get(containerId);
    if (r !== undefined) return r === 'Success';
    for (const w of this.workers.values()) {
      if (w.probeType !== 'readiness' || w.containerId === containerId) continue;
      if (this.container(w.podUid, w.containerName)?.id === containerId) {
        // not from inside the caller's status generation: the run may publish a result at once
        void Promise.resolve().then(() => w.trigger());
        break;
      }
    }
    return undefined;
  }

  /** Has the container passed its startup probe? undefined when there is no startup result. */
  started(containerId: string): boolean | undefined {
    const r = this.startupResults.get(containerId);
    return r === undefined ? undefined : r === 'Success';
  }

  /** For computePodActions: a running container to kill because it failed liveness or startup. */
  readonly probeVerdict: ProbeVerdict = (containerId) => {
    const name = this.names.get(containerId) ?? containerId;
    if (this.livenessResults.get(containerId) === 'Failure') return { kind: 'liveness', message: `Container ${name} failed liveness probe` };
    if (this.startupResults.get(containerId) === 'Failure') return { kind: 'startup', message: `Container ${name} failed startup probe` };
    return undefined;
  };

  /** cb(podUid) when a pod should be synced: readiness/startup changes, liveness failures. */
  onUpdate(cb: (podUid: string, update: ProbeUpdate) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Number of running workers (tests, debugging). */
  workerCount(): number {
    return this.workers.size;
  }

  /** getContainer, with a failing lookup (a status cache holding an error) taken as "not known". */
  private container(uid: string, name: string): ContainerInfo | undefined {
    try {
      return this.deps.getContainer(uid, name);
    } catch (e) {
      this.log.debug('no container state for probing', { podUID: uid, containerName: name, err: e });
      return undefined;
    }
  }

  private resultsFor(t: ProbeType): ResultsManager {
    return t === 'liveness' ? this.livenessResults : t === 'readiness' ? this.readinessResults : this.startupResults;
  }

  private isStarted(c: V1Container, id: string): boolean {
    return c.startupProbe ? this.startupResults.get(id) === 'Success' : true;
  }

  private seed(t: ProbeType, uid: string, name: string, id: string): ProbeResult | undefined {
    if (t === 'readiness') {
      const ready = this.deps.previousReadiness?.(uid, name, id);
      return ready === undefined ? undefined : ready ? 'Success' : 'Failure';
    }
    if (t === 'startup') {
      // a container that was ready had started
      if (this.deps.previousStarted?.(uid, name, id) === true || this.deps.previousReadiness?.(uid, name, id) === true) return 'Success';
    }
    return undefined;
  }

  private forgetIfUnused(id: string): void {
    if (this.livenessResults.get(id) === undefined && this.readinessResults.get(id) === undefined && this.startupResults.get(id) === undefined) {
      this.names.delete(id);
    }
  }
}

function specFor(c: V1Container, t: ProbeType): unknown {
  return t === 'liveness' ? c.livenessProbe : t === 'readiness' ? c.readinessProbe : c.startupProbe;
}
