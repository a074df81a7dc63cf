// runtime/cri: the CRI v1 gRPC client (models the kubelet's pkg/kubelet/cri/remote:
// remote_runtime.go + remote_image.go).
//
// Speaks runtime.v1 over a unix socket with @grpc/grpc-js, using the project's own
// proto/api.proto. As the kubelet does: a deadline on every call (runtimeRequestTimeout, 2 m by
// default; list/status calls get a shorter one; StopContainer and ExecSync get their own timeout
// on top), 16 MiB messages, reconnection with a short backoff (100 ms .. 3 s) so a restarted
// containerd is found again quickly, and a Version check at connect time that refuses runtimes
// without CRI v1. gRPC status codes become typed errors (runtime/errors.ts); replies are checked
// for the fields the kubelet relies on, so a garbage reply is an error naming the method and
// field rather than a crash further on. Container events (watchContainerEvents) are in events.ts:
// CRI GetContainerEvents, else containerd's own event service on the same channel.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  BadReplyError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeError,
  UnavailableError,
  UnimplementedError,
  UnsupportedRuntimeError,
} from '../errors.js';
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerEventHandlers,
  ContainerEventWatch,
  ContainerFilter,
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
  PodSandboxStats,
  PodSandboxStatusResponse,
  Runtime,
  StatusResponse,
  StreamRequest,
  VersionInfo,
} from '../types.js';
import { RealClock, type Clock } from '../../util/clock.js';
import { containerdEventsService, watchContainerEvents } from './events.js';

export const protoPath = join(dirname(fileURLToPath(import.meta.url)), 'proto', 'api.proto');

export interface CriClientOptions {
  /** `unix:///path/to.sock` or a plain socket path. */
  endpoint: string;
  /** The kubelet's runtimeRequestTimeout: deadline for most calls (default 2 m). */
  requestTimeoutMs?: number;
  /** Deadline for list, status and version calls (default 15 s). */
  shortTimeoutMs?: number;
  /** Deadline for image pulls (default 1 h: pulls are long, but never endless). */
  pullTimeoutMs?: number;
  /** containerd namespace whose events stand in for GetContainerEvents (default k8s.io, the CRI plugin's). */
  containerdNamespace?: string;
  /** Clock for the event stream's timers (default: real time). */
  clock?: Clock;
}

let cachedPackage: grpc.GrpcObject | undefined;
function loadPackage(): grpc.GrpcObject {
  if (!cachedPackage) {
    const def = protoLoader.loadSync(protoPath, {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
      bytes: Buffer,
    });
    cachedPackage = grpc.loadPackageDefinition(def);
  }
  return cachedPackage;
}

/** Normalizes an endpoint to the target grpc-js dials. */
export function grpcTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint;
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  throw new InvalidArgumentError('Connect', `unsupported runtime endpoint "${endpoint}": only unix sockets (unix:///path) are supported`);
}

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 3000,
  'grpc.min_reconnect_backoff_ms': 100,
};

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

/** Maps a gRPC error to nodelet's typed runtime errors. */
export function mapGrpcError(method: string, endpoint: string, err: grpc.ServiceError): RuntimeError {
  const detail = err.details || err.message;
  switch (err.code) {
    case grpc.status.NOT_FOUND:
      return new NotFoundError(method, detail, { cause: err });
    case grpc.status.UNIMPLEMENTED:
      return new UnimplementedError(method, detail, { cause: err });
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(method, detail, { cause: err });
    case grpc.status.UNAVAILABLE:
      return new UnavailableError(method, `runtime at ${endpoint} is unavailable: ${detail}`, { cause: err });
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.OUT_OF_RANGE:
      return new InvalidArgumentError(method, detail, { cause: err });
    default:
      return new RuntimeError(grpc.status[err.code] ?? 'Unknown', method, detail, { cause: err });
  }
}

// ---------------------------------------------------------------- reply checks

function need(method: string, ok: boolean, what: string): void {
  if (!ok) throw new BadReplyError(method, `malformed reply: ${what}`);
}

const containerStates = new Set(['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN']);
const sandboxStates = new Set(['SANDBOX_READY', 'SANDBOX_NOTREADY']);

function checkContainer(method: string, c: Container, i: number): void {
  need(method, typeof c?.id === 'string' && c.id !== '', `containers[${i}].id is empty`);
  need(method, !!c.metadata && typeof c.metadata.name === 'string', `containers[${i}].metadata is missing`);
  need(method, containerStates.has(c.state), `containers[${i}].state "${String(c.state)}" is not a container state`);
  need(method, typeof c.podSandboxId === 'string' && c.podSandboxId !== '', `containers[${i}].podSandboxId is empty`);
}

