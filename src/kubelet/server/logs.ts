// GET /containerLogs/{namespace}/{pod}/{container}: a container's log as the kubelet serves it
// (pkg/kubelet/server/server.go getContainerLogs, kubelet_pods.go GetKubeletContainerLogs and
// validateContainerLogStatus, kuberuntime GetContainerLogs + logs.ReadLogs).
//
// Query parameters (PodLogOptions): follow, previous, timestamps (any value but "0"/"false" is
// true, as Go's query decoding), tailLines (or the legacy `tail`, "all" meaning no limit),
// sinceSeconds, sinceTime (RFC 3339), limitBytes, stream (All, Stdout, Stderr).
// Answers: 404 `pod "x" does not exist` / `container "c" not found in pod "x"`; 400 for a query
// that does not decode or is invalid (the API server's PodLogOptions validation messages), and
// for the kubelet's container-state errors (`previous terminated container "c" in pod "x" not
// found`, `container "c" in pod "x" is waiting to start: ContainerCreating`, ...); else 200 with
// the log as plain text (stdout and stderr interleaved in file order), chunked, streamed as it is
// read. A follow ends when the client goes away or the container has exited and its log is read.

import { realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Runtime } from '../../runtime/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { isRfc3339, logTimestampParts } from '../logs/crilog.js';
import { readLogs, type LogOptions } from '../logs/reader.js';
import type { RouteHandler } from './local.js';
import type { PodLookup } from './lookup.js';

export const containerLogsPrefix = '/containerLogs';

/** PodLogOptions as decoded from the query. */
export interface PodLogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  /** ms since the epoch (may carry a sub-ms fraction). */
  sinceTime?: number;
  stream?: 'All' | 'Stdout' | 'Stderr';
}

/** A failure answered with a status code and a plain-text message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function queryBool(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

function queryInt(q: URLSearchParams, key: string, value: string | null = q.get(key)): number | undefined {
  if (value === null) return undefined;
  const s = value.trim();
  if (s === '') return undefined;
  if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new HttpError(400, `Unable to decode query: ${key}: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  return Number(s);
}

/** Decodes and validates the query as the kubelet (decoding) and the API server (validation) do. */
export function parsePodLogQuery(q: URLSearchParams, podName: string): PodLogQuery {
  const out: PodLogQuery = { follow: queryBool(q, 'follow'), previous: queryBool(q, 'previous'), timestamps: queryBool(q, 'timestamps') };
  // backwards compatibility: `tail`, "all" being the same as no tail
  const tail = q.get('tail');
  const tailLines = tail !== null && tail !== '' ? (tail === 'all' ? undefined : queryInt(q, 'tailLines', tail)) : queryInt(q, 'tailLines');
  if (tailLines !== undefined) out.tailLines = tailLines;
  const limitBytes = queryInt(q, 'limitBytes');
  if (limitBytes !== undefined) out.limitBytes = limitBytes;
  const sinceSeconds = queryInt(q, 'sinceSeconds');
  if (sinceSeconds !== undefined) out.sinceSeconds = sinceSeconds;
  const sinceTime = q.get('sinceTime');
  if (sinceTime !== null && sinceTime !== '' && sinceTime !== 'null') {
    const parts = isRfc3339(sinceTime) ? logTimestampParts(sinceTime) : undefined;
    if (!parts) {
      throw new HttpError(400, `Unable to decode query: sinceTime: parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": not RFC 3339`);
    }
    out.sinceTime = parts[0] + parts[1] / 1e6;
  }
  const stream = q.get('stream');
  if (stream !== null && stream !== '') {
    if (stream !== 'All' && stream !== 'Stdout' && stream !== 'Stderr') {
      throw new HttpError(400, `PodLogOptions "${podName}" is invalid: stream: Unsupported value: ${JSON.stringify(stream)}: supported values: "All", "Stderr", "Stdout"`);
    }
    out.stream = stream;
  }
  const errs: string[] = [];
  if (out.tailLines !== undefined && out.tailLines < 0) errs.push(`tailLines: Invalid value: ${out.tailLines}: must be greater than or equal to 0`);
  if (out.limitBytes !== undefined && out.limitBytes < 1) errs.push(`limitBytes: Invalid value: ${out.limitBytes}: must be greater than 0`);
  if (out.sinceSeconds !== undefined && out.sinceTime !== undefined) errs.push(': Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified');
  else if (out.sinceSeconds !== undefined && out.sinceSeconds < 1) errs.push(`sinceSeconds: Invalid value: ${out.sinceSeconds}: must be greater than 0`);
  if (errs.length) throw new HttpError(400, `PodLogOptions "${podName}" is invalid: ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`);
  return out;
}

/** The reader's options: since is the later of sinceSeconds (from now) and sinceTime (upstream's NewLogOptions). */
export function toLogOptions(q: PodLogQuery, nowMs: number): LogOptions {
  const opts: LogOptions = { follow: q.follow, timestamps: q.timestamps };
  if (q.tailLines !== undefined) opts.tailLines = q.tailLines;
  if (q.limitBytes !== undefined) opts.limitBytes = q.limitBytes;
  let since: number | undefined;
  if (q.sinceSeconds !== undefined) since = nowMs - q.sinceSeconds * 1000;
  if (q.sinceTime !== undefined && (since === undefined || q.sinceTime > since)) since = q.sinceTime;
  if (since !== undefined) opts.sinceTime = since;
  if (q.stream === 'Stdout') opts.stdout = true;
  if (q.stream === 'Stderr') opts.stderr = true;
  return opts;
}

function runtimeId(uri: string): string {
  const i = uri.indexOf('://');
  return i >= 0 ? uri.slice(i + 3) : uri;
}

