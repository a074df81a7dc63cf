// KubeRuntimeManager: the kubelet's kuberuntime (pkg/kubelet/kuberuntime/kuberuntime_manager.go,
// kuberuntime_container.go, kuberuntime_sandbox.go): turns "this pod should look like its spec"
// into CRI calls, and reads back what the runtime has.
//
// - getPods / getPodStatus rebuild pods from the runtime's labels alone (so a restarted nodelet
//   adopts what runs);
// - syncPod executes computePodActions (actions.ts): sandbox (re)creation, kills, init containers,
//   starts with CrashLoopBackOff (10 s doubling to 5 m, reset after 10 min clean);
// - killPod stops containers in parallel within their grace period, then the sandboxes;
// - removePod deletes a terminated pod's containers, sandboxes, log and pod directories at once
//   (upstream leaves that to the 1-minute container GC; nodelet cleans up as soon as a pod is
//   gone, which is what its housekeeping is for).

import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1LifecycleHandler, V1Pod } from '@kubernetes/client-node';
import { hashContainer } from '../../api/hash.js';
import type { Clock } from '../../util/clock.js';
import { Backoff } from '../../util/backoff.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { formatDuration } from '../../util/duration.js';
import { NotFoundError, type ContainerStatus, type PodSandboxConfig, type Runtime } from '../../runtime/index.js';
import type {
  PodStatusProvider,
  RuntimeContainerState,
  RuntimeContainerStatus,
  RuntimePod,
  RuntimePodStatus,
  RuntimeSandboxStatus,
} from '../container/index.js';
import type { EventRecorder, ObjectRef } from '../events/index.js';
import { ImageError, ImagePuller, type ImagePullSettings } from '../images/index.js';
import { cleanupPodDir, makeMounts, MountError, PodVolumes, terminationMessageFile, VolumeError, writeEtcHosts } from '../volumes/index.js';
import type { ConfigMapGetter } from '../configmap/index.js';
import type { SecretGetter } from '../secret/index.js';
import type { ServiceAccountTokenGetter } from '../token/index.js';
import { computePodActions, type ProbeVerdict } from './actions.js';
import {
  ContainerConfigError,
  environmentWarnings,
  fetchEnvSources,
  generateContainerConfig,
  generatePodSandboxConfig,
  managedHostsFile,
  podLogsDirectory,
  verifyRunAsNonRoot,
  type NodeContext,
} from './config.js';
import { runHandler } from '../lifecycle/index.js';
import { joinCriLog } from '../logs/crilog.js';
import { containerInfoFromLabels, containerPreStopHandlerAnnotation, nodeNameLabel, podNameLabel, podNamespaceLabel, podUidLabel } from './labels.js';

/** Waiting reasons the kubelet reports for a container it could not start. */
export type StartFailureReason =
  | 'CrashLoopBackOff'
  | 'ErrImagePull'
  | 'ImagePullBackOff'
  | 'ErrImageNeverPull'
  | 'InvalidImageName'
  | 'ImageInspectError'
  | 'CreateContainerConfigError'
  | 'CreateContainerError'
  | 'RunContainerError'
  | 'PreStartHookError'
  | 'PostStartHookError';

export interface SyncFailure {
  action: 'CreatePodSandbox' | 'KillPodSandbox' | 'StartContainer' | 'InitContainer' | 'KillContainer';
  target: string;
  reason: string;
  message: string;
}

export interface PodSyncResult {
  failures: SyncFailure[];
  /** When a container in CrashLoopBackOff/ImagePullBackOff may be retried (ms), if any. */
  retryAt?: number;
}

/** The last start failure of each container, per pod (kubelet's ReasonCache). */
export class ReasonCache {
  private readonly byPod = new Map<string, Map<string, { reason: string; message: string }>>();
  set(uid: string, container: string, reason: string, message: string): void {
    let m = this.byPod.get(uid);
    if (!m) this.byPod.set(uid, (m = new Map()));
    m.set(container, { reason, message });
  }
  remove(uid: string, container: string): void {
    this.byPod.get(uid)?.delete(container);
  }
  get(uid: string): ReadonlyMap<string, { reason: string; message: string }> {
    return this.byPod.get(uid) ?? new Map();
  }
  deletePod(uid: string): void {
    this.byPod.delete(uid);
  }
}

