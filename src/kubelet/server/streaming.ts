// The kubelet server's streaming endpoints (pkg/kubelet/server/server.go: getRun, getExec,
// getAttach, getPortForward and proxyStream with the upgrade-aware proxy):
//
//   POST /run/{ns}/{pod}[/{uid}]/{container}?cmd=ls%20-l      ExecSync; 200 with stdout then stderr
//   /exec/{ns}/{pod}[/{uid}]/{container}?command=a&command=b&stdin=1&stdout=1&stderr=1&tty=1
//   /attach/{ns}/{pod}[/{uid}]/{container}?stdin=1&stdout=1...
//   /portForward/{ns}/{pod}[/{uid}]?port=80&port=443
//
// For exec, attach and port-forward the kubelet does not stream anything itself: it asks the
// runtime (CRI Exec/Attach/PortForward) for a one-time URL on the runtime's streaming server and
// proxies the client's upgrade request there byte for byte. The proxy opens a TCP connection to
// the URL's host:port, sends the client's request line (with the runtime URL's path and query)
// and headers (Connection, Upgrade, Sec-WebSocket-*, X-Stream-Protocol-Version, ...), relays the
// runtime's answer and, on 101 Switching Protocols, pipes bytes both ways. SPDY/3.1 (kubectl, an
// API server) and WebSocket (v4/v5.channel.k8s.io, portforward.k8s.io) therefore both work:
// nodelet never parses the streams. A failure before the upgrade is an HTTP error response on
// the socket (404 unknown pod/container, 400 bad options, 500 runtime error); a request to these
// paths without an upgrade gets 400 "Upgrade request required", as upstream's proxy answers.
//
// Query flags accept the kubelet's names (input/output/error/tty, what an API server sends) and
// the PodExecOptions names (stdin/stdout/stderr); "1" or "true" enable a stream.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { NotFoundError } from '../../runtime/errors.js';
import type { Runtime } from '../../runtime/types.js';
import type { Logger } from '../../util/logger.js';
import type { RouteHandler, UpgradeHandler } from './local.js';
import { findContainer, type ContainerRef, type PodLookup } from './lookup.js';

/** ExecSync ceiling for /run (the kubelet passes no timeout; nodelet stops waiting after 2 m). */
export const runTimeoutSeconds = 120;
/** Longest request head or runtime response head the proxy accepts. */
const maxHeadBytes = 64 * 1024;
/** How long the runtime's streaming server may take to answer the upgrade. */
const upgradeAnswerTimeoutMs = 30_000;
/** How long a closing connection may take to flush what was written to it. */
const shutdownFlushTimeoutMs = 10_000;
/** Largest /run form body read. */
const maxFormBytes = 1024 * 1024;

export interface StreamingDeps {
  lookup: PodLookup;
  runtime: Pick<Runtime, 'execSync' | 'exec' | 'attach' | 'portForward' | 'listPodSandbox'>;
  logger: Logger;
  /** ExecSync timeout for /run, seconds (default runTimeoutSeconds). */
  runTimeoutSeconds?: number;
}

export interface StreamingHandlers {
  /** POST /run/...: plain route. */
  run: RouteHandler;
  /** /exec, /attach, /portForward without an upgrade: 400 "Upgrade request required". */
  upgradeRequired: RouteHandler;
  exec: UpgradeHandler;
  attach: UpgradeHandler;
  portForward: UpgradeHandler;
}

/** Where the handlers go on a server offering addRoute/addUpgradeRoute (LocalServer). */
export interface StreamingRouteTarget {
  addRoute(prefix: string, handler: RouteHandler): void;
  addUpgradeRoute(prefix: string, handler: UpgradeHandler): void;
}

/** Registers /run, /exec, /attach and /portForward on a LocalServer. */
export function registerStreamingRoutes(server: StreamingRouteTarget, deps: StreamingDeps): StreamingHandlers {
  const h = createStreamingHandlers(deps);
  server.addRoute('/run', h.run);
  server.addRoute('/exec', h.upgradeRequired);
  server.addRoute('/attach', h.upgradeRequired);
  server.addRoute('/portForward', h.upgradeRequired);
  server.addUpgradeRoute('/exec', h.exec);
  server.addUpgradeRoute('/attach', h.attach);
  server.addUpgradeRoute('/portForward', h.portForward);
  return h;
}