function checkSandbox(method: string, s: PodSandbox, i: number): void {
  need(method, typeof s?.id === 'string' && s.id !== '', `items[${i}].id is empty`);
  need(method, !!s.metadata && typeof s.metadata.uid === 'string', `items[${i}].metadata is missing`);
  need(method, sandboxStates.has(s.state), `items[${i}].state "${String(s.state)}" is not a sandbox state`);
}

function toFilterState<T extends string>(state: T | undefined): { state: T } | undefined {
  return state ? { state } : undefined;
}

export class CriClient implements Runtime {
  readonly endpoint: string;
  private readonly runtimeSvc: grpc.Client;
  private readonly imageSvc: grpc.Client;
  private readonly requestTimeoutMs: number;
  private readonly shortTimeoutMs: number;
  private readonly pullTimeoutMs: number;
  private readonly containerdNamespace: string | undefined;
  private eventsSvc: grpc.Client | undefined;
  private readonly clock: Clock;

  constructor(opts: CriClientOptions) {
    this.endpoint = opts.endpoint;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 2 * 60_000;
    this.shortTimeoutMs = opts.shortTimeoutMs ?? 15_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 60 * 60_000;
    this.containerdNamespace = opts.containerdNamespace;
    this.clock = opts.clock ?? new RealClock();
    const pkg = loadPackage() as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };
    const target = grpcTarget(opts.endpoint);
    const creds = grpc.credentials.createInsecure();
    this.runtimeSvc = new pkg.runtime.v1.RuntimeService!(target, creds, channelOptions);
    // the image service shares the runtime service's channel
    this.imageSvc = new pkg.runtime.v1.ImageService!(target, creds, { ...channelOptions, channelOverride: this.runtimeSvc.getChannel() });
  }

  /**
   * Connects and checks the runtime speaks CRI v1. Fails within `timeoutMs` (default 5 s) with
   * the endpoint in the message when nothing answers.
   */
  static async connect(opts: CriClientOptions & { timeoutMs?: number }): Promise<CriClient> {
    const client = new CriClient(opts);
    const timeoutMs = opts.timeoutMs ?? 5000;
    try {
      await new Promise<void>((resolve, reject) =>
        client.runtimeSvc.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      client.close();
      throw new UnavailableError('Connect', `cannot connect to the container runtime at ${opts.endpoint} within ${timeoutMs} ms (${(err as Error).message}); is it running? (scripts/runtime-up.sh starts containerd)`);
    }
    let v: VersionInfo;
    try {
      v = await client.version();
    } catch (err) {
      client.close();
      if (err instanceof UnimplementedError) {
        throw new UnsupportedRuntimeError(`the runtime at ${opts.endpoint} does not serve CRI v1 (runtime.v1.RuntimeService/Version is unimplemented); nodelet needs containerd >= 1.6 or CRI-O >= 1.23`);
      }
      throw err;
    }
    if (v.runtimeApiVersion !== 'v1' && !v.runtimeApiVersion.startsWith('v1.') && v.runtimeApiVersion !== '0.1.0') {
      client.close();
      throw new UnsupportedRuntimeError(`the runtime at ${opts.endpoint} (${v.runtimeName} ${v.runtimeVersion}) reports CRI API "${v.runtimeApiVersion}"; nodelet needs CRI v1`);
    }
    return client;
  }

  private call<T>(svc: grpc.Client, method: string, req: object, timeoutMs: number): Promise<T> {
    const fn = (svc as unknown as Record<string, Unary>)[method[0]!.toLowerCase() + method.slice(1)];
    if (!fn) return Promise.reject(new UnimplementedError(method, 'not in the proto'));
    return new Promise<T>((resolve, reject) => {
      fn.call(svc, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(mapGrpcError(method, this.endpoint, err));
        else if (res === null || typeof res !== 'object') reject(new BadReplyError(method, 'empty reply'));
        else resolve(res as T);
      });
    });
  }

  private rt<T>(method: string, req: object, timeoutMs = this.requestTimeoutMs): Promise<T> {
    return this.call<T>(this.runtimeSvc, method, req, timeoutMs);
  }

  private img<T>(method: string, req: object, timeoutMs = this.requestTimeoutMs): Promise<T> {
    return this.call<T>(this.imageSvc, method, req, timeoutMs);
  }

  // ------------------------------------------------------------ runtime info

  async version(): Promise<VersionInfo> {
    const r = await this.rt<VersionInfo>('Version', { version: 'v1' }, this.shortTimeoutMs);
    need('Version', typeof r.runtimeName === 'string' && r.runtimeName !== '', 'runtimeName is empty');
    return r;
  }

  async status(verbose = false): Promise<StatusResponse> {
    const r = await this.rt<StatusResponse>('Status', { verbose }, this.shortTimeoutMs);
    need('Status', !!r.status && Array.isArray(r.status.conditions), 'status.conditions is missing');
    return r;
  }

  async updateRuntimeConfig(podCidr: string): Promise<void> {
    await this.rt('UpdateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr } } });
  }

  // ------------------------------------------------------------ sandboxes

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    const r = await this.rt<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler });
    need('RunPodSandbox', !!r.podSandboxId, 'podSandboxId is empty');
    return r.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.rt('StopPodSandbox', { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.rt('RemovePodSandbox', { podSandboxId });
  }

  async podSandboxStatus(podSandboxId: string, verbose = false): Promise<PodSandboxStatusResponse> {
    const r = await this.rt<PodSandboxStatusResponse>('PodSandboxStatus', { podSandboxId, verbose }, this.shortTimeoutMs);
    need('PodSandboxStatus', !!r.status && !!r.status.id && !!r.status.metadata, 'status.id or status.metadata is missing');
    need('PodSandboxStatus', sandboxStates.has(r.status.state), `status.state "${String(r.status.state)}" is not a sandbox state`);
    return r;
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const f = filter ? { id: filter.id ?? '', state: toFilterState(filter.state), labelSelector: filter.labelSelector ?? {} } : undefined;
    const r = await this.rt<{ items: PodSandbox[] }>('ListPodSandbox', { filter: f }, this.shortTimeoutMs);
    need('ListPodSandbox', Array.isArray(r.items), 'items is missing');
    r.items.forEach((s, i) => checkSandbox('ListPodSandbox', s, i));
    return r.items;
  }

  // ------------------------------------------------------------ containers

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.rt<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig });
    need('CreateContainer', !!r.containerId, 'containerId is empty');
    return r.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.rt('StartContainer', { containerId });
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.rt('StopContainer', { containerId, timeout: timeoutSeconds }, this.requestTimeoutMs + timeoutSeconds * 1000);
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.rt('RemoveContainer', { containerId });
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const f = filter
      ? { id: filter.id ?? '', state: toFilterState(filter.state), podSandboxId: filter.podSandboxId ?? '', labelSelector: filter.labelSelector ?? {} }
      : undefined;
    const r = await this.rt<{ containers: Container[] }>('ListContainers', { filter: f }, this.shortTimeoutMs);
    need('ListContainers', Array.isArray(r.containers), 'containers is missing');
    r.containers.forEach((c, i) => checkContainer('ListContainers', c, i));
    return r.containers;
  }

  async containerStatus(containerId: string, verbose = false): Promise<ContainerStatusResponse> {
    const r = await this.rt<ContainerStatusResponse>('ContainerStatus', { containerId, verbose }, this.shortTimeoutMs);
    need('ContainerStatus', !!r.status && !!r.status.id && !!r.status.metadata, 'status.id or status.metadata is missing');
    need('ContainerStatus', containerStates.has(r.status.state), `status.state "${String(r.status.state)}" is not a container state`);
    r.status.image ??= { image: '' };
    return r;
  }

  async updateContainerResources(containerId: string, linux: LinuxContainerResources): Promise<void> {
    await this.rt('UpdateContainerResources', { containerId, linux });
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.rt('ReopenContainerLog', { containerId });
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResponse> {
    const r = await this.rt<ExecSyncResponse>('ExecSync', { containerId, cmd, timeout: timeoutSeconds }, this.requestTimeoutMs + timeoutSeconds * 1000);
    return { stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr ?? Buffer.alloc(0), exitCode: r.exitCode ?? 0 };
  }

  async exec(req: StreamRequest): Promise<string> {
    const r = await this.rt<{ url: string }>('Exec', { containerId: req.containerId, cmd: req.cmd ?? [], tty: !!req.tty, stdin: !!req.stdin, stdout: req.stdout ?? true, stderr: req.stderr ?? !req.tty });
    need('Exec', !!r.url, 'url is empty');
    return r.url;
  }

  async attach(req: StreamRequest): Promise<string> {
    const r = await this.rt<{ url: string }>('Attach', { containerId: req.containerId, tty: !!req.tty, stdin: !!req.stdin, stdout: req.stdout ?? true, stderr: req.stderr ?? !req.tty });
    need('Attach', !!r.url, 'url is empty');
    return r.url;
  }

  async portForward(podSandboxId: string, ports: number[]): Promise<string> {
    const r = await this.rt<{ url: string }>('PortForward', { podSandboxId, port: ports });
    need('PortForward', !!r.url, 'url is empty');
    return r.url;
  }

  // ------------------------------------------------------------ stats

  async containerStats(containerId: string): Promise<ContainerStats> {
    const r = await this.rt<{ stats: ContainerStats }>('ContainerStats', { containerId }, this.shortTimeoutMs);
    need('ContainerStats', !!r.stats?.attributes?.id, 'stats.attributes.id is missing');
    return r.stats;
  }

  async listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    const r = await this.rt<{ stats: ContainerStats[] }>('ListContainerStats', { filter }, this.shortTimeoutMs);
    need('ListContainerStats', Array.isArray(r.stats), 'stats is missing');
    r.stats.forEach((s, i) => need('ListContainerStats', !!s?.attributes?.id, `stats[${i}].attributes.id is missing`));
    return r.stats;
  }

  async podSandboxStats(podSandboxId: string): Promise<PodSandboxStats> {
    const r = await this.rt<{ stats: PodSandboxStats }>('PodSandboxStats', { podSandboxId }, this.shortTimeoutMs);
    need('PodSandboxStats', !!r.stats?.attributes?.id, 'stats.attributes.id is missing');
    return r.stats;
  }

  async listPodSandboxStats(filter?: PodSandboxFilter): Promise<PodSandboxStats[]> {
    const f = filter ? { id: filter.id ?? '', labelSelector: filter.labelSelector ?? {} } : undefined;
    const r = await this.rt<{ stats: PodSandboxStats[] }>('ListPodSandboxStats', { filter: f }, this.shortTimeoutMs);
    need('ListPodSandboxStats', Array.isArray(r.stats), 'stats is missing');
    return r.stats;
  }

  // ------------------------------------------------------------ images

  async listImages(filter?: { image?: string }): Promise<Image[]> {
    const f = filter?.image ? { image: { image: filter.image } } : undefined;
    const r = await this.img<{ images: Image[] }>('ListImages', { filter: f }, this.shortTimeoutMs);
    need('ListImages', Array.isArray(r.images), 'images is missing');
    r.images.forEach((im, i) => need('ListImages', typeof im?.id === 'string' && im.id !== '', `images[${i}].id is empty`));
    return r.images;
  }

  async imageStatus(image: string): Promise<Image | null> {
    const r = await this.img<{ image: Image | null }>('ImageStatus', { image: { image } }, this.shortTimeoutMs);
    if (!r.image || !r.image.id) return null;
    return r.image;
  }

  async pullImage(image: string, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const r = await this.img<{ imageRef: string }>('PullImage', { image: { image }, auth, sandboxConfig }, this.pullTimeoutMs);
    need('PullImage', !!r.imageRef, 'imageRef is empty');
    return r.imageRef;
  }

  async removeImage(image: string): Promise<void> {
    await this.img('RemoveImage', { image: { image } });
  }

  async imageFsInfo(): Promise<ImageFsInfo> {
    const r = await this.img<ImageFsInfo>('ImageFsInfo', {}, this.shortTimeoutMs);
    need('ImageFsInfo', Array.isArray(r.imageFilesystems), 'imageFilesystems is missing');
    return r;
  }

  // ------------------------------------------------------------ events

  /** Container events: CRI GetContainerEvents, else containerd's event service (see events.ts). */
  watchContainerEvents(handlers: ContainerEventHandlers): ContainerEventWatch {
    return watchContainerEvents({
      runtimeSvc: this.runtimeSvc,
      eventsSvc: () => {
        // shares the runtime service's channel, as the image service does
        this.eventsSvc ??= new (containerdEventsService())(grpcTarget(this.endpoint), grpc.credentials.createInsecure(), { ...channelOptions, channelOverride: this.runtimeSvc.getChannel() });
        return this.eventsSvc;
      },
      endpoint: this.endpoint,
      clock: this.clock,
      ...(this.containerdNamespace ? { namespace: this.containerdNamespace } : {}),
      handlers,
    });
  }

  close(): void {
    this.eventsSvc?.close();
    this.imageSvc.close();
    this.runtimeSvc.close();
  }
}