export interface KubeRuntimeManagerOptions {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  recorder: EventRecorder;
  node: NodeContext;
  /** --root-dir: pod directories live under <rootDir>/pods/<uid>. */
  rootDir: string;
  /** Where pod log directories go (the kubelet's /var/log/pods). */
  podLogsRoot: string;
  /** Name of the runtime for containerID URIs (containerd://...). */
  runtimeName?: string;
  /**
   * Image pull settings (serializeImagePulls, registryPullQPS, ...); kubelet defaults when absent.
   * In cluster mode `getPullSecrets` reads the pod's imagePullSecrets (secret/pullSecretsGetter).
   */
  imagePulls?: ImagePullSettings;
  /** Cluster mode: where env configMapKeyRef/configMapRef and configMap volumes/sources are read (the ConfigMapManager). */
  configMaps?: ConfigMapGetter;
  /** Cluster mode: where env secretKeyRef/secretRef and secret volumes/sources are read (the SecretManager). */
  secrets?: SecretGetter;
  /** Cluster mode: service-account tokens for serviceAccountToken projections (the TokenManager). */
  tokens?: ServiceAccountTokenGetter;
}

const minimumGracePeriodSeconds = 2;
/** The kubelet's termination message limits (kubecontainer.MaxContainerTerminationMessage*). */
const maxTerminationMessageLength = 4 * 1024;
const maxTerminationMessageLogLength = 2 * 1024;
const maxTerminationMessageLogLines = 80;

function toState(s: string): RuntimeContainerState {
  switch (s) {
    case 'CONTAINER_CREATED':
      return 'created';
    case 'CONTAINER_RUNNING':
      return 'running';
    case 'CONTAINER_EXITED':
      return 'exited';
    default:
      return 'unknown';
  }
}