/** An HTTP error to answer before any upgrade. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------ request parsing

/** The path segments after `/{prefix}/`, URL-decoded. */
export function pathSegments(url: URL, prefix: string): string[] {
  const rest = url.pathname.slice(prefix.length).replace(/^\/+|\/+$/g, '');
  if (!rest) return [];
  return rest.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HttpError(400, `malformed path segment ${JSON.stringify(s)}`);
    }
  });
}

export interface ContainerPath {
  namespace: string;
  pod: string;
  uid?: string;
  /** Absent when the path names only the pod (the pod's single container is meant). */
  container?: string;
}

/** {ns}/{pod}/{container} or {ns}/{pod}/{uid}/{container} (or {ns}/{pod} for a one-container pod). */
export function parseContainerPath(url: URL, prefix: string): ContainerPath {
  const s = pathSegments(url, prefix);
  if (s.length === 2) return { namespace: s[0]!, pod: s[1]! };
  if (s.length === 3) return { namespace: s[0]!, pod: s[1]!, container: s[2]! };
  if (s.length === 4) return { namespace: s[0]!, pod: s[1]!, uid: s[2]!, container: s[3]! };
  throw new HttpError(404, `404 page not found: expected ${prefix}/{namespace}/{pod}/{container}`);
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function flag(q: URLSearchParams, ...names: string[]): boolean {
  return names.some((n) => {
    const v = q.get(n);
    return v === '1' || v === 'true';
  });
}

/** remotecommand's NewOptions: tty drops stderr; at least one stream is required. */
export function parseStreamOptions(q: URLSearchParams): StreamOptions {
  const tty = flag(q, 'tty');
  const stdin = flag(q, 'input', 'stdin');
  const stdout = flag(q, 'output', 'stdout');
  let stderr = flag(q, 'error', 'stderr');
  if (tty && stderr) stderr = false; // a TTY merges stderr into stdout
  if (!stdin && !stdout && !stderr) throw new HttpError(400, 'you must specify at least 1 of stdin, stdout, stderr');
  return { stdin, stdout, stderr, tty };
}

/** portforward's NewV4Options: the `port` query values, required for WebSocket requests. */
export function parsePorts(q: URLSearchParams, required: boolean): number[] {
  const ports: number[] = [];
  for (const raw of q.getAll('port')) {
    for (const p of raw.split(',')) {
      const s = p.trim();
      if (!/^\d+$/.test(s) || Number(s) > 65535) throw new HttpError(400, `unable to parse "${s}" as a port: invalid syntax`);
      if (Number(s) === 0) throw new HttpError(400, `port "${s}" must be > 0`);
      ports.push(Number(s));
    }
  }
  if (required && ports.length === 0) throw new HttpError(400, 'query parameter "port" is required');
  return ports;
}

export function isWebSocketRequest(req: IncomingMessage): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' && connection.split(',').some((t) => t.trim() === 'upgrade');
}

// ------------------------------------------------------------------ resolution

function resolveContainer(lookup: PodLookup, p: ContainerPath): ContainerRef {
  const ref = findContainer(lookup, p.namespace, p.pod, p.container);
  if (typeof ref === 'string') throw new HttpError(ref.startsWith('a container name must be specified') ? 400 : 404, ref);
  if (p.uid && ref.pod.metadata?.uid !== p.uid) throw new HttpError(404, `pod "${p.pod}" with UID ${p.uid} not found in namespace "${p.namespace}"`);
  if (!ref.containerId) throw new HttpError(404, `container not found ("${ref.containerName}"): container ${ref.containerName} of pod ${p.namespace}/${p.pod} has not been started`);
  return ref;
}

