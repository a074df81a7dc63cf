// runtime/sim: an in-memory container runtime driven by the Clock.
//
// It answers the Runtime interface the way containerd 1.6's CRI plugin does (statuses, exit
// reasons, list filters, errors, log files in CRI format) so that unit tests and simulated nodes
// exercise the same kubelet code as real runs. Containers run their command through a tiny
// busybox-sh interpreter (./shell.ts): `sh -c 'sleep 5; exit 3'` exits 3 after 5 simulated
// seconds. Differences from containerd are found by the shared contract suite
// (test/contract/runtime-contract.ts) and fixed here.
//
// Test hooks: registry images (size, slow or failing pulls, required credentials), fault
// injection per method (errors, latency), runtime conditions, per-container resource usage,
// breaking the container event streams.
//
// Container events (watchContainerEvents) are CRI's GetContainerEvents as containerd publishes
// its task events: created/started/stopped/deleted for containers and for sandboxes (a sandbox
// is its pause container: started when it runs, stopped when it is stopped, deleted when
// removed). They are delivered on a microtask after the state change, never inside the call
// that made it. Unlike CRI, an event carries no statuses (the PLEG relists for them).

import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from '../../util/clock.js';
import { normalizeImageRef, parseImageRef, repositoryOf } from '../../util/imageref.js';
import {
  InvalidArgumentError,
  NotFoundError,
  RuntimeError,
  UnimplementedError,
  DeadlineExceededError,
} from '../errors.js';
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerEvent,
  ContainerEventHandlers,
  ContainerEventType,
  ContainerEventWatch,
  ContainerFilter,
  ContainerState,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatusResponse,
  ExecSyncResponse,
  Image,
  ImageFsInfo,
  LinuxContainerResources,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxState,
  PodSandboxStats,
  PodSandboxStatusResponse,
  Runtime,
  StatusResponse,
  StreamRequest,
  VersionInfo,
} from '../types.js';
import { knownCommands, SimProcess, type ProcessExit } from './shell.js';

/** An image the simulated registry can serve. */
export interface SimRegistryImage {
  /** Reference as users write it, e.g. `127.0.0.1:5000/busybox:latest`. */
  ref: string;
  size?: number;
  /** Command run when a container gives none (default: run forever). */
  defaultCommand?: string[];
  /** Simulated pull time. */
  pullDelayMs?: number;
  /** Pull fails with this message (gRPC Unknown, as containerd reports registry errors). */
  pullError?: string;
  /** Basic-auth credentials the registry requires. */
  auth?: { username: string; password: string };
  /** The runtime reports the image as pinned (never garbage collected). */
  pinned?: boolean;
}

export interface SimRuntimeOptions {
  clock: Clock;
  /** Images present in the image store at start (imported, not pulled). */
  images?: SimRegistryImage[];
  /** Images the simulated registry serves. */
  registry?: SimRegistryImage[];
  /** Mountpoint reported by ImageFsInfo. */
  imageFsMountpoint?: string;
  runtimeName?: string;
  /** Serve container events (default true); false answers watchContainerEvents as containerd 1.6's CRI does: Unimplemented. */
  containerEvents?: boolean;
}

interface Fault {
  error?: () => Error;
  latencyMs?: number;
  times: number;
}

interface SimImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  defaultCommand?: string[];
  pinned?: boolean;
}

interface SimSandbox {
  id: string;
  config: PodSandboxConfig;
  state: PodSandboxState;
  createdAt: number;
  ip: string;
  runtimeHandler: string;
}

interface SimContainer {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  imageId: string;
  imageRepoDigest: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
  files: Map<string, string>;
  process?: SimProcess;
  /** Simulated usage, settable by tests. */
  cpuNanoCores: number;
  memoryBytes: number;
  writableBytes: number;
  /** CPU time used (core-ns) up to cpuSinceNs; from then on the container uses cpuNanoCores. */
  cpuUsedNs: number;
  cpuSinceNs: number;
}

const ms2ns = (ms: number): number => ms * 1e6;
const defaultImageSize = 1_200_000;

function hexId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** RFC 3339 with nanoseconds, as containerd writes CRI log lines. */
export function criLogTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.000Z
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}

export class SimRuntime implements Runtime {
  private readonly clock: Clock;
  private readonly sandboxes = new Map<string, SimSandbox>();
  private readonly containers = new Map<string, SimContainer>();
  private readonly images = new Map<string, SimImage>();
  private readonly registry = new Map<string, SimRegistryImage>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly conditions = new Map<string, { status: boolean; reason: string; message: string }>([
    ['RuntimeReady', { status: true, reason: '', message: '' }],
    ['NetworkReady', { status: true, reason: '', message: '' }],
  ]);
  private seq = 0;
  private nextIp = 2;
  private podCidr = '';
  private readonly imageFsMountpoint: string;
  private readonly runtimeName: string;
  /** Calls made, by CRI method name: for tests that count runtime traffic. */
  readonly calls = new Map<string, number>();
  private readonly containerEvents: boolean;
  private readonly eventWatchers = new Set<{ handlers: ContainerEventHandlers; stopped: boolean }>();