export function podRef(pod: V1Pod, container?: V1Container | string, type: 'containers' | 'initContainers' = 'containers'): ObjectRef {
  const ref: ObjectRef = { kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' };
  if (container) ref.fieldPath = `spec.${type}{${typeof container === 'string' ? container : container.name}}`;
  return ref;
}

export class KubeRuntimeManager implements PodStatusProvider {
  readonly reasons = new ReasonCache();
  readonly crashBackoff: Backoff;
  readonly images: ImagePuller;
  /** The pod volumes (setUp at each container start; the kubelet calls volumes.refresh(pod) on pod syncs). */
  readonly volumes: PodVolumes;
  private readonly envGetters: { configMaps?: ConfigMapGetter | undefined; secrets?: SecretGetter | undefined };
  private readonly runtime: Runtime;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly recorder: EventRecorder;
  private readonly node: NodeContext;
  private readonly rootDir: string;
  private readonly podLogsRoot: string;
  readonly runtimeName: string;
  private readonly terminationMessages = new Map<string, string>();

  constructor(opts: KubeRuntimeManagerOptions) {
    this.runtime = opts.runtime;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.recorder = opts.recorder;
    this.node = opts.node;
    this.rootDir = opts.rootDir;
    this.podLogsRoot = opts.podLogsRoot;
    this.runtimeName = opts.runtimeName ?? 'containerd';
    this.crashBackoff = new Backoff(opts.clock, 10_000, 300_000);
    this.images = new ImagePuller({ ...opts.imagePulls, runtime: opts.runtime, clock: opts.clock, recorder: opts.recorder, logger: opts.logger.child({ component: 'images' }) });
    this.envGetters = { configMaps: opts.configMaps, secrets: opts.secrets };
    this.volumes = new PodVolumes({
      rootDir: opts.rootDir,
      clock: opts.clock,
      recorder: opts.recorder,
      logger: opts.logger.child({ component: 'volumes' }),
      ...(opts.configMaps ? { configMaps: opts.configMaps } : {}),
      ...(opts.secrets ? { secrets: opts.secrets } : {}),
      ...(opts.tokens ? { tokens: opts.tokens } : {}),
    });
  }

  // ------------------------------------------------------------ reading the runtime

  async getPods(all: boolean): Promise<RuntimePod[]> {
    const [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandbox(all ? undefined : { state: 'SANDBOX_READY' }),
      this.runtime.listContainers(all ? undefined : { state: 'CONTAINER_RUNNING' }),
    ]);
    const pods = new Map<string, RuntimePod>();
    const podOf = (labels: Record<string, string>): RuntimePod | undefined => {
      const uid = labels[podUidLabel];
      if (!uid) return undefined; // not created by a kubelet
      let p = pods.get(uid);
      if (!p) pods.set(uid, (p = { uid, name: labels[podNameLabel] ?? '', namespace: labels[podNamespaceLabel] ?? '', containers: [], sandboxes: [] }));
      return p;
    };
    for (const s of sandboxes) {
      podOf(s.labels)?.sandboxes.push({ id: s.id, state: s.state === 'SANDBOX_READY' ? 'ready' : 'notready', createdAt: s.createdAt, attempt: s.metadata.attempt });
    }
    for (const c of containers) {
      const info = containerInfoFromLabels(c.labels, c.annotations);
      podOf(c.labels)?.containers.push({
        id: c.id,
        name: info.containerName || c.metadata.name,
        image: c.image.image,
        imageRef: c.imageRef,
        hash: info.hash,
        state: toState(c.state),
        createdAt: c.createdAt,
        podSandboxId: c.podSandboxId,
      });
    }
    return [...pods.values()];
  }

  async getPodStatus(uid: string, name: string, namespace: string, listed?: RuntimePod): Promise<RuntimePodStatus> {
    const now = this.clock.now();
    // the PLEG hands over what its relist just listed: no need to list again (two fewer CRI calls per pod)
    const sandboxes = (listed ? listed.sandboxes : await this.runtime.listPodSandbox({ labelSelector: { [podUidLabel]: uid } })).sort((a, b) => b.createdAt - a.createdAt);
    const sandboxStatuses: RuntimeSandboxStatus[] = [];
    let ips: string[] = [];
    let owner = '';
    for (const [i, s] of sandboxes.entries()) {
      try {
        const st = (await this.runtime.podSandboxStatus(s.id)).status;
        const hostNetwork = st.linux?.namespaces?.options?.network === 'NODE';
        const ip = st.network?.ip ?? '';
        const status: RuntimeSandboxStatus = {
          id: st.id,
          state: st.state === 'SANDBOX_READY' ? 'ready' : 'notready',
          createdAt: Math.floor(st.createdAt / 1e6),
          attempt: st.metadata.attempt,
          ip: hostNetwork ? this.node.hostIP : ip,
          additionalIps: (st.network?.additionalIps ?? []).map((x) => x.ip),
          hostNetwork,
        };
        sandboxStatuses.push(status);
        if (i === 0 && status.state === 'ready') ips = [status.ip, ...status.additionalIps].filter(Boolean);
        owner ||= st.labels[nodeNameLabel] ?? '';
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    const containers = listed ? listed.containers : await this.runtime.listContainers({ labelSelector: { [podUidLabel]: uid } });
    const statuses: RuntimeContainerStatus[] = [];
    for (const c of containers) {
      let st: ContainerStatus;
      try {
        st = (await this.runtime.containerStatus(c.id)).status;
      } catch (e) {
        if (e instanceof NotFoundError) continue; // removed meanwhile
        throw e;
      }
      const info = containerInfoFromLabels(st.labels, st.annotations);
      owner ||= st.labels[nodeNameLabel] ?? '';
      if (st.state === 'CONTAINER_EXITED') st.message = this.terminationMessage(st, info) || st.message;
      statuses.push({
        id: st.id,
        name: info.containerName || st.metadata.name,
        state: toState(st.state),
        createdAt: Math.floor(st.createdAt / 1e6),
        startedAt: Math.floor(st.startedAt / 1e6),
        finishedAt: Math.floor(st.finishedAt / 1e6),
        exitCode: st.exitCode,
        image: st.image?.image ?? '',
        imageRef: st.imageRef,
        hash: info.hash,
        restartCount: info.restartCount,
        reason: st.reason,
        message: st.message,
        podSandboxId: c.podSandboxId,
        logPath: st.logPath,
      });
    }
    statuses.sort((a, b) => b.createdAt - a.createdAt);
    return { uid, name, namespace, ips, sandboxStatuses, containerStatuses: statuses, timestamp: now, owner };
  }

  /**
   * The terminated container's message (getTerminationMessage): the file at terminationMessagePath
   * (at most 4 KiB), or with FallbackToLogsOnError and a failure, the end of its log (80 lines,
   * 2 KiB). Read once per container: an exited container does not change.
   */
  private terminationMessage(st: ContainerStatus, info: { terminationMessagePath: string; terminationMessagePolicy: string }): string {
    const cached = this.terminationMessages.get(st.id);
    if (cached !== undefined) return cached;
    let msg = '';
    const mount = st.mounts.find((m) => m.containerPath === info.terminationMessagePath);
    if (mount) {
      try {
        const fd = openSync(mount.hostPath, 'r');
        try {
          const buf = Buffer.alloc(maxTerminationMessageLength);
          const n = readSync(fd, buf, 0, buf.length, 0);
          msg = buf.subarray(0, n).toString('utf8');
        } finally {
          closeSync(fd);
        }
      } catch {
        msg = '';
      }
    }
    if (!msg && info.terminationMessagePolicy === 'FallbackToLogsOnError' && st.exitCode !== 0 && st.logPath) {
      try {
        const lines = joinCriLog(readFileSync(st.logPath, 'utf8')).slice(-maxTerminationMessageLogLines);
        msg = lines.map((l) => l.text).join('\n');
        if (lines.length) msg += '\n';
        if (Buffer.byteLength(msg) > maxTerminationMessageLogLength) msg = Buffer.from(msg).subarray(-maxTerminationMessageLogLength).toString('utf8');
      } catch {
        msg = '';
      }
    }
    this.terminationMessages.set(st.id, msg);
    if (this.terminationMessages.size > 10_000) this.terminationMessages.delete(this.terminationMessages.keys().next().value!);
    return msg;
  }

  // ------------------------------------------------------------ syncing a pod

  async syncPod(pod: V1Pod, status: RuntimePodStatus, probeVerdict?: ProbeVerdict): Promise<PodSyncResult> {
    const uid = pod.metadata?.uid ?? '';
    const log = this.logger.child({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, podUID: uid });
    const actions = computePodActions(pod, status, probeVerdict);
    const result: PodSyncResult = { failures: [] };

    if (actions.createSandbox && actions.attempt > 0) {
      this.recorder.event(podRef(pod), 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    }
    if (actions.killPod) {
      const anything = status.containerStatuses.some((c) => c.state === 'running') || status.sandboxStatuses.some((s) => s.state === 'ready');
      if (anything) log.info('killing pod', { reason: actions.createSandbox ? actions.sandboxReason : 'no container left to run' });
      await this.killPod(pod, status);
      if (actions.createSandbox) await this.purgeInitContainers(pod, status);
    } else {
      for (const [id, k] of actions.containersToKill) {
        await this.killContainer(pod, id, k.name, k.message, probeGracePeriod(pod, k), status.ips[0] ?? '').catch((e: unknown) =>
          result.failures.push({ action: 'KillContainer', target: k.name, reason: 'KillContainerError', message: errorMessage(e) }),
        );
      }
    }
    await this.pruneInitContainers(pod, status);

    let sandboxId = actions.sandboxId;
    let podIPs = status.ips;
    let sandboxConfig: PodSandboxConfig | undefined;
    if (actions.createSandbox) {
      sandboxConfig = generatePodSandboxConfig(pod, actions.attempt, this.node, this.podLogsRoot);
      mkdirSync(sandboxConfig.logDirectory!, { recursive: true, mode: 0o755 });
      try {
        sandboxId = await this.runtime.runPodSandbox(sandboxConfig);
      } catch (e) {
        const message = `Failed to create pod sandbox: ${errorMessage(e)}`;
        this.recorder.event(podRef(pod), 'Warning', 'FailedCreatePodSandBox', message);
        result.failures.push({ action: 'CreatePodSandbox', target: pod.metadata?.name ?? '', reason: 'CreatePodSandboxError', message });
        return result;
      }
      const st = (await this.runtime.podSandboxStatus(sandboxId)).status;
      podIPs = pod.spec?.hostNetwork ? [this.node.hostIP] : [st.network?.ip ?? '', ...(st.network?.additionalIps ?? []).map((x) => x.ip)].filter(Boolean);
      log.info('created pod sandbox', { sandbox: sandboxId, attempt: actions.attempt, ip: podIPs[0] ?? '' });
    } else if (!sandboxId) {
      return result; // nothing to run (e.g. a finished pod that must not restart)
    }
    sandboxConfig ??= generatePodSandboxConfig(pod, actions.attempt, this.node, this.podLogsRoot);

    const start = async (c: V1Container, type: 'containers' | 'init-containers'): Promise<void> => {
      const failure = await this.startContainer(pod, c, type, sandboxId, sandboxConfig!, status, podIPs, result);
      if (failure) {
        this.reasons.set(uid, c.name, failure.reason, failure.message);
        result.failures.push({ action: type === 'init-containers' ? 'InitContainer' : 'StartContainer', target: c.name, reason: failure.reason, message: failure.message });
      } else {
        this.reasons.remove(uid, c.name);
      }
    };
    if (actions.nextInitContainerToStart) {
      await start(actions.nextInitContainerToStart, 'init-containers');
      return result;
    }
    // containers start one after another, in spec order, as the kubelet does
    for (const idx of actions.containersToStart) await start(pod.spec!.containers[idx]!, 'containers');
    return result;
  }

  private backoffKey(pod: V1Pod, c: V1Container): string {
    return `${pod.metadata?.name}_${pod.metadata?.namespace}_${pod.metadata?.uid}_${c.name}_${hashContainer(c)}`;
  }

  /** Starts one container; returns the failure reason and message, or undefined when it started. */
  private async startContainer(
    pod: V1Pod,
    c: V1Container,
    type: 'containers' | 'init-containers',
    sandboxId: string,
    sandboxConfig: PodSandboxConfig,
    status: RuntimePodStatus,
    podIPs: string[],
    result: PodSyncResult,
  ): Promise<{ reason: StartFailureReason; message: string } | undefined> {
    const uid = pod.metadata?.uid ?? '';
    const ref = podRef(pod, c, type === 'init-containers' ? 'initContainers' : 'containers');
    const last = status.containerStatuses.find((s) => s.name === c.name);

    // CrashLoopBackOff: a container that exited waits out its backoff before the next start
    if (last && last.state === 'exited') {
      const key = this.backoffKey(pod, c);
      const finished = last.finishedAt || this.clock.now();
      if (this.crashBackoff.isInBackOffSince(key, finished)) {
        const until = this.crashBackoff.backoffEnds(key, finished);
        result.retryAt = Math.min(result.retryAt ?? Infinity, until);
        const message = `back-off ${formatDuration(this.crashBackoff.get(key))} restarting failed container=${c.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${uid})`;
        this.recorder.event(ref, 'Warning', 'BackOff', 'Back-off restarting failed container');
        return { reason: 'CrashLoopBackOff', message };
      }
      this.crashBackoff.next(key, finished);
    }

    let imageRef: string;
    let imageUser: { uid?: number; username: string };
    try {
      const img = await this.images.ensureImageExists(pod, c, ref, sandboxConfig);
      imageRef = img.imageRef;
      imageUser = img.user;
    } catch (e) {
      if (e instanceof ImageError) {
        if (e.reason !== 'ErrImageNeverPull' && e.reason !== 'InvalidImageName') result.retryAt = Math.min(result.retryAt ?? Infinity, this.clock.now() + 10_000);
        return { reason: e.reason, message: e.message };
      }
      return { reason: 'ErrImagePull', message: errorMessage(e) };
    }

    const restartCount = last ? last.restartCount + 1 : this.restartCountFromLogDir(pod, c.name);
    let config;
    try {
      verifyRunAsNonRoot(pod, c, imageUser);
      const volumes = await this.volumes.setUp(pod);
      const envSources = await fetchEnvSources(pod, c, this.envGetters);
      const etcHosts = writeEtcHosts(this.rootDir, uid, managedHostsFile(pod, podIPs, this.node.clusterDomain, pod.spec?.hostNetwork ? readHostsFile() : undefined));
      const termLog = c.terminationMessagePath === '' ? undefined : terminationMessageFile(this.rootDir, uid, c.name, `${restartCount}-${this.clock.now().toString(36)}`);
      config = generateContainerConfig({
        pod,
        container: c,
        type,
        restartCount,
        hash: hashContainer(c),
        imageRef,
        podIPs,
        node: this.node,
        mounts: makeMounts(c, volumes, etcHosts, termLog),
        envSources,
      });
      for (const w of environmentWarnings(c, { pod, podIPs, node: this.node, ...envSources })) this.recorder.event(podRef(pod), 'Warning', 'InvalidEnvironmentVariableNames', w);
    } catch (e) {
      // the FailedMount event is the volume's own (PodVolumes records it)
      if (e instanceof MountError) return { reason: 'CreateContainerConfigError', message: e.message };
      if (e instanceof ContainerConfigError || e instanceof VolumeError) {
        this.recorder.event(ref, 'Warning', 'Failed', `Error: ${e.message}`);
        return { reason: 'CreateContainerConfigError', message: e.message };
      }
      throw e;
    }
    mkdirSync(join(sandboxConfig.logDirectory!, c.name), { recursive: true, mode: 0o755 });
    let id: string;
    try {
      id = await this.runtime.createContainer(sandboxId, config, sandboxConfig);
    } catch (e) {
      const message = errorMessage(e);
      this.recorder.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      return { reason: 'CreateContainerError', message };
    }
    this.recorder.event(ref, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await this.runtime.startContainer(id);
    } catch (e) {
      const message = errorMessage(e);
      this.recorder.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      return { reason: 'RunContainerError', message };
    }
    this.recorder.event(ref, 'Normal', 'Started', `Started container ${c.name}`);
    if (c.lifecycle?.postStart) {
      try {
        await runHandler(c.lifecycle.postStart, { runtime: this.runtime, clock: this.clock, containerId: id, container: c, podIP: podIPs[0] ?? '' });
      } catch (e) {
        const message = errorMessage(e);
        this.recorder.event(ref, 'Warning', 'FailedPostStartHook', message);
        await this.killContainer(pod, id, c.name, 'FailedPostStartHook', undefined, podIPs[0] ?? '').catch(() => undefined);
        return { reason: 'PostStartHookError', message };
      }
    }
    return undefined;
  }

  /** Restart count from existing log files (the runtime may have lost its containers, e.g. after a reboot). */
  private restartCountFromLogDir(pod: V1Pod, name: string): number {
    try {
      const files = readdirSync(join(podLogsDirectory(this.podLogsRoot, pod), name));
      let max = -1;
      for (const f of files) {
        const m = /^(\d+)\.log/.exec(f);
        if (m) max = Math.max(max, Number(m[1]));
      }
      return max + 1;
    } catch {
      return 0;
    }
  }

  /** Removes all init containers (the sandbox is being recreated: initialization starts over). */
  private async purgeInitContainers(pod: V1Pod, status: RuntimePodStatus): Promise<void> {
    const inits = new Set((pod.spec?.initContainers ?? []).map((c) => c.name));
    for (const s of status.containerStatuses) {
      if (inits.has(s.name)) await this.runtime.removeContainer(s.id).catch(() => undefined);
    }
  }

  /** Keeps only the newest exited instance of each init container. */
  private async pruneInitContainers(pod: V1Pod, status: RuntimePodStatus): Promise<void> {
    const inits = new Set((pod.spec?.initContainers ?? []).map((c) => c.name));
    const seen = new Set<string>();
    for (const s of status.containerStatuses) {
      if (!inits.has(s.name) || s.state !== 'exited') continue;
      if (seen.has(s.name)) await this.runtime.removeContainer(s.id).catch(() => undefined);
      seen.add(s.name);
    }
  }

  // ------------------------------------------------------------ stopping

  /** Grace period for stopping a container: the delete's, else the pod's, never under 2 s. */
  gracePeriodSeconds(pod: V1Pod | undefined, labelled?: { terminationGracePeriodSeconds?: number; deletionGracePeriodSeconds?: number }, override?: number): number {
    let g = pod?.metadata?.deletionGracePeriodSeconds ?? pod?.spec?.terminationGracePeriodSeconds ?? labelled?.deletionGracePeriodSeconds ?? labelled?.terminationGracePeriodSeconds ?? 30;
    if (override !== undefined) g = override;
    return Math.max(minimumGracePeriodSeconds, g);
  }

  /**
   * Stops one container: runs its preStop hook within the grace period, then stops it with what is
   * left of the grace period (never under 2 s), as the kubelet's killContainer.
   */
  async killContainer(pod: V1Pod | undefined, containerId: string, name: string, message: string, gracePeriodOverride?: number, podIP = ''): Promise<void> {
    let labelled;
    let preStop: V1LifecycleHandler | undefined = pod ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name)?.lifecycle?.preStop : undefined;
    if (!pod) {
      // an orphan: the spec is gone, its labels and annotations say what the kubelet needs
      const st = await this.runtime.containerStatus(containerId).catch(() => undefined);
      if (st) {
        labelled = containerInfoFromLabels(st.status.labels, st.status.annotations);
        const raw = st.status.annotations[containerPreStopHandlerAnnotation];
        if (raw) preStop = JSON.parse(raw) as V1LifecycleHandler;
      }
    }
    let grace = this.gracePeriodSeconds(pod, labelled, gracePeriodOverride);
    if (pod) this.recorder.event(podRef(pod, name), 'Normal', 'Killing', message || `Stopping container ${name}`);
    if (preStop && grace > 0) {
      const t0 = this.clock.now();
      const spec = (pod ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name) : undefined) ?? { name };
      const deadline = new AbortController();
      const timer = this.clock.setTimeout(() => deadline.abort(new Error('preStop hook exceeded the grace period')), grace * 1000);
      try {
        await Promise.race([
          runHandler(preStop, { runtime: this.runtime, clock: this.clock, containerId, container: spec, podIP, signal: deadline.signal, timeoutSeconds: grace }),
          new Promise((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true })),
        ]);
      } catch (e) {
        const msg = errorMessage(e);
        if (pod) this.recorder.event(podRef(pod, name), 'Warning', 'FailedPreStopHook', msg);
        this.logger.warn('preStop hook failed', { containerID: containerId, container: name, err: msg });
      } finally {
        timer.stop();
      }
      // the grace period left after preStop goes to the stop
      grace = Math.max(minimumGracePeriodSeconds, grace - Math.floor((this.clock.now() - t0) / 1000));
    }
    this.logger.info('killing container', { containerID: containerId, container: name, gracePeriod: grace, reason: message });
    try {
      await this.runtime.stopContainer(containerId, grace);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /** Stops every running container of the pod (in parallel), then its sandboxes. */
  async killPod(pod: V1Pod | undefined, status: RuntimePodStatus, gracePeriodOverride?: number): Promise<void> {
    const running = status.containerStatuses.filter((c) => c.state === 'running' || c.state === 'created' || c.state === 'unknown');
    const results = await Promise.allSettled(running.map((c) => this.killContainer(pod, c.id, c.name, `Stopping container ${c.name}`, gracePeriodOverride, status.ips[0] ?? '')));
    for (const sb of status.sandboxStatuses) {
      if (sb.state !== 'ready') continue;
      await this.runtime.stopPodSandbox(sb.id).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
    }
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Deletes everything left of a terminated pod: containers, sandboxes, its log and pod directories. */
  async removePod(uid: string, name: string, namespace: string): Promise<void> {
    const status = await this.getPodStatus(uid, name, namespace);
    for (const c of status.containerStatuses) await this.runtime.removeContainer(c.id);
    for (const s of status.sandboxStatuses) {
      await this.runtime.stopPodSandbox(s.id).catch(() => undefined);
      await this.runtime.removePodSandbox(s.id);
    }
    rmSync(join(this.podLogsRoot, `${namespace}_${name}_${uid}`), { recursive: true, force: true });
    cleanupPodDir(this.rootDir, uid);
    this.reasons.deletePod(uid);
  }
}

/** A kill for a failed liveness or startup probe uses the probe's terminationGracePeriodSeconds, if set. */
function probeGracePeriod(pod: V1Pod, k: { name: string; reason: string }): number | undefined {
  const c = pod.spec?.containers?.find((x) => x.name === k.name);
  if (k.reason === 'Unhealthy') return c?.livenessProbe?.terminationGracePeriodSeconds;
  if (k.reason === 'StartupProbeFailed') return c?.startupProbe?.terminationGracePeriodSeconds;
  return undefined;
}

function readHostsFile(): string {
  try {
    return readFileSync('/etc/hosts', 'utf8');
  } catch {
    return '127.0.0.1\tlocalhost\n';
  }
}