/** The pod's newest ready sandbox (what port-forward connects into). */
export async function podSandboxId(runtime: Pick<Runtime, 'listPodSandbox'>, pod: V1Pod): Promise<string | undefined> {
  const uid = pod.metadata?.uid;
  if (!uid) return undefined;
  const sandboxes = await runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
  const ready = sandboxes.filter((s) => s.state === 'SANDBOX_READY').sort((a, b) => b.createdAt - a.createdAt);
  return ready[0]?.id;
}

/** streaming.WriteError: the runtime's NotFound is a 404, anything else a 500. */
function runtimeHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new HttpError(e instanceof NotFoundError ? 404 : 500, msg);
}

// ------------------------------------------------------------------ responses

/** A complete HTTP/1.1 error response written on a raw (not yet upgraded) socket, which is then closed. */
export function writeSocketError(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(message.endsWith('\n') ? message : `${message}\n`);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n\r\n';
  socket.write(Buffer.concat([Buffer.from(head), body]));
  shutdown(socket);
}

function sendResponse(res: ServerResponse, status: number, body: string | Buffer): void {
  const b = typeof body === 'string' ? Buffer.from(body.endsWith('\n') || status === 200 ? body : `${body}\n`) : body;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': b.length, 'X-Content-Type-Options': 'nosniff' });
  res.end(b);
}

// ------------------------------------------------------------------ the upgrade-aware proxy

/** Headers that describe the client's hop to us, not the request: replaced or dropped. */
const dropHeaders = new Set(['host', 'content-length', 'transfer-encoding']);