  constructor(opts: SimRuntimeOptions) {
    this.clock = opts.clock;
    this.imageFsMountpoint = opts.imageFsMountpoint ?? '/var/lib/nodelet-sim/images';
    this.runtimeName = opts.runtimeName ?? 'nodelet-sim';
    this.containerEvents = opts.containerEvents ?? true;
    for (const img of opts.registry ?? []) this.registry.set(normalizeImageRef(img.ref), img);
    for (const img of opts.images ?? []) this.storeImage(img);
  }

  // ------------------------------------------------------------ test hooks

  /** Makes the next `times` calls of method (CRI name, e.g. "StartContainer") fail and/or wait. */
  injectFault(method: string, fault: { error?: () => Error; latencyMs?: number; times?: number }): void {
    const list = this.faults.get(method) ?? [];
    list.push({ ...fault, times: fault.times ?? 1 });
    this.faults.set(method, list);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  setCondition(type: 'RuntimeReady' | 'NetworkReady', status: boolean, reason = '', message = ''): void {
    this.conditions.set(type, { status, reason, message });
  }

  addRegistryImage(img: SimRegistryImage): void {
    this.registry.set(normalizeImageRef(img.ref), img);
  }

  /** Sets a running container's simulated resource usage. */
  setUsage(containerId: string, usage: { cpuNanoCores?: number; memoryBytes?: number; writableBytes?: number }): void {
    const c = this.mustContainer('SetUsage', containerId);
    if (usage.cpuNanoCores !== undefined) {
      // the time so far was used at the old rate: the cumulative counter never goes back
      const now = ms2ns(this.clock.now());
      c.cpuUsedNs = this.cpuUsedAt(c, now);
      c.cpuSinceNs = now;
      c.cpuNanoCores = usage.cpuNanoCores;
    }
    if (usage.memoryBytes !== undefined) c.memoryBytes = usage.memoryBytes;
    if (usage.writableBytes !== undefined) c.writableBytes = usage.writableBytes;
  }

  /** Ends a running container's process as if it exited by itself. */
  exitContainer(containerId: string, exitCode: number, oom = false): void {
    const c = this.mustContainer('ExitContainer', containerId);
    if (c.state === 'CONTAINER_RUNNING') this.onExit(c, { code: exitCode, kind: oom ? 'oom' : 'exit' });
  }

  /** Ends every container event watch with err (a broken stream); watchers are told through onError. */
  breakContainerEvents(err: Error = new RuntimeError('Unavailable', 'GetContainerEvents', 'the event stream broke')): void {
    const watchers = [...this.eventWatchers];
    this.eventWatchers.clear();
    queueMicrotask(() => {
      for (const w of watchers) {
        if (w.stopped) continue;
        w.stopped = true;
        w.handlers.onError?.(err);
      }
    });
  }

  /** Number of live container event watches. */
  containerEventWatches(): number {
    return this.eventWatchers.size;
  }

  private emitEvent(containerId: string, type: ContainerEventType, podSandboxId: string): void {
    if (this.eventWatchers.size === 0) return;
    const e: ContainerEvent = { containerId, type, podSandboxId, createdAt: ms2ns(this.clock.now()) };
    queueMicrotask(() => {
      for (const w of [...this.eventWatchers]) if (!w.stopped) w.handlers.onEvent({ ...e });
    });
  }

  private async enter(method: string): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const list = this.faults.get(method);
    const fault = list?.[0];
    if (!fault) return;
    if (--fault.times <= 0) list!.shift();
    if (fault.latencyMs) await this.clock.sleep(fault.latencyMs);
    if (fault.error) throw fault.error();
  }

  private newId(kind: string): string {
    return hexId(`${kind}/${++this.seq}/${this.runtimeName}`);
  }

  // ------------------------------------------------------------ runtime info

