// runtime/cri: the container event stream (models the CRI side of the kubelet's evented PLEG:
// pkg/kubelet/cri/remote/remote_runtime.go GetContainerEvents, used by pkg/kubelet/pleg/evented.go).
//
// First asks CRI's GetContainerEvents. containerd 1.6 answers UNIMPLEMENTED, so nodelet then
// reads containerd's own event service on the same socket (containerd.services.events.v1.Events
// /Subscribe, proto/containerd-events.proto), filtered to the CRI plugin's namespace (k8s.io),
// and turns its task and container events into CRI-shaped ContainerEvents:
//   /containers/create -> created, /tasks/start -> started, /tasks/exit -> stopped,
//   /containers/delete -> deleted.
// A sandbox is its pause container in containerd, so sandbox events carry the sandbox ID.
//
// Differences from upstream (which only has GetContainerEvents):
// - containerd events carry no statuses and no sandbox ID; they say only that something
//   changed. containerd's CRI plugin updates its own status some 100-250 ms after /tasks/exit
//   (it deletes the task first), so a reader must not take the event as the new status: the PLEG
//   relists until the listing agrees.
// - Exits of exec processes (exec probes, ExecSync: TaskExit with an exec `id`) are dropped, as are
//   /tasks/oom (the exit follows) and /tasks/delete (follows the exit).
// - Reconnection is the caller's: a watch ends with onError when its stream ends (containerd
//   restart), and the PLEG watches again with backoff on its Clock.
// - containerd sends a stream's response headers only with its first event, so "the stream is up"
//   (onReady) is also concluded when the call is still open readyAfterMs (250 ms) after it was
//   made on a connected channel: a missing service or a runtime that is down fails at once.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Clock, Timer } from '../../util/clock.js';
import { UnavailableError, UnimplementedError } from '../errors.js';
import type { ContainerEvent, ContainerEventHandlers, ContainerEventType, ContainerEventWatch } from '../types.js';

export const containerdEventsProtoPath = join(dirname(fileURLToPath(import.meta.url)), 'proto', 'containerd-events.proto');

/** The containerd namespace of the CRI plugin (containerd's constants.K8sContainerdNamespace). */
export const criContainerdNamespace = 'k8s.io';

let cachedEvents: grpc.ServiceClientConstructor | undefined;
/** The client class of containerd's event service. */
export function containerdEventsService(): grpc.ServiceClientConstructor {
  if (!cachedEvents) {
    const def = protoLoader.loadSync(containerdEventsProtoPath, { keepCase: false, longs: Number, enums: String, defaults: true, bytes: Buffer });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { containerd: { services: { events: { v1: { Events: grpc.ServiceClientConstructor } } } } };
    cachedEvents = pkg.containerd.services.events.v1.Events;
  }
  return cachedEvents;
}

/** The Subscribe filters for the CRI plugin's task and container events (containerd filter syntax; filters are ORed). */
export function containerdEventFilters(namespace = criContainerdNamespace): string[] {
  return [`namespace==${JSON.stringify(namespace)},topic~="^/tasks/(start|exit)$"`, `namespace==${JSON.stringify(namespace)},topic~="^/containers/(create|delete)$"`];
}

// ---------------------------------------------------------------- decoding

/**
 * The length-delimited fields of a protobuf message read as UTF-8 strings, by field number (the
 * first occurrence of each). Other wire types are skipped. null when the bytes are not a message.
 */
export function protoStringFields(buf: Uint8Array): Map<number, string> | null {
  const out = new Map<number, string>();
  let pos = 0;
  const varint = (): number | null => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) return null;
      const b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    return null;
  };
  while (pos < buf.length) {
    const tag = varint();
    if (tag === null) return null;
    const field = Math.floor(tag / 8);
    if (field === 0) return null;
    switch (tag & 7) {
      case 0:
        if (varint() === null) return null;
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        if (len === null || pos + len > buf.length) return null;
        if (!out.has(field)) out.set(field, Buffer.from(buf.subarray(pos, pos + len)).toString('utf8'));
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        return null;
    }
    if (pos > buf.length) return null;
  }
  return out;
}

/** An Envelope as proto-loader decodes containerd-events.proto. */
export interface ContainerdEnvelope {
  timestamp?: { seconds?: number; nanos?: number } | null;
  namespace?: string;
  topic?: string;
  event?: { typeUrl?: string; value?: Uint8Array } | null;
}

/**
 * A containerd event as a CRI container event, or null when it is not one nodelet relists on
 * (other topics, exec processes, an undecodable payload).
 */
export function containerdEnvelopeToEvent(env: ContainerdEnvelope): ContainerEvent | null {
  let type: ContainerEventType;
  const idField = 1; // TaskStart/TaskExit container_id; ContainerCreate/ContainerDelete id
  let execIdField = 0;
  switch (env.topic) {
    case '/containers/create':
      type = 'created';
      break;
    case '/tasks/start':
      type = 'started';
      break;
    case '/tasks/exit':
      type = 'stopped';
      execIdField = 2; // TaskExit.id: the exec process that exited, '' or container_id for the container's own
      break;
    case '/containers/delete':
      type = 'deleted';
      break;
    default:
      return null;
  }
  const fields = protoStringFields(env.event?.value ?? new Uint8Array());
  const containerId = fields?.get(idField) ?? '';
  if (!containerId) return null;
  const execId = execIdField ? (fields?.get(execIdField) ?? '') : '';
  if (execId && execId !== containerId) return null;
  const ts = env.timestamp;
  const createdAt = ts ? (ts.seconds ?? 0) * 1e9 + (ts.nanos ?? 0) : 0;
  return { containerId, type, createdAt };
}