/** The request head sent to the runtime's streaming server for the client's request. */
export function buildUpstreamRequest(req: IncomingMessage, target: URL): string {
  const lines = [`${req.method ?? 'GET'} ${target.pathname || '/'}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (dropHeaders.has(name.toLowerCase())) continue;
    lines.push(`${name}: ${raw[i + 1]!.replace(/[\r\n]/g, ' ')}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The status code and Content-Length of an HTTP response head (the bytes before CRLF CRLF). */
export function parseResponseHead(head: string): { status: number; contentLength?: number } {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!m) throw new Error(`malformed response from the streaming server: ${JSON.stringify(head.slice(0, 80))}`);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  return cl ? { status: Number(m[1]), contentLength: Number(cl[1]) } : { status: Number(m[1]) };
}

/** Ends a connection after flushing what was written to it, then closes it (destroys on a stall). */
function shutdown(s: Duplex): void {
  if (s.destroyed) return;
  const destroy = (): void => {
    s.destroy();
  };
  if (!s.writableEnded) s.end();
  if (s.writableFinished) return destroy();
  s.once('finish', destroy);
  if ('setTimeout' in s && typeof (s as Socket).setTimeout === 'function') (s as Socket).setTimeout(shutdownFlushTimeoutMs, destroy);
}

/**
 * proxy.UpgradeAwareHandler with upgradeRequired: sends the client's upgrade request to the
 * runtime's streaming URL, relays the answer and, after a 101, pipes both ways until either side
 * closes. A non-101 answer is relayed as is and the connection closed. Resolves once the upstream
 * answered (or failed); the piping goes on by itself.
 */
export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, location: string, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(location);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported scheme ${target.protocol}`);
    } catch (e) {
      writeSocketError(client, 500, `bad streaming URL from the runtime ${JSON.stringify(location)}: ${(e as Error).message}`);
      resolve();
      return;
    }
    if (client.destroyed || client.readableEnded) {
      client.destroy();
      resolve(); // the client went away while the runtime was asked
      return;
    }
    const secure = target.protocol === 'https:';
    const port = Number(target.port || (secure ? 443 : 80));
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const upstream: Socket = secure ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host }) : netConnect({ host, port });
    upstream.setNoDelay(true);
    if (typeof (client as Socket).setNoDelay === 'function') (client as Socket).setNoDelay(true);
    // the request goes out once connected (writes are queued until then), then whatever the
    // client sends meanwhile, in order
    upstream.write(buildUpstreamRequest(req, target));
    if (head.length) upstream.write(head);

    let answered = false;
    const settle = (): boolean => {
      if (answered) return false;
      answered = true;
      client.off('data', early);
      client.off('end', gone);
      client.off('close', gone);
      resolve();
      return true;
    };
    const fail = (status: number, message: string): void => {
      if (!settle()) return;
      upstream.destroy();
      writeSocketError(client, status, message);
    };
    // a client that closes (or half-closes) before the upgrade is answered is gone
    const gone = (): void => {
      if (!settle()) return;
      upstream.destroy();
      client.destroy();
    };
    const early = (d: Buffer): void => {
      upstream.write(d);
    };
    client.on('data', early);
    client.once('end', gone);
    client.once('close', gone);
    client.on('error', (e: Error) => logger.debug('streaming client connection error', { err: e }));
    upstream.on('error', (e: Error) => {
      if (!answered) fail(500, `error dialing the runtime's streaming server at ${target.host}: ${e.message}`);
      else logger.debug('streaming upstream connection error', { err: e });
    });
    upstream.setTimeout(upgradeAnswerTimeoutMs, () => fail(504, `the runtime's streaming server at ${target.host} did not answer within ${upgradeAnswerTimeoutMs / 1000}s`));

    let buffered = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buffered = Buffer.concat([buffered, d]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > maxHeadBytes) fail(502, `the runtime's streaming server sent a response head over ${maxHeadBytes} bytes`);
        return;
      }
      upstream.off('data', onData);
      upstream.off('end', noAnswer);
      upstream.pause();
      upstream.setTimeout(0);
      let parsed: { status: number; contentLength?: number };
      try {
        parsed = parseResponseHead(buffered.subarray(0, end).toString('latin1'));
      } catch (e) {
        fail(502, (e as Error).message);
        return;
      }
      settle();
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      client.write(buffered);
      if (parsed.status === 101) {
        // upgraded: bytes both ways; once either direction is done (end, close or error), both
        // connections are shut down, as upstream's proxy does (what was written is flushed first)
        const closeBoth = (): void => {
          shutdown(client);
          shutdown(upstream);
        };
        upstream.pipe(client, { end: false });
        client.pipe(upstream, { end: false });
        for (const s of [upstream, client]) {
          s.once('end', closeBoth);
          s.once('close', closeBoth);
        }
        upstream.resume();
      } else {
        // not upgraded: finish relaying the runtime's answer, then close
        let remaining = parsed.contentLength === undefined ? Infinity : parsed.contentLength - (buffered.length - (end + 4));
        const done = (): void => {
          upstream.destroy();
          shutdown(client);
        };
        client.resume(); // whatever the client still sends is dropped
        client.once('close', () => upstream.destroy());
        if (remaining <= 0) return done();
        upstream.on('data', (d: Buffer) => {
          const part = d.length > remaining ? d.subarray(0, remaining) : d;
          remaining -= part.length;
          client.write(part);
          if (remaining <= 0) done();
        });
        upstream.once('end', done);
        upstream.once('close', done);
        upstream.resume();
      }
    };
    const noAnswer = (): void => fail(502, `the runtime's streaming server at ${target.host} closed the connection without answering`);
    upstream.on('data', onData);
    upstream.once('end', noAnswer);
  });
}

