// The kubelet: wiring and the syncLoop (models pkg/kubelet/kubelet.go: NewMainKubelet, Run,
// syncLoop/syncLoopIteration, syncPod/syncTerminatingPod/syncTerminatedPod, HandlePodCleanups).
//
// Everything is built here from the resolved configuration and handed its dependencies; modules
// talk through their interfaces:
//
//   pod sources -> PodConfig -> syncLoop -> PodWorkers -> syncPod -> KubeRuntimeManager -> Runtime
//   Runtime -> PLEG (relist) -> status cache + events -> syncLoop -> PodWorkers
//   syncPod -> generatePodStatus -> StatusManager -> (local API, cluster sink later)
//   ImageGCManager (5 m) and ContainerGC (1 m) reclaim disk; the EvictionManager (10 s) observes
//   the node and image filesystems, asks both for space under pressure, and admits new pods
//
// The syncLoop reacts to config updates, PLEG events, a 1 s tick that syncs pods due for resync,
// and a 2 s housekeeping pass that stops and removes pods no source has any more (and runtime
// pods nobody asked for, e.g. left behind by a previous nodelet).

import type { V1ContainerStatus, V1Node, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { Histogram, type Registry } from 'prom-client';
import { isStaticPod, podFullName } from '../api/podutil.js';
import { getPodQOSClass } from '../api/qos.js';
import type { Clock, Timer } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { getOrCreate } from '../util/metrics.js';
import { jitter, TimedWorkQueue } from '../util/workqueue.js';
import type { Runtime } from '../runtime/index.js';
import { FileSource, HttpSource, PodConfig, type FetchFn, type PodUpdate } from './config/index.js';
import type { RuntimePodStatus } from './container/index.js';
import { LocalEventStore, type EventRecorder } from './events/index.js';
import type { ClusterEventRecorder } from './events/cluster.js';
import { ContainerGC, KubeRuntimeManager, podLogsDirectory, type ContainerGCPolicy, type NodeContext } from './kuberuntime/index.js';
import { EvictionManager, isCriticalPodForNodelet, newEvictionManager, type EvictionSettings, type HostReaders } from './eviction/index.js';
import { ImageGCManager, type ImageGCPolicy, type ImagePullSettings } from './images/index.js';
import type { StatfsFn } from '../util/statfs.js';
import type { ApiserverSource } from './config/index.js';
import type { ApiStatusSync, StatusSink } from './status/index.js';
import { cachingMachineReaders, hostMachineReaders, initialNode, readMachineFacts, runtimeStateErrors, type NodeStatusManager, type StatusInputs } from './nodestatus/index.js';
import type { NodeLeaseController } from './nodelease/index.js';
import type { MirrorClient } from './pod/index.js';
import { pullSecretsGetter } from './secret/index.js';
import { buildClusterModules, type ClusterSettings, type PodRefManagers } from './clustermodules.js';
import { GenericPLEG, PodStatusCache, type PodLifecycleEvent } from './pleg/index.js';
import { PodWorkers, type SyncResult, type UpdateType } from './podworkers/index.js';
import { ProbeManager } from './prober/index.js';
import { ContainerLogManager } from './logs/index.js';
import { admitPodPredicates } from './lifecycle/index.js';
import { FileStatusSink, generatePodStatus, isPodTerminal, loadStatusCheckpoints, StatusManager } from './status/index.js';

export interface KubeletSettings {
  nodeName: string;
  rootDir: string;
  podLogsDir: string;
  staticPodPath: string;
  staticPodURL: string;
  syncFrequencyMs: number;
  fileCheckFrequencyMs: number;
  httpCheckFrequencyMs: number;
  node: NodeContext;
  runtimeName: string;
  /** containerLogMaxSize (bytes or a quantity such as "10Mi") and containerLogMaxFiles. */
  containerLogMaxSize?: string | number;
  containerLogMaxFiles?: number;
  /** serializeImagePulls, maxParallelImagePulls, registryPullQPS/Burst, pull secrets (kubelet defaults when absent). */
  imagePulls?: ImagePullSettings;
  /** imageGCHigh/LowThresholdPercent, imageMinimum/MaximumGCAge (kubelet defaults when absent). */
  imageGC?: Partial<ImageGCPolicy>;
  /** The sandbox image (--pod-infra-container-image): never garbage collected. */
  sandboxImage?: string;
  /** --minimum-container-ttl-duration, --maximum-dead-containers(-per-container). */
  containerGC?: Partial<ContainerGCPolicy>;
  /** cgroupfs root whose leftover pod cgroups ContainerGC removes (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  /** Relist at once on the runtime's container events (default true; false: the 1 s relist only). */
  containerEvents?: boolean;
  /** evictionHard and friends; absent: no eviction manager (no disk-space admission). */
  eviction?: EvictionSettings;
  /**
   * Cluster mode (--kubeconfig): the node registers and reports its status, renews its Lease,
   * runs the pods bound to it and patches their statuses. Absent: standalone.
   */
  cluster?: ClusterSettings;
}

export type { ClusterSettings } from './clustermodules.js';

export interface KubeletDeps {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** Random source for jitter (tests pass a fixed one). */
  rand?: () => number;
  /** For URL sources (tests inject one). */
  fetch?: FetchFn;
  /** statfs for image GC, and the host readers of the eviction manager (tests inject fakes). */
  statfs?: StatfsFn;
  evictionReaders?: HostReaders;
}

export interface HealthCheck {
  name: string;
  ok: boolean;
  message: string;
}

const housekeepingPeriodMs = 2000;
/** rejectPod's status message prefix. */
const rejectedPrefix = 'Pod was rejected: ';
const syncTickMs = 1000;
const backOffPeriodMs = 10_000;
/** The kubelet's syncloop health threshold. */
const syncLoopHealthThresholdMs = 2 * 60_000;

/** A pod and what the kubelet last said of it. */
export interface PodWithStatus {
  pod: V1Pod;
  status: V1PodStatus | undefined;
}

export class Kubelet {
  /** Recent events kept locally (`nodelet describe`, /events) in both modes. */
  readonly events: LocalEventStore;
  /** What every module records events through: the local store, and the API in cluster mode. */
  readonly recorder: EventRecorder;
  private readonly apiEvents: ClusterEventRecorder | undefined;
  readonly statusManager: StatusManager;
  readonly runtimeManager: KubeRuntimeManager;
  readonly podCache: PodStatusCache;
  readonly pleg: GenericPLEG;
  readonly podConfig: PodConfig;
  readonly probeManager: ProbeManager;
  readonly logManager: ContainerLogManager;
  readonly imageGC: ImageGCManager;
  readonly containerGC: ContainerGC;
  readonly evictionManager: EvictionManager | undefined;
  /** Cluster mode only. */
  readonly apiSource: ApiserverSource | undefined;
  readonly apiStatusSync: ApiStatusSync | undefined;
  readonly nodeStatus: NodeStatusManager | undefined;
  readonly nodeLease: NodeLeaseController | undefined;
  private readonly mirrorClient: MirrorClient | undefined;
  /** Cluster mode: the ConfigMap and Secret managers and the service-account TokenManager. */
  private readonly podRefs: PodRefManagers | undefined;
  /** The host's machine readers, the static facts read once (cluster mode's node status). */
  private readonly machineReaders = cachingMachineReaders(hostMachineReaders);
  /** Cluster mode: the Node as registration would create it (admission's fallback). */
  private initialNode: V1Node | undefined;
  /** When the runtime last answered Status with RuntimeReady (the node's Ready condition). */
  private lastBaseRuntimeSync: number | undefined;
  private readonly podWorkers: PodWorkers;
  /** Pods admission rejected (phase Failed): never handed to a pod worker. */
  private readonly rejected = new Set<string>();
  private readonly workQueue: TimedWorkQueue<string>;
  /** Desired pods by UID (the kubelet's pod manager). */
  private readonly pods = new Map<string, V1Pod>();
  /** When each pod's last sync finished: its next sync needs a runtime status newer than that. */
  private readonly lastSyncTime = new Map<string, number>();
  private readonly sources: { start(): void; stop(): void }[] = [];
  private readonly expectedSources: string[] = [];
  private timers: Timer[] = [];
  /** The housekeeping pass under way (stop() lets it finish before the runtime is closed). */
  private housekeepingRunning: Promise<void> | undefined;
  private stopped = false;
  private lastSyncLoopTick = 0;
  private readonly rand: () => number;
  private readonly podStartDuration: Histogram;
  private readonly podWorkerDuration: Histogram;
  private readonly startedPods = new Set<string>();
  private readonly log: Logger;
  /** Statuses from before a restart, until the pod's first new status. */
  private readonly previousStatuses: Map<string, V1PodStatus>;

  constructor(
    readonly settings: KubeletSettings,
    private readonly deps: KubeletDeps,
  ) {
    const { clock, logger, registry, runtime } = deps;
    this.log = logger;
    this.rand = deps.rand ?? Math.random;
    this.events = new LocalEventStore(clock, logger.child({ component: 'events' }));
    // cluster mode: events also go to the API, pods come from it and their statuses go to it, the
    // node registers, reports its status and renews its Lease, and what pods reference is read
    const cluster = settings.cluster
      ? buildClusterModules(
          settings.cluster,
          settings.nodeName,
          { clock, logger, localEvents: this.events },
          {
            setApiPods: (pods) => this.podConfig.set('api', pods),
            podWorkerFinished: (id) => this.podWorkers.info(id)?.finished,
            nodeStatusInputs: () => this.nodeStatusInputs(),
          },
        )
      : undefined;
    this.apiEvents = cluster?.events;
    this.recorder = this.apiEvents ?? this.events;
    this.apiSource = cluster?.apiSource;
    this.apiStatusSync = cluster?.apiStatusSync;
    this.nodeStatus = cluster?.nodeStatus;
    this.nodeLease = cluster?.nodeLease;
    this.mirrorClient = cluster?.mirrorClient;
    const podRefs = cluster?.podRefs;
    this.podRefs = podRefs;
    // standalone: the last statuses survive a restart in <root-dir>/pods/<uid>/status.json
    this.previousStatuses = loadStatusCheckpoints(settings.rootDir, logger);
    const checkpoints = new FileStatusSink(settings.rootDir, logger.child({ component: 'status' }));
    const apiSync = this.apiStatusSync;
    // cluster mode: the API holds the statuses; the local checkpoints keep serving restarts and the CLI
    const sink: StatusSink = apiSync
      ? { push: (c) => Promise.all([checkpoints.push(c), apiSync.push(c)]).then(() => undefined), forget: (id) => apiSync.forget(id) }
      : checkpoints;
    this.statusManager = new StatusManager({ clock, logger: logger.child({ component: 'status' }), sink });
    this.runtimeManager = new KubeRuntimeManager({
      runtime,
      clock,
      logger: logger.child({ component: 'kuberuntime' }),
      recorder: this.recorder,
      node: settings.node,
      rootDir: settings.rootDir,
      podLogsRoot: settings.podLogsDir,
      runtimeName: settings.runtimeName,
      ...(settings.imagePulls || podRefs ? { imagePulls: { ...settings.imagePulls, ...(podRefs ? { getPullSecrets: pullSecretsGetter(podRefs.secrets) } : {}) } } : {}),
      ...(podRefs ?? {}),
    });
    this.podCache = new PodStatusCache();
    // container events (CRI GetContainerEvents, else containerd's task events) wake the relist at once
    this.pleg = new GenericPLEG({
      provider: this.runtimeManager,
      cache: this.podCache,
      clock,
      logger: logger.child({ component: 'pleg' }),
      registry,
      ...(settings.containerEvents === false ? {} : { events: runtime }),
    });
    this.workQueue = new TimedWorkQueue(clock);
    this.podConfig = new PodConfig({ clock, logger: logger.child({ component: 'config' }) });
    this.podStartDuration = getOrCreate(registry, 'kubelet_pod_start_duration_seconds', () =>
      new Histogram({
        name: 'kubelet_pod_start_duration_seconds',
        help: 'Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
        buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600],
        registers: [registry],
      }),
    );
    this.podWorkerDuration = getOrCreate(registry, 'kubelet_pod_worker_duration_seconds', () =>
      new Histogram({
        name: 'kubelet_pod_worker_duration_seconds',
        help: 'Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync',
        labelNames: ['operation_type'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    );
    this.logManager = new ContainerLogManager({
      clock,
      runtime,
      logger: logger.child({ component: 'logs' }),
      maxSize: settings.containerLogMaxSize,
      maxFiles: settings.containerLogMaxFiles,
    });
    this.probeManager = new ProbeManager({
      runtime,
      clock,
      logger: logger.child({ component: 'prober' }),
      registry,
      recorder: this.recorder,
      ...(deps.rand ? { rand: deps.rand } : {}),
      getContainer: (podUid, name) => {
        const c = this.podCache.get(podUid).containerStatuses.find((x) => x.name === name);
        return c ? { id: c.id, running: c.state === 'running', startedAt: c.startedAt } : undefined;
      },
      getPodIP: (podUid) => this.podCache.get(podUid).ips[0],
      previousReadiness: (podUid, name, id) => this.previousContainerStatus(podUid, name, id)?.ready,
      previousStarted: (podUid, name, id) => this.previousContainerStatus(podUid, name, id)?.started,
    });
    this.imageGC = new ImageGCManager({
      runtime,
      clock,
      nodeName: settings.nodeName,
      logger: logger.child({ component: 'imagegc' }),
      recorder: this.recorder,
      registry,
      ...(settings.imageGC ? { policy: settings.imageGC } : {}),
      ...(settings.sandboxImage ? { sandboxImage: settings.sandboxImage } : {}),
      ...(deps.statfs ? { statfs: deps.statfs } : {}),
    });
    this.containerGC = new ContainerGC({
      runtime,
      clock,
      nodeName: settings.nodeName,
      logger: logger.child({ component: 'containergc' }),
      recorder: this.recorder,
      podLogsDir: settings.podLogsDir,
      ...(settings.cgroupRoot !== undefined ? { cgroupRoot: settings.cgroupRoot } : {}),
      ...(settings.containerGC ? { policy: settings.containerGC } : {}),
      sourcesReady: () => this.podConfig.seenAllSources(this.expectedSources),
      podStateProvider: {
        isPodDeleted: (id) => !this.pods.has(id) && (this.podWorkers.info(id)?.finished ?? true),
        isPodTerminated: (id) => this.podWorkers.info(id)?.finished ?? !this.pods.has(id),
      },
    });
    this.evictionManager = settings.eviction
      ? newEvictionManager({
          config: settings.eviction,
          rootDir: settings.rootDir,
          runtime,
          clock,
          nodeName: settings.nodeName,
          logger: logger.child({ component: 'eviction' }),
          recorder: this.recorder,
          reclaimer: {
            deleteAllUnusedContainers: async () => void (await this.containerGC.deleteAllUnusedContainers()),
            deleteUnusedImages: () => this.imageGC.deleteUnusedImages(),
          },
          isCritical: isCriticalPodForNodelet,
          ...(deps.evictionReaders ? { readers: deps.evictionReaders } : {}),
        })
      : undefined;
    this.podWorkers = new PodWorkers({
      clock,
      logger: logger.child({ component: 'podworkers' }),
      // resyncs and error retries are jittered (wait.Jitter, factor 0.5); a backoff's end is exact
      requeue: (uid, delay, reason) => this.workQueue.enqueue(uid, reason === 'retry' ? delay : jitter(delay, 0.5, this.rand)),
      resyncIntervalMs: settings.syncFrequencyMs,
      backOffPeriodMs,
      syncer: {
        syncPod: (pod, type, signal) => this.syncPod(pod, type, signal),
        syncTerminatingPod: (pod, running, grace, uid) => this.syncTerminatingPod(pod, running, grace, uid),
        syncTerminatedPod: (pod, uid) => this.syncTerminatedPod(pod, uid),
      },
      onSyncDone: (id, phase, type, ms, error) => {
        this.podWorkerDuration.observe({ operation_type: type }, ms / 1000);
        if (phase === 'terminated' && !error) this.apiStatusSync?.podTerminated(id);
      },
    });
  }

  // ------------------------------------------------------------ lifecycle

  start(): void {
    const { clock, logger } = this.deps;
    this.podConfig.onUpdate((u) => this.handlePodUpdate(u));
    this.pleg.watch((e) => this.handlePlegEvent(e));
    // a probe result that changes readiness, or a liveness failure, syncs the pod
    this.probeManager.onUpdate((podUid) => void this.requestSync(podUid));
    this.probeManager.start();
    this.logManager.start();
    if (this.settings.staticPodPath) {
      this.expectedSources.push('file');
      const src = new FileSource({
        path: this.settings.staticPodPath,
        nodeName: this.settings.nodeName,
        clock,
        logger: logger.child({ component: 'config', source: 'file' }),
        checkFrequencyMs: this.settings.fileCheckFrequencyMs,
        onSet: (pods) => this.podConfig.set('file', pods),
      });
      this.sources.push(src);
    }
    if (this.settings.staticPodURL) {
      this.expectedSources.push('http');
      const src = new HttpSource({
        url: this.settings.staticPodURL,
        nodeName: this.settings.nodeName,
        clock,
        logger: logger.child({ component: 'config', source: 'http' }),
        checkFrequencyMs: this.settings.httpCheckFrequencyMs,
        ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
        onSet: (pods) => this.podConfig.set('http', pods),
      });
      this.sources.push(src);
    }
    if (this.apiSource) {
      this.expectedSources.push('api');
      this.sources.push(this.apiSource);
      this.nodeStatus!.start();
      this.nodeLease!.start();
      this.apiStatusSync!.start();
    }
    this.pleg.start();
    this.imageGC.start();
    this.containerGC.start();
    // the first pods are admitted on real observations: sources start after the eviction
    // manager's first pass and (cluster mode) once the Node to judge them against is known
    void Promise.all([this.evictionManager?.start(), this.prepareAdmissionNode()]).then(() => this.startSources());
    this.lastSyncLoopTick = clock.now();
    this.timers.push(clock.setInterval(() => this.syncTick(), syncTickMs));
    this.timers.push(clock.setInterval(() => void this.housekeeping(), housekeepingPeriodMs));
    logger.info('kubelet started', {
      nodeName: this.settings.nodeName,
      staticPodPath: this.settings.staticPodPath || undefined,
      staticPodURL: this.settings.staticPodURL || undefined,
    });
  }

  /** getNodeAnyWay's fallback: the Node as it would be registered, until the API has it. */
  private async prepareAdmissionNode(): Promise<void> {
    if (!this.settings.cluster) return;
    const inputs = await this.nodeStatusInputs();
    this.initialNode = initialNode(this.settings.cluster.node, inputs, this.deps.clock.now()).node;
  }

  private startSources(): void {
    if (this.stopped) return;
    for (const s of this.sources) s.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) t.stop();
    this.timers = [];
    for (const s of this.sources) s.stop();
    this.evictionManager?.stop();
    await this.housekeepingRunning;
    await Promise.all([this.nodeStatus?.stop(), this.nodeLease?.stop(), this.apiStatusSync?.stop()]);
    // the last events (Killing, ...) get a moment to reach the API
    if (this.apiEvents) await Promise.race([this.apiEvents.flush(), this.deps.clock.sleep(2000)]).catch(() => undefined);
    await this.apiEvents?.stop();
    this.imageGC.stop();
    this.containerGC.stop();
    this.probeManager.stop();
    await this.logManager.stop();
    await this.pleg.stop();
  }

  /**
   * What the node status setters read (cluster mode), every nodeStatusUpdateFrequency; the static
   * machine facts are read once (machineReaders).
   */
  private async nodeStatusInputs(): Promise<StatusInputs> {
    const { runtime, clock } = this.deps;
    const [machine, version, status] = await Promise.all([
      readMachineFacts(this.machineReaders, this.settings.rootDir).catch(() => undefined),
      runtime.version().catch(() => undefined),
      runtime.status().catch(() => undefined),
    ]);
    const cond = (type: string) => status?.status.conditions.find((c) => c.type === type) ?? null;
    const runtimeReady = status ? cond('RuntimeReady') : undefined;
    if (runtimeReady?.status) this.lastBaseRuntimeSync = clock.now();
    const pleg = this.pleg.healthy();
    return {
      machine,
      runtime: version ? { name: version.runtimeName, version: version.runtimeVersion } : undefined,
      runtimeType: this.settings.runtimeName,
      images: this.imageGC.getImageList(),
      pressure: this.evictionManager?.pressure() ?? [],
      readyErrors: runtimeStateErrors({
        now: clock.now(),
        lastBaseRuntimeSync: this.lastBaseRuntimeSync,
        healthChecks: [{ name: 'PLEG', ok: pleg.ok, message: pleg.message }],
        ...(status ? { runtimeReady, networkReady: cond('NetworkReady') } : {}),
      }),
    };
  }

  // ------------------------------------------------------------ syncLoop handlers

  private handlePodUpdate(u: PodUpdate): void {
    switch (u.op) {
      case 'ADD':
        // oldest first, as the kubelet admits pods in creation order
        for (const pod of [...u.pods].sort((a, b) => podSeen(a) - podSeen(b))) {
          this.setPod(pod);
          this.log.info('pod added', { pod: podFullName(pod), podUID: uid(pod), source: u.source });
          if (this.admit(pod)) this.podWorkers.updatePod({ type: 'create', pod });
        }
        break;
      case 'UPDATE':
        for (const pod of u.pods) {
          this.setPod(pod);
          if (!this.rejected.has(uid(pod))) this.podWorkers.updatePod({ type: 'update', pod });
        }
        break;
      case 'DELETE':
        for (const pod of u.pods) {
          this.setPod(pod);
          this.podWorkers.updatePod({ type: 'kill', pod });
        }
        break;
      case 'REMOVE':
        for (const pod of u.pods) {
          this.pods.delete(uid(pod));
          this.podRefs?.configMaps.unregisterPod(pod);
          this.podRefs?.secrets.unregisterPod(pod);
          this.rejected.delete(uid(pod));
          this.log.info('pod removed', { pod: podFullName(pod), podUID: uid(pod), source: u.source });
          this.podWorkers.updatePod({ type: 'kill', pod });
        }
        break;
      case 'RECONCILE':
        for (const pod of u.pods) this.pods.set(uid(pod), pod);
        break;
    }
  }

  /** The pod manager's AddPod/UpdatePod: the pod is desired, and what it references may be read. */
  private setPod(pod: V1Pod): void {
    this.pods.set(uid(pod), pod);
    this.podRefs?.configMaps.registerPod(pod);
    this.podRefs?.secrets.registerPod(pod);
  }

  /**
   * canAdmitPod + rejectPod (HandlePodAdditions): a new pod the eviction manager refuses is
   * Failed with the reason and "Pod was rejected: <message>", and never runs. A pod admitted
   * before a restart (it has a status checkpoint that is not a rejection) is not judged again:
   * running pods are untouched whatever the node's state now.
   */
  private admit(pod: V1Pod): boolean {
    const id = uid(pod);
    const previous = this.previousStatuses.get(id);
    const rejectedBefore = previous?.phase === 'Failed' && previous.message?.startsWith(rejectedPrefix) === true;
    if (previous && !rejectedBefore) return true;
    const verdict = rejectedBefore ? { admit: false, reason: previous.reason ?? '', message: previous.message!.slice(rejectedPrefix.length) } : this.canAdmitPod(pod);
    if (verdict.admit) return true;
    this.rejected.add(id);
    const message = `${rejectedPrefix}${verdict.message ?? ''}`;
    this.log.warn('pod rejected', { pod: podFullName(pod), podUID: id, reason: verdict.reason, message });
    if (!rejectedBefore) this.recorder.event({ kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: id }, 'Warning', verdict.reason ?? '', message);
    this.statusManager.setPodStatus(pod, { phase: 'Failed', reason: verdict.reason ?? '', message, qosClass: getPodQOSClass(pod), startTime: previous?.startTime });
    return false;
  }

  /**
   * The admit handlers in upstream's order: the eviction manager, then (cluster mode) the
   * predicates against the Node (resources against allocatable, node selector and affinity, host
   * ports, NoExecute taints) with the admitted, active pods as the node's load.
   */
  private canAdmitPod(pod: V1Pod): { admit: boolean; reason?: string; message?: string } {
    const eviction = this.evictionManager?.admit(pod) ?? { admit: true };
    if (!eviction.admit) return eviction;
    const node = this.admissionNode();
    if (!node) return { admit: true };
    const id = uid(pod);
    const otherPods = [...this.pods.values()].filter((p) => {
      const pid = uid(p);
      if (pid === id || this.rejected.has(pid)) return false;
      if (isPodTerminal(this.statusManager.getPodStatus(pid))) return false;
      return !(this.podWorkers.info(pid)?.finished ?? false);
    });
    return admitPodPredicates({ pod, node, otherPods });
  }

  /** The Node admission judges against: the API's (as last posted), else the one about to be registered. */
  private admissionNode(): V1Node | undefined {
    return this.nodeStatus?.node() ?? this.initialNode;
  }

  /** Syncs a desired, admitted pod; false when there is none (rejected pods never reach a worker). */
  private requestSync(id: string): boolean {
    const pod = this.pods.get(id);
    if (!pod || this.rejected.has(id)) return false;
    this.podWorkers.updatePod({ type: 'sync', pod });
    return true;
  }

  private handlePlegEvent(e: PodLifecycleEvent): void {
    // a pod no source has: housekeeping deals with runtime-only pods
    this.requestSync(e.podUid);
  }

  private syncTick(): void {
    this.lastSyncLoopTick = this.deps.clock.now();
    for (const id of this.workQueue.getWork()) {
      if (this.requestSync(id)) continue;
      if (this.podWorkers.info(id) && !this.podWorkers.info(id)!.finished) {
        // a runtime-only pod whose termination failed: try again
        const running = this.podCache.get(id);
        this.podWorkers.updatePod({ type: 'kill', runningPod: running });
      }
    }
  }

  /**
   * HandlePodCleanups: runtime pods no source wants are stopped; pods whose worker finished and
   * that no source has any more are removed from the runtime and disk.
   */
  async housekeeping(): Promise<void> {
    if (this.housekeepingRunning) return this.housekeepingRunning;
    this.housekeepingRunning = this.housekeepingPass().finally(() => {
      this.housekeepingRunning = undefined;
    });
    return this.housekeepingRunning;
  }

  private async housekeepingPass(): Promise<void> {
    if (!this.podConfig.seenAllSources(this.expectedSources)) return;
    if (this.pleg.lastRelistTime() === undefined) return; // nothing known of the runtime yet
    this.probeManager.cleanupPods(new Set(this.pods.keys()));
    if (this.mirrorClient && this.apiSource) {
      // every admitted static pod that is not being deleted has its mirror pod in the API
      const staticPods = [...this.pods.values()].filter((p) => isStaticPod(p) && !this.rejected.has(uid(p)) && !p.metadata?.deletionTimestamp);
      await this.mirrorClient
        .reconcile({ staticPods, mirrorPods: this.apiSource.mirrorPods(), canCreate: this.nodeStatus?.node()?.metadata?.uid !== undefined })
        .catch((e: unknown) => this.log.warn('mirror pod reconcile failed', { err: errorMessage(e) }));
    }
    for (const status of this.podCache.getAll()) {
      if (this.pods.has(status.uid) || status.containerStatuses.length + status.sandboxStatuses.length === 0) continue;
      // only pods this node created: other nodelets (or a kubelet) may share the runtime
      if (status.owner !== this.settings.nodeName) continue;
      const info = this.podWorkers.info(status.uid);
      if (!info) {
        this.log.info('stopping pod that no source has', { pod: `${status.namespace}/${status.name}`, podUID: status.uid });
        this.podWorkers.updatePod({ type: 'kill', runningPod: status });
      }
    }
    for (const id of this.podWorkers.uids()) {
      const info = this.podWorkers.info(id)!;
      if (this.pods.has(id) || !info.finished) continue;
      const st = this.podCache.get(id);
      try {
        await this.runtimeManager.removePod(id, st.name, st.namespace);
        this.podWorkers.forget(id);
        this.podRefs?.tokens.deleteServiceAccountToken(id);
        this.statusManager.deletePod(id);
        this.lastSyncTime.delete(id);
        this.startedPods.delete(id);
        this.log.info('removed pod', { pod: `${st.namespace}/${st.name}`, podUID: id });
      } catch (e) {
        this.log.warn('failed to remove pod, will retry', { podUID: id, err: errorMessage(e) });
      }
    }
  }

  // ------------------------------------------------------------ pod workers' sync functions

  private generateStatus(pod: V1Pod, runtimeStatus: RuntimePodStatus, podIsTerminal = false): V1PodStatus {
    return generatePodStatus({
      podIsTerminal,
      pod,
      runtimeStatus,
      oldStatus: this.statusManager.getPodStatus(uid(pod)) ?? this.previousStatuses.get(uid(pod)),
      reasons: this.runtimeManager.reasons.get(uid(pod)),
      readiness: (id) => this.probeManager.readiness(id),
      started: (id) => this.probeManager.started(id),
      hostIP: this.settings.node.hostIP,
      nowMs: this.deps.clock.now(),
      runtimeName: this.settings.runtimeName,
    });
  }

  private setStatus(pod: V1Pod, status: V1PodStatus): void {
    this.statusManager.setPodStatus(pod, status);
    const id = uid(pod);
    if (!this.startedPods.has(id) && status.phase === 'Running' && (status.containerStatuses ?? []).every((c) => c.state?.running)) {
      this.startedPods.add(id);
      const seen = podSeen(pod);
      if (seen) this.podStartDuration.observe((this.deps.clock.now() - seen) / 1000);
    }
  }

  private async syncPod(pod: V1Pod, _type: UpdateType, signal: AbortSignal): Promise<SyncResult> {
    const id = uid(pod);
    // A failed liveness/startup probe acts on the cached status at once (the container to kill is
    // in it); otherwise wait for a status newer than the last sync, so nothing acts on stale state.
    let cached: RuntimePodStatus | undefined;
    try {
      cached = this.podCache.get(id);
    } catch {
      cached = undefined; // the last read failed: wait for a good one
    }
    const probeKill = !!cached?.containerStatuses.some((c) => c.state === 'running' && this.probeManager.probeVerdict(c.id));
    const runtimeStatus = probeKill && cached ? cached : await this.podCache.getNewerThan(id, this.lastSyncTime.get(id) ?? 0, signal);
    if (signal.aborted) return {};
    this.probeManager.addPod(pod);
    const status = this.generateStatus(pod, runtimeStatus);
    this.setStatus(pod, status);
    if (isPodTerminal(this.statusManager.getPodStatus(id))) return { terminal: true };

    const result = await this.runtimeManager.syncPod(pod, runtimeStatus, this.probeManager.probeVerdict);
    // projected/configMap/secret volumes follow their sources (a token refreshed at 80 % of its life)
    await this.runtimeManager.volumes.refresh(pod);
    this.lastSyncTime.set(id, this.deps.clock.now());
    // show start failures (CrashLoopBackOff, ErrImagePull, ...) now rather than at the next sync
    if (result.failures.length) this.setStatus(pod, this.generateStatus(pod, runtimeStatus));
    const hard = result.failures.filter((f) => f.reason !== 'CrashLoopBackOff' && f.reason !== 'ImagePullBackOff');
    if (hard.length) throw new Error(hard.map((f) => `${f.action} ${f.target}: ${f.reason}: ${f.message}`).join('; '));
    return result.retryAt !== undefined ? { retryAt: result.retryAt } : {};
  }

  private async syncTerminatingPod(pod: V1Pod | undefined, running: RuntimePodStatus | undefined, grace: number | undefined, id: string): Promise<void> {
    const name = pod?.metadata?.name ?? running?.name ?? '';
    const ns = pod?.metadata?.namespace ?? running?.namespace ?? '';
    if (pod) this.probeManager.stopLivenessAndStartup(pod);
    const status = await this.runtimeManager.getPodStatus(id, name, ns);
    await this.runtimeManager.killPod(pod, status, grace);
    if (pod) this.probeManager.removePod(pod);
    if (pod) {
      // every container is stopped and none will start again: the phase becomes terminal
      // (syncTerminatingPod's generateAPIPodStatus(pod, status, true))
      const after = await this.runtimeManager.getPodStatus(id, name, ns);
      this.setStatus(pod, this.generateStatus(pod, after, true));
    }
  }

  private async syncTerminatedPod(_pod: V1Pod | undefined, _uid: string): Promise<void> {
    // volumes and directories are released when the pod is removed (housekeeping)
  }

  // ------------------------------------------------------------ what the API and CLI read

  listEvents(filter?: { name?: string; namespace?: string; uid?: string }): ReturnType<LocalEventStore['list']> {
    return this.events.list(filter);
  }

  /** A desired pod by namespace and name, with its latest status (for the HTTP handlers). */
  getPodByName(namespace: string, name: string): PodWithStatus | undefined {
    for (const pod of this.pods.values()) {
      if (pod.metadata?.namespace === namespace && pod.metadata?.name === name) return { pod, status: this.statusManager.getPodStatus(uid(pod)) };
    }
    return undefined;
  }

  /** A container's status as last reported (before a restart: from the checkpoint), if it is the same container. */
  private previousContainerStatus(podUid: string, name: string, containerId: string): V1ContainerStatus | undefined {
    const st = this.statusManager.getPodStatus(podUid) ?? this.previousStatuses.get(podUid);
    const cs = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? [])].find((c) => c.name === name);
    return cs?.containerID?.endsWith(`://${containerId}`) ? cs : undefined;
  }

  podLogsDirectory(pod: V1Pod): string {
    return podLogsDirectory(this.settings.podLogsDir, pod);
  }

  getPods(): PodWithStatus[] {
    return [...this.pods.values()].map((pod) => ({ pod, status: this.statusManager.getPodStatus(uid(pod)) }));
  }

  healthChecks(): HealthCheck[] {
    const now = this.deps.clock.now();
    const pleg = this.pleg.healthy();
    const sinceTick = now - this.lastSyncLoopTick;
    return [
      { name: 'ping', ok: true, message: 'ok' },
      {
        name: 'syncloop',
        ok: sinceTick <= syncLoopHealthThresholdMs,
        message: sinceTick <= syncLoopHealthThresholdMs ? 'ok' : `sync Loop took longer than expected: last seen ${Math.round(sinceTick / 1000)}s ago`,
      },
      { name: 'pleg', ok: pleg.ok, message: pleg.ok ? 'ok' : pleg.message },
    ];
  }
}

function uid(pod: V1Pod): string {
  return pod.metadata?.uid ?? '';
}

/** When the kubelet first saw the pod (config.seen annotation), ms; 0 if unknown. */
function podSeen(pod: V1Pod): number {
  const s = pod.metadata?.annotations?.['kubernetes.io/config.seen'];
  const t = s ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : 0;
}