/** Which container instance's log to read. */
export interface LogTarget {
  /** The container ID as the pod status writes it (`containerd://...`). */
  containerID: string;
  /** Its log file by the kubelet's naming rule: `<container>/<n>.log` under the pod's log directory. */
  instance: number;
}

/**
 * The kubelet's validateContainerLogStatus: the current instance (running, or the last one that
 * terminated), or with `previous` the last terminated one; errors are the kubelet's (a 400).
 */
export function containerLogTarget(podName: string, status: V1PodStatus | undefined, containerName: string, previous: boolean): LogTarget {
  const all: V1ContainerStatus[] = [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? []), ...((status?.ephemeralContainerStatuses ?? []) as V1ContainerStatus[])];
  const cs = all.find((s) => s.name === containerName);
  if (!cs) throw new HttpError(400, `container "${containerName}" in pod "${podName}" is not available`);
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  const restarts = cs.restartCount ?? 0;
  // the instance numbers: the current one is restartCount; lastState is the one before it, unless
  // the current one is gone (waiting to restart: lastState is then the latest instance)
  const hasCurrent = !!running || !!terminated?.containerID;
  if (previous) {
    if (!last?.containerID) throw new HttpError(400, `previous terminated container "${containerName}" in pod "${podName}" not found`);
    return { containerID: last.containerID, instance: hasCurrent ? restarts - 1 : restarts };
  }
  if (running) {
    if (!cs.containerID) throw new HttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
    return { containerID: cs.containerID, instance: restarts };
  }
  if (terminated) {
    if (terminated.containerID) return { containerID: terminated.containerID, instance: restarts };
    if (last?.containerID) return { containerID: last.containerID, instance: restarts };
    throw new HttpError(400, `container "${containerName}" in pod "${podName}" is terminated`);
  }
  if (last) {
    if (!last.containerID) throw new HttpError(400, `container "${containerName}" in pod "${podName}" is terminated`);
    return { containerID: last.containerID, instance: restarts };
  }
  if (waiting) {
    const reason = waiting.reason ?? '';
    if (reason === 'ErrImagePull') throw new HttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') throw new HttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
    throw new HttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  throw new HttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body.endsWith('\n') ? body : `${body}\n`);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The handler for LocalServer.addRoute(containerLogsPrefix, ...). */
export function containerLogsHandler(lookup: PodLookup, runtime: Runtime, clock: Clock, logger: Logger): RouteHandler {
  const log = logger.child({ handler: 'containerLogs' });

  /** The log file of the chosen instance: the runtime's logPath, or by the naming rule if the runtime lost it. */
  async function logPathOf(pod: V1Pod, containerName: string, target: LogTarget): Promise<{ path: string; runtimeKnows: boolean }> {
    const id = runtimeId(target.containerID);
    try {
      const st = await runtime.containerStatus(id);
      if (st.status.logPath) return { path: st.status.logPath, runtimeKnows: true };
    } catch (e) {
      log.debug('container status failed, falling back to the log naming rule', { containerID: target.containerID, err: e });
    }
    if (target.instance < 0) throw new HttpError(400, `unable to retrieve container logs for ${target.containerID}`);
    const path = join(lookup.podLogsDirectory(pod), containerName, `${target.instance}.log`);
    try {
      await realpath(path);
    } catch {
      throw new HttpError(400, `unable to retrieve container logs for ${target.containerID}`);
    }
    return { path, runtimeKnows: false };
  }

  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'GET') return send(res, 405, 'method not allowed');
    const rest = url.pathname.slice(containerLogsPrefix.length).replace(/^\//, '');
    const parts = rest.split('/').map(decodeSegment);
    if (parts.length !== 3) return send(res, 404, '404 page not found');
    const [namespace, podName, containerName] = parts as [string, string, string];
    if (!podName) return send(res, 400, '{"message": "Missing podID."}');
    if (!containerName) return send(res, 400, '{"message": "Missing container name."}');
    if (!namespace) return send(res, 400, '{"message": "Missing podNamespace."}');
    try {
      const query = parsePodLogQuery(url.searchParams, podName);
      const found = lookup.getPodByName(namespace, podName);
      if (!found) throw new HttpError(404, `pod "${podName}" does not exist`);
      const { pod } = found;
      const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
      if (!specs.some((c) => c.name === containerName)) throw new HttpError(404, `container "${containerName}" not found in pod "${podName}"`);
      const target = containerLogTarget(podName, found.status ?? pod.status, containerName, query.previous);
      const { path, runtimeKnows } = await logPathOf(pod, containerName, target);
      try {
        await realpath(path);
      } catch (e) {
        const code = (e as { code?: string }).code;
        throw new HttpError(400, `failed to try resolving symlinks in path "${path}": ${code === 'ENOENT' ? `lstat ${path}: no such file or directory` : String((e as Error).message)}`);
      }
      const opts = toLogOptions(query, clock.now());
      const ac = new AbortController();
      res.on('close', () => ac.abort());
      const id = runtimeId(target.containerID);
      const containerDone = async (): Promise<boolean> => {
        if (!runtimeKnows) return true;
        try {
          return (await runtime.containerStatus(id)).status.state !== 'CONTAINER_RUNNING';
        } catch {
          return true;
        }
      };
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
      try {
        await readLogs(path, opts, res, { clock, signal: ac.signal, containerDone, logger: log });
      } catch (e) {
        log.warn('reading container log failed', { path, err: e });
      }
      if (!res.writableEnded) res.end();
      log.debug('container log stream ended', { pod: `${namespace}/${podName}`, container: containerName, follow: query.follow, clientGone: ac.signal.aborted });
    } catch (e) {
      if (e instanceof HttpError) return send(res, e.status, e.message);
      throw e;
    }
  };
}