// ------------------------------------------------------------------ handlers

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    req.resume();
    return new URLSearchParams();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > maxFormBytes) throw new HttpError(413, `form body over ${maxFormBytes} bytes`);
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function createStreamingHandlers(deps: StreamingDeps): StreamingHandlers {
  const { lookup, runtime, logger } = deps;
  const runTimeout = deps.runTimeoutSeconds ?? runTimeoutSeconds;

  const run: RouteHandler = async (req, res, url) => {
    try {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new HttpError(405, `${req.method ?? ''} is not allowed on /run: POST the command as cmd=...`);
      }
      const p = parseContainerPath(url, '/run');
      const form = await readForm(req);
      const cmdText = url.searchParams.get('cmd') ?? form.get('cmd') ?? '';
      if (!cmdText) throw new HttpError(400, 'the command is missing: give it as the cmd query parameter or form field');
      const cmd = cmdText.split(' '); // as the kubelet does: strings.Split(cmd, " ")
      const ref = resolveContainer(lookup, p);
      let r;
      try {
        r = await runtime.execSync(ref.containerId, cmd, runTimeout);
      } catch (e) {
        throw new HttpError(500, e instanceof Error ? e.message : String(e));
      }
      if (r.exitCode !== 0) {
        // remote_runtime.ExecSync's error for a non-zero exit, which getRun answers with a 500
        throw new HttpError(500, `command '${cmd.join(' ')}' exited with ${r.exitCode}: ${r.stderr.toString('utf8')}`);
      }
      sendResponse(res, 200, Buffer.concat([r.stdout, r.stderr]));
    } catch (e) {
      const err = runtimeHttpError(e);
      if (err.status >= 500) logger.warn('run in container failed', { path: url.pathname, err: err.message });
      if (res.headersSent) res.end();
      else sendResponse(res, err.status, err.message);
    }
  };

  const upgradeRequired: RouteHandler = (req, res) => {
    req.resume();
    sendResponse(res, 400, 'Upgrade request required');
  };

  /** Runs `resolve` (which asks the runtime for a streaming URL), then proxies to it. */
  const streamVia = async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, what: string, resolve: () => Promise<string>): Promise<void> => {
    let location: string;
    try {
      location = await resolve();
    } catch (e) {
      const err = runtimeHttpError(e);
      if (err.status >= 500) logger.warn(`${what} failed`, { path: url.pathname, err: err.message });
      else logger.debug(`${what} refused`, { path: url.pathname, status: err.status, err: err.message });
      writeSocketError(socket, err.status, err.message);
      return;
    }
    logger.debug(`proxying ${what}`, { path: url.pathname, upgrade: req.headers.upgrade });
    await proxyUpgrade(req, socket, head, location, logger);
  };

  const exec: UpgradeHandler = (req, socket, head, url) =>
    streamVia(req, socket, head, url, 'exec', async () => {
      const p = parseContainerPath(url, '/exec');
      const opts = parseStreamOptions(url.searchParams);
      const cmd = url.searchParams.getAll('command');
      if (cmd.length === 0) throw new HttpError(400, 'you must specify at least one command (the command query parameter, once per argument)');
      const ref = resolveContainer(lookup, p);
      return runtime.exec({ containerId: ref.containerId, cmd, ...opts });
    });

  const attach: UpgradeHandler = (req, socket, head, url) =>
    streamVia(req, socket, head, url, 'attach', async () => {
      const p = parseContainerPath(url, '/attach');
      const opts = parseStreamOptions(url.searchParams);
      const ref = resolveContainer(lookup, p);
      // the TTY setting must be the container's own: a running process cannot change it
      const spec = [...(ref.pod.spec?.initContainers ?? []), ...(ref.pod.spec?.containers ?? [])].find((c) => c.name === ref.containerName);
      const tty = !!spec?.tty;
      return runtime.attach({ containerId: ref.containerId, stdin: opts.stdin, stdout: opts.stdout, stderr: tty ? false : opts.stderr, tty });
    });

  const portForward: UpgradeHandler = (req, socket, head, url) =>
    streamVia(req, socket, head, url, 'port-forward', async () => {
      const s = pathSegments(url, '/portForward');
      if (s.length !== 2 && s.length !== 3) throw new HttpError(404, '404 page not found: expected /portForward/{namespace}/{pod}');
      const [namespace, podName, uid] = s as [string, string, string | undefined];
      // SPDY clients name the ports in their stream headers; WebSocket clients in the query
      const ports = parsePorts(url.searchParams, isWebSocketRequest(req));
      const found = lookup.getPodByName(namespace, podName);
      if (!found) throw new HttpError(404, `pod "${podName}" not found in namespace "${namespace}"`);
      if (uid && found.pod.metadata?.uid !== uid) throw new HttpError(404, `pod "${podName}" with UID ${uid} not found in namespace "${namespace}"`);
      const sandbox = await podSandboxId(runtime, found.pod);
      if (!sandbox) throw new HttpError(404, `pod not found ("${podName}_${namespace}"): the pod has no ready sandbox`);
      return runtime.portForward(sandbox, ports);
    });

  return { run, upgradeRequired, exec, attach, portForward };
}