/** CRI's ContainerEventResponse as proto-loader decodes api.proto. */
export interface CriContainerEventResponse {
  containerId?: string;
  containerEventType?: string;
  createdAt?: number;
  podSandboxStatus?: { id?: string } | null;
}

const criEventTypes: Record<string, ContainerEventType> = {
  CONTAINER_CREATED_EVENT: 'created',
  CONTAINER_STARTED_EVENT: 'started',
  CONTAINER_STOPPED_EVENT: 'stopped',
  CONTAINER_DELETED_EVENT: 'deleted',
};

/** A CRI ContainerEventResponse as a ContainerEvent; null without a container ID or with an unknown type. */
export function criEventToContainerEvent(r: CriContainerEventResponse): ContainerEvent | null {
  const type = criEventTypes[r.containerEventType ?? ''];
  if (!r.containerId || !type) return null;
  const e: ContainerEvent = { containerId: r.containerId, type, createdAt: r.createdAt ?? 0 };
  if (r.podSandboxStatus?.id) e.podSandboxId = r.podSandboxStatus.id;
  return e;
}

// ---------------------------------------------------------------- the stream

export interface WatchOptions {
  /** A client of runtime.v1.RuntimeService (has getContainerEvents). */
  runtimeSvc: grpc.Client;
  /** Makes the client of containerd's event service, when needed. */
  eventsSvc: () => grpc.Client;
  endpoint: string;
  /** containerd namespace to filter on (default k8s.io). */
  namespace?: string;
  handlers: ContainerEventHandlers;
  clock: Clock;
  /** A call still open this long on a connected channel counts as established (default 250 ms). */
  readyAfterMs?: number;
}

type StreamFn = (req: object, md?: grpc.Metadata, opts?: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/**
 * Watches container events: CRI GetContainerEvents, else containerd's event service. Calls
 * onReady once the stream is up, onEvent per event, and onError once when it ends by itself
 * (UnimplementedError when neither stream exists). stop() ends it silently.
 */
export function watchContainerEvents(opts: WatchOptions): ContainerEventWatch {
  const { handlers, clock } = opts;
  const readyAfterMs = opts.readyAfterMs ?? 250;
  let stopped = false;
  let call: grpc.ClientReadableStream<unknown> | undefined;
  let readyTimer: Timer | undefined;

  const finish = (err: Error): void => {
    if (stopped) return;
    stopped = true;
    call = undefined;
    readyTimer?.stop();
    handlers.onError?.(err);
  };

  const open = (
    source: string,
    method: string,
    fn: StreamFn | undefined,
    svc: grpc.Client,
    req: object,
    decode: (m: unknown) => ContainerEvent | null,
    onUnimplemented: (err: grpc.ServiceError) => void,
  ): void => {
    if (!fn) {
      onUnimplemented({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not in nodelet's proto`, metadata: new grpc.Metadata(), name: 'Error', message: `${method} is not in nodelet's proto` });
      return;
    }
    const c = fn.call(svc, req);
    call = c;
    let ready = false;
    let received = false;
    const markReady = (): void => {
      if (ready || stopped || call !== c) return;
      ready = true;
      readyTimer?.stop();
      handlers.onReady?.(source);
    };
    const quiet = (): void => {
      readyTimer = undefined;
      if (ready || stopped || call !== c) return;
      if (svc.getChannel().getConnectivityState(false) === grpc.connectivityState.READY) markReady();
      else readyTimer = clock.setTimeout(quiet, readyAfterMs);
    };
    readyTimer?.stop();
    readyTimer = clock.setTimeout(quiet, readyAfterMs);
    c.on('metadata', markReady);
    c.on('data', (m: unknown) => {
      if (stopped || call !== c) return;
      received = true;
      markReady();
      const e = decode(m);
      if (e) handlers.onEvent(e);
    });
    c.on('error', (err: grpc.ServiceError) => {
      if (stopped || call !== c) return;
      if (err.code === grpc.status.UNIMPLEMENTED && !received) return onUnimplemented(err);
      const detail = err.details || err.message;
      finish(err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED
        ? new UnavailableError(method, `event stream from ${opts.endpoint} ended: ${detail}`, { cause: err })
        : new UnavailableError(method, `event stream from ${opts.endpoint} failed (${grpc.status[err.code] ?? err.code}): ${detail}`, { cause: err }));
    });
    c.on('end', () => {
      if (stopped || call !== c) return;
      finish(new UnavailableError(method, `event stream from ${opts.endpoint} ended`));
    });
  };

  const openContainerd = (criErr: grpc.ServiceError): void => {
    if (stopped) return;
    let svc: grpc.Client;
    try {
      svc = opts.eventsSvc();
    } catch (err) {
      // the proto is missing or broken (a build without it): no retry will help
      finish(new UnimplementedError('GetContainerEvents', `GetContainerEvents: ${criErr.details || criErr.message}; containerd events: cannot load ${containerdEventsProtoPath}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const fn = (svc as unknown as Record<string, StreamFn>)['subscribe'];
    open('containerd', 'containerd.Events/Subscribe', fn, svc, { filters: containerdEventFilters(opts.namespace) }, (m) => containerdEnvelopeToEvent(m as ContainerdEnvelope), (err) =>
      finish(new UnimplementedError('GetContainerEvents', `the runtime at ${opts.endpoint} streams no container events: GetContainerEvents: ${criErr.details || criErr.message}; containerd events: ${err.details || err.message}`)),
    );
  };

  const criFn = (opts.runtimeSvc as unknown as Record<string, StreamFn>)['getContainerEvents'];
  open('cri', 'GetContainerEvents', criFn, opts.runtimeSvc, {}, (m) => criEventToContainerEvent(m as CriContainerEventResponse), openContainerd);

  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      const c = call;
      call = undefined;
      readyTimer?.stop();
      c?.cancel();
    },
  };
}