  async version(): Promise<VersionInfo> {
    await this.enter('Version');
    return { version: '0.1.0', runtimeName: this.runtimeName, runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
  }

  async status(): Promise<StatusResponse> {
    await this.enter('Status');
    return {
      status: { conditions: [...this.conditions].map(([type, c]) => ({ type, ...c })) },
      info: {},
    };
  }

  async updateRuntimeConfig(podCidr: string): Promise<void> {
    await this.enter('UpdateRuntimeConfig');
    this.podCidr = podCidr;
  }

  get currentPodCidr(): string {
    return this.podCidr;
  }

  // ------------------------------------------------------------ sandboxes

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    await this.enter('RunPodSandbox');
    const md = config.metadata;
    if (!md?.name || !md.namespace || !md.uid) {
      throw new InvalidArgumentError('RunPodSandbox', 'sandbox config must include metadata name, namespace and uid');
    }
    const hostNetwork = config.linux?.securityContext?.namespaceOptions?.network === 'NODE';
    if (hostNetwork && config.hostname) {
      // runc refuses this; the kubelet must send an empty hostname for host-network pods
      throw new RuntimeError('Unknown', 'RunPodSandbox', 'failed to create containerd task: unable to set hostname without a private UTS namespace');
    }
    for (const s of this.sandboxes.values()) {
      const m = s.config.metadata;
      if (m.name === md.name && m.namespace === md.namespace && m.uid === md.uid && m.attempt === md.attempt) {
        throw new RuntimeError('Unknown', 'RunPodSandbox', `failed to reserve sandbox name "${md.name}_${md.namespace}_${md.uid}_${md.attempt}": name is reserved for "${s.id}"`);
      }
    }
    const id = this.newId('sandbox');
    this.sandboxes.set(id, {
      id,
      config: structuredClone(config),
      state: 'SANDBOX_READY',
      createdAt: ms2ns(this.clock.now()),
      ip: hostNetwork ? '' : `10.88.${Math.floor(this.nextIp / 250)}.${(this.nextIp++ % 250) + 2}`,
      runtimeHandler,
    });
    this.emitEvent(id, 'created', id);
    this.emitEvent(id, 'started', id);
    return id;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.enter('StopPodSandbox');
    const s = this.sandboxes.get(podSandboxId);
    if (!s) return; // idempotent, as CRI requires
    for (const c of this.containers.values()) {
      if (c.sandboxId === podSandboxId && c.state === 'CONTAINER_RUNNING') c.process?.signal('KILL');
    }
    if (s.state === 'SANDBOX_READY') this.emitEvent(s.id, 'stopped', s.id);
    s.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.enter('RemovePodSandbox');
    const s = this.sandboxes.get(podSandboxId);
    if (!s) return;
    for (const c of [...this.containers.values()]) {
      if (c.sandboxId !== podSandboxId) continue;
      c.process?.signal('KILL');
      this.containers.delete(c.id);
      this.emitEvent(c.id, 'deleted', podSandboxId);
    }
    this.sandboxes.delete(podSandboxId);
    this.emitEvent(podSandboxId, 'deleted', podSandboxId);
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatusResponse> {
    await this.enter('PodSandboxStatus');
    const s = this.mustSandbox('PodSandboxStatus', podSandboxId);
    const ns = s.config.linux?.securityContext?.namespaceOptions ?? null;
    return {
      status: {
        id: s.id,
        metadata: { ...s.config.metadata },
        state: s.state,
        createdAt: s.createdAt,
        network: { ip: s.ip, additionalIps: [] },
        linux: { namespaces: { options: ns ? { network: 'POD', pid: 'CONTAINER', ipc: 'POD', targetId: '', ...ns } : null } },
        labels: { ...(s.config.labels ?? {}) },
        annotations: { ...(s.config.annotations ?? {}) },
        runtimeHandler: s.runtimeHandler,
      },
      info: {},
    };
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    await this.enter('ListPodSandbox');
    const out: PodSandbox[] = [];
    for (const s of this.sandboxes.values()) {
      if (filter?.id && !s.id.startsWith(filter.id)) continue;
      if (filter?.state && s.state !== filter.state) continue;
      if (!labelsMatch(s.config.labels, filter?.labelSelector)) continue;
      out.push({
        id: s.id,
        metadata: { ...s.config.metadata },
        state: s.state,
        createdAt: s.createdAt,
        labels: { ...(s.config.labels ?? {}) },
        annotations: { ...(s.config.annotations ?? {}) },
        runtimeHandler: s.runtimeHandler,
      });
    }
    return out;
  }

  // ------------------------------------------------------------ containers

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    await this.enter('CreateContainer');
    const s = this.sandboxes.get(podSandboxId);
    if (!s) throw new NotFoundError('CreateContainer', `failed to get sandbox "${podSandboxId}": not found`);
    if (s.state !== 'SANDBOX_READY') {
      throw new RuntimeError('Unknown', 'CreateContainer', `failed to create containerd container: sandbox "${podSandboxId}" is not running`);
    }
    if (!config.metadata?.name) throw new InvalidArgumentError('CreateContainer', 'container config must include metadata name');
    const img = this.findImage(config.image?.image ?? '');
    if (!img) {
      throw new NotFoundError('CreateContainer', `failed to get image "${config.image?.image ?? ''}": not found`);
    }
    for (const c of this.containers.values()) {
      if (c.sandboxId === podSandboxId && c.config.metadata.name === config.metadata.name && c.config.metadata.attempt === config.metadata.attempt) {
        throw new RuntimeError('Unknown', 'CreateContainer', `failed to reserve container name "${config.metadata.name}_${config.metadata.attempt}": name is reserved for "${c.id}"`);
      }
    }
    const id = this.newId('container');
    const logDir = sandboxConfig.logDirectory ?? s.config.logDirectory ?? '';
    const logPath = logDir && config.logPath ? join(logDir, config.logPath) : '';
    if (logPath) {
      mkdirSync(dirname(logPath), { recursive: true });
      appendFileSync(logPath, '');
    }
    this.containers.set(id, {
      id,
      sandboxId: podSandboxId,
      config: structuredClone(config),
      imageId: img.id,
      imageRepoDigest: img.repoDigests[0] ?? img.id,
      state: 'CONTAINER_CREATED',
      createdAt: ms2ns(this.clock.now()),
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: '',
      message: '',
      logPath,
      files: new Map(),
      cpuNanoCores: 1_000_000,
      memoryBytes: 1 << 20,
      writableBytes: 4096,
      cpuUsedNs: 0,
      cpuSinceNs: 0,
    });
    this.emitEvent(id, 'created', podSandboxId);
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.enter('StartContainer');
    const c = this.mustContainer('StartContainer', containerId);
    if (c.state !== 'CONTAINER_CREATED') {
      throw new RuntimeError('Unknown', 'StartContainer', `container "${containerId}" is in ${c.state} state, not CONTAINER_CREATED`);
    }
    const sandbox = this.sandboxes.get(c.sandboxId);
    if (!sandbox || sandbox.state !== 'SANDBOX_READY') {
      throw new RuntimeError('Unknown', 'StartContainer', `sandbox container "${c.sandboxId}" is not running`);
    }
    const img = this.images.get(c.imageId);
    const argv = [...(c.config.command ?? []), ...(c.config.args ?? [])];
    const effective = c.config.command?.length ? argv : [...(img?.defaultCommand ?? ['pause']), ...(c.config.args ?? [])];
    const bin = (effective[0] ?? '').replace(/^.*\//, '');
    const now = this.clock.now();
    if (!knownCommands.has(bin)) {
      // runc cannot exec the entrypoint: containerd marks the container exited with StartError
      c.state = 'CONTAINER_EXITED';
      c.startedAt = 0;
      c.finishedAt = ms2ns(now);
      c.exitCode = 128;
      c.reason = 'StartError';
      c.message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${effective[0] ?? ''}": executable file not found in $PATH: unknown`;
      throw new RuntimeError('Unknown', 'StartContainer', `failed to start containerd task "${containerId}": ${c.message}`);
    }
    const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    env['HOSTNAME'] = sandbox.config.hostname || sandbox.config.metadata.name;
    for (const kv of c.config.envs ?? []) env[kv.key] = kv.value;
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = ms2ns(now);
    c.cpuUsedNs = 0;
    c.cpuSinceNs = c.startedAt;
    // never throws: a script with a syntax error runs as a process that exits 2 (as sh does)
    const proc = SimProcess.fromArgv(
      {
        clock: this.clock,
        env,
        files: c.files,
        memoryLimit: c.config.linux?.resources?.memoryLimitInBytes ?? 0,
        io: { write: (stream, text) => this.writeLog(c, stream, text) },
        // CRI's pid mode defaults to POD (enum 0); CONTAINER makes the command PID 1
        pid1: c.config.linux?.securityContext?.namespaceOptions?.pid === 'CONTAINER',
      },
      effective,
    );
    this.loadMounts(c);
    c.process = proc;
    void proc.done.then((exit) => this.onExit(c, exit));
    this.emitEvent(c.id, 'started', c.sandboxId);
    proc.start();
  }

  private onExit(c: SimContainer, exit: ProcessExit): void {
    if (c.state !== 'CONTAINER_RUNNING') return;
    if (c.process && !c.process.exited) c.process.signal('KILL');
    c.state = 'CONTAINER_EXITED';
    c.finishedAt = ms2ns(this.clock.now());
    c.exitCode = exit.code;
    c.reason = exit.kind === 'oom' ? 'OOMKilled' : exit.code === 0 ? 'Completed' : 'Error';
    this.flushMounts(c);
    this.emitEvent(c.id, 'stopped', c.sandboxId);
  }

  /**
   * Mounts, simplified: a simulated container keeps its files in memory; at start it sees the
   * files of its host mounts (a file mount, or the files directly in a mounted directory), and
   * when it exits what it wrote under a mount reaches the host (an emptyDir written by an init
   * container, a termination-message file).
   */
  private loadMounts(c: SimContainer): void {
    for (const m of c.config.mounts ?? []) {
      try {
        const st = statSync(m.hostPath);
        if (st.isFile()) c.files.set(m.containerPath, readFileSync(m.hostPath, 'utf8'));
        else if (st.isDirectory()) {
          for (const name of readdirSync(m.hostPath)) {
            const p = join(m.hostPath, name);
            if (statSync(p).isFile()) c.files.set(`${m.containerPath.replace(/\/$/, '')}/${name}`, readFileSync(p, 'utf8'));
          }
        }
      } catch {
        // a missing host path: nothing to see
      }
    }
  }

  private flushMounts(c: SimContainer): void {
    for (const m of c.config.mounts ?? []) {
      if (m.readonly) continue;
      const dir = m.containerPath.replace(/\/$/, '');
      for (const [path, content] of c.files) {
        try {
          if (path === m.containerPath) writeFileSync(m.hostPath, content);
          else if (path.startsWith(`${dir}/`) && !path.slice(dir.length + 1).includes('/') && statSync(m.hostPath).isDirectory()) writeFileSync(join(m.hostPath, path.slice(dir.length + 1)), content);
        } catch {
          // host path gone
        }
      }
    }
  }

  /** Appends text to the container's log in CRI format, one record per line; a last line without newline is a P record. */
  private writeLog(c: SimContainer, stream: 'stdout' | 'stderr', text: string): void {
    if (!c.logPath || text === '') return;
    const ts = criLogTimestamp(this.clock.now());
    const lines = text.split('\n');
    const last = lines.pop()!;
    let out = lines.map((l) => `${ts} ${stream} F ${l}\n`).join('');
    if (last !== '') out += `${ts} ${stream} P ${last}\n`;
    try {
      appendFileSync(c.logPath, out);
    } catch {
      // log directory removed under us: containerd drops the output too
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.enter('StopContainer');
    const c = this.mustContainer('StopContainer', containerId);
    if (c.state !== 'CONTAINER_RUNNING' || !c.process) return;
    const proc = c.process;
    if (timeoutSeconds > 0) {
      proc.signal('TERM');
      const timer = this.clock.setTimeout(() => proc.signal('KILL'), timeoutSeconds * 1000);
      await proc.done;
      timer.stop();
    } else {
      proc.signal('KILL');
      await proc.done;
    }
    this.onExit(c, await proc.done);
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.enter('RemoveContainer');
    const c = this.containers.get(containerId);
    if (!c) return;
    c.process?.signal('KILL');
    this.containers.delete(containerId);
    this.emitEvent(c.id, 'deleted', c.sandboxId);
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    await this.enter('ListContainers');
    const out: Container[] = [];
    for (const c of this.containers.values()) {
      if (filter?.id && !c.id.startsWith(filter.id)) continue;
      if (filter?.state && c.state !== filter.state) continue;
      if (filter?.podSandboxId && !c.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (!labelsMatch(c.config.labels, filter?.labelSelector)) continue;
      out.push({
        id: c.id,
        podSandboxId: c.sandboxId,
        metadata: { ...c.config.metadata },
        image: { image: c.imageId },
        imageRef: c.imageId,
        state: c.state,
        createdAt: c.createdAt,
        labels: { ...(c.config.labels ?? {}) },
        annotations: { ...(c.config.annotations ?? {}) },
      });
    }
    return out;
  }

  async containerStatus(containerId: string): Promise<ContainerStatusResponse> {
    await this.enter('ContainerStatus');
    const c = this.mustContainer('ContainerStatus', containerId);
    const img = this.images.get(c.imageId);
    return {
      status: {
        id: c.id,
        metadata: { ...c.config.metadata },
        state: c.state,
        createdAt: c.createdAt,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        exitCode: c.exitCode,
        image: { image: img?.repoTags[0] ?? c.config.image.image },
        imageRef: c.imageRepoDigest,
        reason: c.reason,
        message: c.message,
        labels: { ...(c.config.labels ?? {}) },
        annotations: { ...(c.config.annotations ?? {}) },
        mounts: (c.config.mounts ?? []).map((m) => ({ ...m })),
        logPath: c.logPath,
      },
      info: {},
    };
  }

  async updateContainerResources(containerId: string, linux: LinuxContainerResources): Promise<void> {
    await this.enter('UpdateContainerResources');
    const c = this.mustContainer('UpdateContainerResources', containerId);
    c.config.linux = { ...(c.config.linux ?? {}), resources: { ...(c.config.linux?.resources ?? {}), ...linux } };
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.enter('ReopenContainerLog');
    const c = this.mustContainer('ReopenContainerLog', containerId);
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new RuntimeError('Unknown', 'ReopenContainerLog', 'container is not running');
    }
    if (c.logPath) appendFileSync(c.logPath, ''); // the rotated file was renamed away: start a new one
  }

  /** Renames the log file (what log rotation does before ReopenContainerLog); for tests. */
  rotateLogForTest(containerId: string, to: string): void {
    const c = this.mustContainer('RotateLog', containerId);
    renameSync(c.logPath, to);
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResponse> {
    await this.enter('ExecSync');
    const c = this.mustContainer('ExecSync', containerId);
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new RuntimeError('Unknown', 'ExecSync', `failed to exec in container: container is in ${c.state} state`);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const env: Record<string, string> = {};
    for (const kv of c.config.envs ?? []) env[kv.key] = kv.value;
    const bin = (cmd[0] ?? '').replace(/^.*\//, '');
    if (!knownCommands.has(bin)) {
      throw new RuntimeError('Unknown', 'ExecSync', `failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd[0] ?? ''}": executable file not found in $PATH: unknown`);
    }
    const proc = SimProcess.fromArgv(
      {
        clock: this.clock,
        env,
        files: c.files,
        memoryLimit: 0,
        io: { write: (s, t) => (s === 'stdout' ? out : err).push(Buffer.from(t)) },
      },
      cmd,
    ).start();
    let timer;
    if (timeoutSeconds > 0) {
      timer = this.clock.setTimeout(() => proc.signal('KILL'), timeoutSeconds * 1000);
    }
    const exit = await proc.done;
    timer?.stop();
    if (exit.kind === 'killed' && timeoutSeconds > 0) {
      throw new DeadlineExceededError('ExecSync', `command ${JSON.stringify(cmd)} timed out after ${timeoutSeconds}s`);
    }
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: exit.code };
  }

  async exec(req: StreamRequest): Promise<string> {
    await this.enter('Exec');
    this.mustContainer('Exec', req.containerId);
    throw new UnimplementedError('Exec', 'the simulated runtime has no streaming server');
  }

  async attach(req: StreamRequest): Promise<string> {
    await this.enter('Attach');
    this.mustContainer('Attach', req.containerId);
    throw new UnimplementedError('Attach', 'the simulated runtime has no streaming server');
  }

  async portForward(podSandboxId: string): Promise<string> {
    await this.enter('PortForward');
    this.mustSandbox('PortForward', podSandboxId);
    throw new UnimplementedError('PortForward', 'the simulated runtime has no streaming server');
  }

  // ------------------------------------------------------------ stats

  /** Cumulative CPU time (core-ns) a container has used by time t (ns): none before it started or after it exited. */
  private cpuUsedAt(c: SimContainer, t: number): number {
    if (!c.startedAt) return 0;
    const end = c.state === 'CONTAINER_RUNNING' ? t : Math.min(t, c.finishedAt || t);
    return c.cpuUsedNs + (Math.max(0, end - c.cpuSinceNs) / 1e9) * c.cpuNanoCores;
  }

  private statsOf(c: SimContainer): ContainerStats {
    const now = ms2ns(this.clock.now());
    const running = c.state === 'CONTAINER_RUNNING';
    const used = Math.round(this.cpuUsedAt(c, now));
    return {
      attributes: {
        id: c.id,
        metadata: { ...c.config.metadata },
        labels: { ...(c.config.labels ?? {}) },
        annotations: { ...(c.config.annotations ?? {}) },
      },
      cpu: { timestamp: now, usageCoreNanoSeconds: { value: used }, usageNanoCores: { value: running ? c.cpuNanoCores : 0 } },
      memory: {
        timestamp: now,
        workingSetBytes: { value: running ? c.memoryBytes : 0 },
        availableBytes: { value: 0 },
        usageBytes: { value: running ? c.memoryBytes : 0 },
        rssBytes: { value: running ? c.memoryBytes : 0 },
        pageFaults: { value: 0 },
        majorPageFaults: { value: 0 },
      },
      writableLayer: {
        timestamp: now,
        fsId: { mountpoint: this.imageFsMountpoint },
        usedBytes: { value: c.writableBytes },
        inodesUsed: { value: 1 },
      },
    };
  }

  async containerStats(containerId: string): Promise<ContainerStats> {
    await this.enter('ContainerStats');
    return this.statsOf(this.mustContainer('ContainerStats', containerId));
  }

  async listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    await this.enter('ListContainerStats');
    const out: ContainerStats[] = [];
    for (const c of this.containers.values()) {
      if (filter?.id && !c.id.startsWith(filter.id)) continue;
      if (filter?.podSandboxId && !c.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (!labelsMatch(c.config.labels, filter?.labelSelector)) continue;
      out.push(this.statsOf(c));
    }
    return out;
  }

  private sandboxStats(s: SimSandbox): PodSandboxStats {
    const containers = [...this.containers.values()].filter((c) => c.sandboxId === s.id).map((c) => this.statsOf(c));
    const now = ms2ns(this.clock.now());
    const sum = (f: (c: ContainerStats) => number): number => containers.reduce((a, c) => a + f(c), 0);
    return {
      attributes: {
        id: s.id,
        metadata: { ...s.config.metadata },
        labels: { ...(s.config.labels ?? {}) },
        annotations: { ...(s.config.annotations ?? {}) },
      },
      linux: {
        cpu: {
          timestamp: now,
          usageCoreNanoSeconds: { value: sum((c) => c.cpu?.usageCoreNanoSeconds?.value ?? 0) },
          usageNanoCores: { value: sum((c) => c.cpu?.usageNanoCores?.value ?? 0) },
        },
        memory: {
          timestamp: now,
          workingSetBytes: { value: sum((c) => c.memory?.workingSetBytes?.value ?? 0) },
          availableBytes: { value: 0 },
          usageBytes: { value: sum((c) => c.memory?.usageBytes?.value ?? 0) },
          rssBytes: { value: sum((c) => c.memory?.rssBytes?.value ?? 0) },
          pageFaults: { value: 0 },
          majorPageFaults: { value: 0 },
        },
        containers,
      },
    };
  }

  async podSandboxStats(podSandboxId: string): Promise<PodSandboxStats> {
    await this.enter('PodSandboxStats');
    return this.sandboxStats(this.mustSandbox('PodSandboxStats', podSandboxId));
  }

  async listPodSandboxStats(filter?: PodSandboxFilter): Promise<PodSandboxStats[]> {
    await this.enter('ListPodSandboxStats');
    return [...this.sandboxes.values()]
      .filter((s) => (!filter?.id || s.id.startsWith(filter.id)) && labelsMatch(s.config.labels, filter?.labelSelector))
      .map((s) => this.sandboxStats(s));
  }

  // ------------------------------------------------------------ images

  private storeImage(img: SimRegistryImage): SimImage {
    const ref = normalizeImageRef(img.ref);
    const repo = repositoryOf(img.ref);
    const digest = `sha256:${hexId(`manifest/${repo}/${img.size ?? defaultImageSize}/${JSON.stringify(img.defaultCommand ?? [])}`)}`;
    const id = `sha256:${hexId(`config/${repo}/${img.size ?? defaultImageSize}/${JSON.stringify(img.defaultCommand ?? [])}`)}`;
    const existing = this.images.get(id);
    const image: SimImage = existing ?? { id, repoTags: [], repoDigests: [], size: img.size ?? defaultImageSize };
    if (img.defaultCommand) image.defaultCommand = img.defaultCommand;
    if (img.pinned) image.pinned = true;
    // a tag names one image: move it
    for (const other of this.images.values()) {
      if (other !== image) other.repoTags = other.repoTags.filter((t) => t !== ref);
    }
    if (!parseImageRef(img.ref).digest && !image.repoTags.includes(ref)) image.repoTags.push(ref);
    const repoDigest = `${repo}@${digest}`;
    if (!image.repoDigests.includes(repoDigest)) image.repoDigests.push(repoDigest);
    this.images.set(id, image);
    return image;
  }

  private findImage(ref: string): SimImage | undefined {
    if (ref === '') return undefined;
    const direct = this.images.get(ref) ?? this.images.get(`sha256:${ref}`);
    if (direct) return direct;
    let norm: string;
    try {
      norm = normalizeImageRef(ref);
    } catch {
      return undefined;
    }
    for (const img of this.images.values()) {
      if (img.repoTags.includes(norm) || img.repoDigests.includes(norm)) return img;
    }
    return undefined;
  }

  private toImage(img: SimImage): Image {
    return { id: img.id, repoTags: [...img.repoTags], repoDigests: [...img.repoDigests], size: img.size, uid: null, username: '', pinned: img.pinned ?? false };
  }

  async listImages(filter?: { image?: string }): Promise<Image[]> {
    await this.enter('ListImages');
    if (filter?.image) {
      const img = this.findImage(filter.image);
      return img ? [this.toImage(img)] : [];
    }
    return [...this.images.values()].map((i) => this.toImage(i));
  }

  async imageStatus(image: string): Promise<Image | null> {
    await this.enter('ImageStatus');
    const img = this.findImage(image);
    return img ? this.toImage(img) : null;
  }

  async pullImage(image: string, auth?: AuthConfig, _sandboxConfig?: PodSandboxConfig): Promise<string> {
    await this.enter('PullImage');
    let norm: string;
    try {
      norm = normalizeImageRef(image);
    } catch (e) {
      throw new RuntimeError('Unknown', 'PullImage', `failed to pull and unpack image "${image}": ${(e as Error).message}`);
    }
    const entry = this.registry.get(norm);
    if (!entry) {
      throw new NotFoundError('PullImage', `failed to pull and unpack image "${norm}": failed to resolve reference "${norm}": ${norm}: not found`);
    }
    if (entry.pullDelayMs) await this.clock.sleep(entry.pullDelayMs);
    if (entry.pullError) throw new RuntimeError('Unknown', 'PullImage', `failed to pull and unpack image "${norm}": ${entry.pullError}`);
    if (entry.auth) {
      let u = auth?.username;
      let p = auth?.password;
      if (auth?.auth) {
        // docker-config `auth` is base64("user:password"); the password may itself contain ':'
        const decoded = Buffer.from(auth.auth, 'base64').toString();
        const colon = decoded.indexOf(':');
        [u, p] = colon < 0 ? [decoded, undefined] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
      }
      if (u !== entry.auth.username || p !== entry.auth.password) {
        throw new RuntimeError('Unknown', 'PullImage', `failed to pull and unpack image "${norm}": failed to resolve reference "${norm}": pulling from host ${parseImageRef(norm).domain} failed with status code [manifests ${parseImageRef(norm).tag ?? 'latest'}]: 401 Unauthorized`);
      }
    }
    const img = this.storeImage({ ...entry, ref: norm });
    return img.id;
  }

  async removeImage(image: string): Promise<void> {
    await this.enter('RemoveImage');
    const img = this.findImage(image);
    if (!img) return; // idempotent
    for (const c of this.containers.values()) {
      if (c.imageId === img.id) {
        throw new RuntimeError('Unknown', 'RemoveImage', `failed to remove image "${image}": image is in use by container ${c.id}`);
      }
    }
    this.images.delete(img.id); // all tags go with it, as containerd does
  }

  async imageFsInfo(): Promise<ImageFsInfo> {
    await this.enter('ImageFsInfo');
    const used = [...this.images.values()].reduce((a, i) => a + i.size, 0);
    return {
      imageFilesystems: [
        {
          timestamp: ms2ns(this.clock.now()),
          fsId: { mountpoint: this.imageFsMountpoint },
          usedBytes: { value: used },
          inodesUsed: { value: this.images.size * 100 },
        },
      ],
      containerFilesystems: [],
    };
  }

  /**
   * Container events. With `containerEvents: false` the watch fails at once (on a microtask)
   * with an UnimplementedError, as GetContainerEvents does on containerd 1.6 without a fallback.
   */
  watchContainerEvents(handlers: ContainerEventHandlers): ContainerEventWatch {
    this.calls.set('GetContainerEvents', (this.calls.get('GetContainerEvents') ?? 0) + 1);
    const w = { handlers, stopped: false };
    if (!this.containerEvents) {
      queueMicrotask(() => {
        if (w.stopped) return;
        w.stopped = true;
        handlers.onError?.(new UnimplementedError('GetContainerEvents', 'method GetContainerEvents not implemented'));
      });
    } else {
      this.eventWatchers.add(w);
      queueMicrotask(() => {
        if (!w.stopped) handlers.onReady?.('cri');
      });
    }
    return {
      stop: () => {
        w.stopped = true;
        this.eventWatchers.delete(w);
      },
    };
  }

  close(): void {
    for (const c of this.containers.values()) c.process?.signal('KILL');
    for (const w of this.eventWatchers) w.stopped = true;
    this.eventWatchers.clear();
  }

  // ------------------------------------------------------------ helpers

  private mustSandbox(method: string, id: string): SimSandbox {
    const s = this.sandboxes.get(id) ?? [...this.sandboxes.values()].find((x) => id.length >= 6 && x.id.startsWith(id));
    if (!s) throw new NotFoundError(method, `an error occurred when try to find sandbox "${id}": not found`);
    return s;
  }

  private mustContainer(method: string, id: string): SimContainer {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => id.length >= 6 && x.id.startsWith(id));
    if (!c) throw new NotFoundError(method, `an error occurred when try to find container "${id}": not found`);
    return c;
  }
}

function labelsMatch(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}
