// The streaming endpoints (/run, /exec, /attach, /portForward) over real HTTP on loopback: a
// LocalServer with the handlers registered, a fake runtime whose Exec/Attach/PortForward return
// URLs of an in-process fake streaming server (node http 'upgrade' + the ws package speaking the
// v4 channel protocol, or raw bytes for a SPDY-style upgrade), and a fake pod lookup.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import WebSocket, { WebSocketServer } from 'ws';
import { NotFoundError, RuntimeError } from '../../runtime/errors.js';
import type { ExecSyncResponse, PodSandbox, PodSandboxFilter, StreamRequest } from '../../runtime/types.js';
import { MemoryLogger } from '../../util/logger.js';
import { LocalServer, type LocalApiSource } from './local.js';
import type { PodLookup } from './lookup.js';
import {
  buildUpstreamRequest,
  parseContainerPath,
  parsePorts,
  parseResponseHead,
  parseStreamOptions,
  podSandboxId,
  registerStreamingRoutes,
  type StreamingDeps,
} from './streaming.js';

const V4 = 'v4.channel.k8s.io';

function pod(name: string, ns: string, uid: string, containers: { name: string; tty?: boolean }[]): { pod: V1Pod; status: V1PodStatus } {
  return {
    pod: { metadata: { name, namespace: ns, uid }, spec: { containers: containers.map((c) => ({ name: c.name, image: 'busybox', tty: c.tty })) } },
    status: {
      phase: 'Running',
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        containerID: c.name === 'unstarted' ? undefined : `containerd://cid-${name}-${i}`,
        ready: true,
        restartCount: 0,
        image: 'busybox',
        imageID: '',
      })),
    },
  };
}

class FakeLookup implements PodLookup, LocalApiSource {
  pods = [pod('web', 'default', 'uid-web', [{ name: 'main' }]), pod('two', 'default', 'uid-two', [{ name: 'a' }, { name: 'b', tty: true }, { name: 'unstarted' }])];
  getPodByName(namespace: string, name: string): { pod: V1Pod; status: V1PodStatus | undefined } | undefined {
    return this.pods.find((p) => p.pod.metadata?.namespace === namespace && p.pod.metadata?.name === name);
  }
  podLogsDirectory(): string {
    return '/nonexistent';
  }
  getPods(): { pod: V1Pod; status: V1PodStatus | undefined }[] {
    return this.pods;
  }
  healthChecks(): { name: string; ok: boolean; message: string }[] {
    return [];
  }
  listEvents(): [] {
    return [];
  }
}

/** What the fake streaming server saw of an upgrade request. */
interface Seen {
  url: string;
  method: string;
  headers: IncomingMessage['headers'];
}

/**
 * The runtime's streaming server: /exec/* and /attach/* speak the v4 channel protocol (stdin is
 * echoed to stdout, and as "err:..." to stderr; a stdin line "exit N" ends the session with
 * status N); /pf/* is WebSocket port-forward (each channel pair starts with the port, data
 * channel echoed upper-cased); /raw/* answers 101 and echoes raw bytes (a SPDY-style upgrade);
 * /deny/* answers 403.
 */
class FakeStreamingServer {
  readonly seen: Seen[] = [];
  private readonly sockets = new Set<Socket>();
  /** The runtime side of the latest WebSocket session. */
  last?: WebSocket;
  private readonly http: Server = createServer((_req, res) => res.writeHead(400).end('upgrade only'));
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols: Set<string>) => (protocols.has(V4) ? V4 : protocols.has('portforward.k8s.io') ? 'portforward.k8s.io' : false),
  });
  base = '';

  async start(): Promise<void> {
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const path = req.url ?? '';
      if (path.startsWith('/deny/')) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\ntoken expired\n');
        return;
      }
      if (path.startsWith('/raw/')) {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${req.headers['x-stream-protocol-version'] ?? ''}\r\n\r\n`);
        if (head.length) socket.write(head);
        socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
        socket.on('end', () => socket.end());
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.last = ws;
        if (path.startsWith('/pf/')) this.portForward(ws, req);
        else this.exec(ws);
      });
    });
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    this.base = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  private exec(ws: WebSocket): void {
    ws.send(Buffer.from([1])); // "connected", as remotecommand's server sends
    ws.on('message', (d: Buffer) => {
      if (d[0] !== 0) return;
      const text = d.subarray(1).toString();
      const m = /^exit (\d+)/.exec(text);
      if (m) {
        const code = Number(m[1]);
        const status =
          code === 0
            ? { metadata: {}, status: 'Success' }
            : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
        ws.close();
        return;
      }
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(text)]));
      ws.send(Buffer.concat([Buffer.from([2]), Buffer.from(`err:${text}`)]));
    });
  }

  private portForward(ws: WebSocket, req: IncomingMessage): void {
    const ports = new URL(req.url ?? '/', 'http://x').searchParams.getAll('port').map(Number);
    ports.forEach((p, i) => {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(p);
      ws.send(Buffer.concat([Buffer.from([i * 2]), b]));
      ws.send(Buffer.concat([Buffer.from([i * 2 + 1]), b]));
    });
    ws.on('message', (d: Buffer) => {
      if (d[0]! % 2 === 0) ws.send(Buffer.concat([d.subarray(0, 1), Buffer.from(d.subarray(1).toString().toUpperCase())]));
    });
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}

class FakeRuntime {
  execs: StreamRequest[] = [];
  attaches: StreamRequest[] = [];
  forwards: { id: string; ports: number[] }[] = [];
  execSyncs: { id: string; cmd: string[]; timeout: number }[] = [];
  sandboxFilters: (PodSandboxFilter | undefined)[] = [];
  sandboxes: PodSandbox[] = [];
  execSyncResult: ExecSyncResponse | Error = { stdout: Buffer.from('out\n'), stderr: Buffer.from('err\n'), exitCode: 0 };
  /** What exec/attach/portForward answer: a path on the fake streaming server, a full URL, or an error. */
  answer: string | Error = '/exec/token-1';
  constructor(private readonly streaming: FakeStreamingServer) {}
  private url(): string {
    if (this.answer instanceof Error) throw this.answer;
    return this.answer.startsWith('/') ? this.streaming.base + this.answer : this.answer;
  }
  async execSync(id: string, cmd: string[], timeout: number): Promise<ExecSyncResponse> {
    this.execSyncs.push({ id, cmd, timeout });
    if (this.execSyncResult instanceof Error) throw this.execSyncResult;
    return this.execSyncResult;
  }
  async exec(req: StreamRequest): Promise<string> {
    this.execs.push(req);
    return this.url();
  }
  async attach(req: StreamRequest): Promise<string> {
    this.attaches.push(req);
    return this.url();
  }
  async portForward(id: string, ports: number[]): Promise<string> {
    this.forwards.push({ id, ports });
    return this.url();
  }
  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    this.sandboxFilters.push(filter);
    const uid = filter?.labelSelector?.['io.kubernetes.pod.uid'];
    return this.sandboxes.filter((s) => !uid || s.labels['io.kubernetes.pod.uid'] === uid);
  }
}

function sandbox(id: string, uid: string, state: PodSandbox['state'], createdAt: number): PodSandbox {
  return { id, metadata: { name: 'p', uid, namespace: 'default', attempt: 0 }, state, createdAt, labels: { 'io.kubernetes.pod.uid': uid }, annotations: {}, runtimeHandler: '' };
}

type Opened = { ws: WebSocket; protocol: string; messages: Buffer[]; closed: Promise<void> } | { status: number; body: string };

/** Opens a WebSocket; resolves with the open socket (collecting messages) or the refusal. */
function openWs(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false });
    const messages: Buffer[] = [];
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (d: Buffer) => messages.push(d));
    ws.once('open', () => resolve({ ws, protocol: ws.protocol, messages, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => {
      if (!(e.message ?? '').includes('Unexpected server response')) reject(e);
    });
  });
}

/** Resolves when `messages` holds a message matching pred (checked on every new message). */
function waitFor(ws: WebSocket, messages: Buffer[], pred: (all: Buffer[]) => boolean): Promise<void> {
  if (pred(messages)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      // the collector registered first has already pushed the message
      if (pred(messages)) {
        ws.off('message', check);
        resolve();
      }
    };
    ws.on('message', check);
    ws.once('close', () => (pred(messages) ? resolve() : reject(new Error(`closed before the expected message; got ${messages.map((m) => JSON.stringify(m.toString())).join(', ')}`))));
  });
}

const onChannel = (messages: Buffer[], ch: number): string =>
  messages
    .filter((m) => m[0] === ch)
    .map((m) => m.subarray(1).toString())
    .join('');

function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('parsing', () => {
  it('stream options: kubelet and PodExecOptions names, tty drops stderr, one stream required', () => {
    assert.deepEqual(parseStreamOptions(new URLSearchParams('input=1&output=1&error=1')), { stdin: true, stdout: true, stderr: true, tty: false });
    assert.deepEqual(parseStreamOptions(new URLSearchParams('stdin=true&stdout=1&stderr=1&tty=1')), { stdin: true, stdout: true, stderr: false, tty: true });
    assert.throws(() => parseStreamOptions(new URLSearchParams('tty=1&stdin=0')), /at least 1 of stdin, stdout, stderr/);
  });
  it('ports: repeated or comma separated, required for WebSocket, 1..65535', () => {
    assert.deepEqual(parsePorts(new URLSearchParams('port=80&port=443,8080'), true), [80, 443, 8080]);
    assert.deepEqual(parsePorts(new URLSearchParams(''), false), []);
    assert.throws(() => parsePorts(new URLSearchParams(''), true), /"port" is required/);
    assert.throws(() => parsePorts(new URLSearchParams('port=0'), true), /must be > 0/);
    assert.throws(() => parsePorts(new URLSearchParams('port=http'), true), /unable to parse "http" as a port/);
    assert.throws(() => parsePorts(new URLSearchParams('port=70000'), true), /unable to parse/);
  });
  it('container paths with and without the pod UID', () => {
    const u = (p: string): URL => new URL(p, 'http://x');
    assert.deepEqual(parseContainerPath(u('/exec/ns/p/c'), '/exec'), { namespace: 'ns', pod: 'p', container: 'c' });
    assert.deepEqual(parseContainerPath(u('/exec/ns/p/uid-1/c'), '/exec'), { namespace: 'ns', pod: 'p', uid: 'uid-1', container: 'c' });
    assert.deepEqual(parseContainerPath(u('/run/ns/p'), '/run'), { namespace: 'ns', pod: 'p' });
    assert.deepEqual(parseContainerPath(u('/run/ns/my%20pod/c/'), '/run'), { namespace: 'ns', pod: 'my pod', container: 'c' });
    assert.throws(() => parseContainerPath(u('/exec/ns'), '/exec'), /404 page not found/);
    assert.throws(() => parseContainerPath(u('/exec/a/b/c/d/e'), '/exec'), /404 page not found/);
  });
  it('the upstream request keeps the method and headers, with the runtime path and Host', () => {
    const req = {
      method: 'POST',
      rawHeaders: ['Host', '127.0.0.1:10248', 'Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1', 'X-Stream-Protocol-Version', 'v4.channel.k8s.io', 'X-Stream-Protocol-Version', 'v3.channel.k8s.io', 'Content-Length', '0'],
    } as unknown as IncomingMessage;
    assert.equal(
      buildUpstreamRequest(req, new URL('http://127.0.0.1:4242/exec/abc?x=1')),
      'POST /exec/abc?x=1 HTTP/1.1\r\nHost: 127.0.0.1:4242\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: v3.channel.k8s.io\r\n\r\n',
    );
  });
  it('response heads', () => {
    assert.deepEqual(parseResponseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket'), { status: 101 });
    assert.deepEqual(parseResponseHead('HTTP/1.1 404 Not Found\r\ncontent-length: 12'), { status: 404, contentLength: 12 });
    assert.throws(() => parseResponseHead('SSH-2.0'), /malformed response/);
  });
  it('the newest ready sandbox of the pod', async () => {
    const rt = { listPodSandbox: async (f?: PodSandboxFilter) => [sandbox('old', 'u', 'SANDBOX_READY', 1), sandbox('new', 'u', 'SANDBOX_READY', 3), sandbox('dead', 'u', 'SANDBOX_NOTREADY', 5)].filter((s) => s.labels['io.kubernetes.pod.uid'] === f?.labelSelector?.['io.kubernetes.pod.uid']) };
    assert.equal(await podSandboxId(rt, { metadata: { uid: 'u' } }), 'new');
    assert.equal(await podSandboxId(rt, { metadata: { uid: 'other' } }), undefined);
    assert.equal(await podSandboxId(rt, { metadata: {} }), undefined);
  });
});

describe('streaming endpoints', () => {
  const lookup = new FakeLookup();
  const streaming = new FakeStreamingServer();
  const runtime = new FakeRuntime(streaming);
  const logger = new MemoryLogger();
  const server = new LocalServer(lookup, new Registry(), logger);
  let port = 0;
  let base = '';
  let wsBase = '';

  before(async () => {
    await streaming.start();
    registerStreamingRoutes(server, { lookup, runtime: runtime as unknown as StreamingDeps['runtime'], logger });
    port = await server.listen(0);
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
    await streaming.close();
  });
  beforeEach(() => {
    runtime.execs = [];
    runtime.attaches = [];
    runtime.forwards = [];
    runtime.execSyncs = [];
    runtime.answer = '/exec/token-1';
    runtime.execSyncResult = { stdout: Buffer.from('out\n'), stderr: Buffer.from('err\n'), exitCode: 0 };
    streaming.seen.length = 0;
  });

  describe('/run', () => {
    it('runs the cmd query split on spaces and answers stdout then stderr', async () => {
      const r = await fetch(`${base}/run/default/web/main?cmd=${encodeURIComponent('sh -c  echo')}`, { method: 'POST' });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'out\nerr\n');
      assert.deepEqual(runtime.execSyncs, [{ id: 'cid-web-0', cmd: ['sh', '-c', '', 'echo'], timeout: 120 }]);
    });
    it('takes cmd from a form body, and the pod UID in the path', async () => {
      const r = await fetch(`${base}/run/default/web/uid-web/main`, { method: 'POST', body: new URLSearchParams({ cmd: 'cat /etc/hostname' }) });
      assert.equal(r.status, 200);
      assert.deepEqual(runtime.execSyncs[0]?.cmd, ['cat', '/etc/hostname']);
    });
    it('404 naming an unknown pod, container or UID; 400 without a command; 405 for GET', async () => {
      let r = await fetch(`${base}/run/default/nope/main?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 404);
      assert.match(await r.text(), /pod "nope" not found in namespace "default"/);
      r = await fetch(`${base}/run/default/web/sidecar?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 404);
      assert.match(await r.text(), /container sidecar is not valid for pod web/);
      r = await fetch(`${base}/run/default/web/other-uid/main?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 404);
      r = await fetch(`${base}/run/default/two/unstarted?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 404);
      assert.match(await r.text(), /container not found \("unstarted"\)/);
      r = await fetch(`${base}/run/default/web/main`, { method: 'POST' });
      assert.equal(r.status, 400);
      r = await fetch(`${base}/run/default/web/main?cmd=ls`);
      assert.equal(r.status, 405);
      assert.equal(runtime.execSyncs.length, 0);
    });
    it('500 with the runtime error, or the exit code and stderr of a failed command', async () => {
      runtime.execSyncResult = { stdout: Buffer.from(''), stderr: Buffer.from('no such file\n'), exitCode: 2 };
      let r = await fetch(`${base}/run/default/web/main?cmd=ls%20/x`, { method: 'POST' });
      assert.equal(r.status, 500);
      assert.equal(await r.text(), "command 'ls /x' exited with 2: no such file\n");
      runtime.execSyncResult = new RuntimeError('Unknown', 'ExecSync', 'container is not running');
      r = await fetch(`${base}/run/default/web/main?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 500);
      assert.match(await r.text(), /ExecSync: container is not running/);
    });
  });

  it('400 "Upgrade request required" without an upgrade, and the runtime is not asked', async () => {
    for (const path of ['/exec/default/web/main?command=ls&output=1', '/attach/default/web/main?output=1', '/portForward/default/web?port=80']) {
      const r = await fetch(base + path);
      assert.equal(r.status, 400, path);
      assert.equal(await r.text(), 'Upgrade request required\n');
    }
    assert.equal(runtime.execs.length + runtime.attaches.length + runtime.forwards.length, 0);
  });

  describe('/exec', () => {
    it('proxies a v4.channel.k8s.io WebSocket: headers and bytes pass both ways', async () => {
      const o = await openWs(`${wsBase}/exec/default/web/main?command=sh&command=-c&command=${encodeURIComponent('echo hi')}&input=1&output=1&error=1`, [V4], { 'X-Custom': 'kept' });
      assert.ok('ws' in o, `upgrade refused: ${JSON.stringify(o)}`);
      assert.equal(o.protocol, V4);
      assert.deepEqual(runtime.execs, [{ containerId: 'cid-web-0', cmd: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: true, tty: false }]);
      const seen = streaming.seen[0]!;
      assert.equal(seen.url, '/exec/token-1');
      assert.equal(seen.method, 'GET');
      assert.equal(seen.headers['sec-websocket-protocol'], V4);
      assert.equal(seen.headers.upgrade, 'websocket');
      assert.equal(seen.headers['x-custom'], 'kept');
      assert.equal(seen.headers.host, new URL(streaming.base).host);
      o.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
      await waitFor(o.ws, o.messages, (m) => onChannel(m, 2) === 'err:hello\n');
      assert.equal(onChannel(o.messages, 1), 'hello\n');
      // a large message crosses intact
      const big = 'x'.repeat(300_000);
      o.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(big)]));
      await waitFor(o.ws, o.messages, (m) => onChannel(m, 2).length >= 'err:hello\n'.length + 4 + big.length);
      assert.equal(onChannel(o.messages, 1), `hello\n${big}`);
      o.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('exit 3')]));
      await o.closed;
      const status = JSON.parse(onChannel(o.messages, 3)) as { status: string; details: { causes: { reason: string; message: string }[] } };
      assert.equal(status.status, 'Failure');
      assert.deepEqual(status.details.causes[0], { reason: 'ExitCode', message: '3' });
    });

    it('a client that drops the connection closes the runtime side too', async () => {
      const o = await openWs(`${wsBase}/exec/default/web/main?command=sh&input=1&output=1`, [V4]);
      assert.ok('ws' in o);
      await waitFor(o.ws, o.messages, (m) => m.length >= 1); // the server side exists
      const runtimeSide = streaming.last!;
      const closed = once(runtimeSide, 'close');
      o.ws.terminate();
      await closed;
    });

    it('tty drops stderr; the container defaults to the only one', async () => {
      const o = await openWs(`${wsBase}/exec/default/web?command=sh&stdin=1&stdout=1&stderr=1&tty=1`, [V4]);
      assert.ok('ws' in o);
      assert.deepEqual(runtime.execs[0], { containerId: 'cid-web-0', cmd: ['sh'], stdin: true, stdout: true, stderr: false, tty: true });
      o.ws.close();
      await o.closed;
    });

    it('relays a SPDY-style upgrade byte for byte (POST, X-Stream-Protocol-Version, early bytes)', async () => {
      runtime.answer = '/raw/token-2?foo=bar';
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/exec/default/two/a?command=ls&output=1',
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      });
      req.end();
      const [res, socket] = (await once(req, 'upgrade')) as [IncomingMessage, Socket, Buffer];
      assert.equal(res.statusCode, 101);
      assert.equal(res.headers.upgrade, 'SPDY/3.1');
      assert.equal(res.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
      assert.equal(streaming.seen[0]?.url, '/raw/token-2?foo=bar');
      assert.equal(streaming.seen[0]?.method, 'POST');
      socket.write(Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff]));
      const [echo] = (await once(socket, 'data')) as [Buffer];
      assert.deepEqual(echo, Buffer.concat([Buffer.from('echo:'), Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff])]));
      socket.destroy();
      assert.deepEqual(runtime.execs[0], { containerId: 'cid-two-0', cmd: ['ls'], stdin: false, stdout: true, stderr: false, tty: false });
    });

    it('errors before the upgrade are HTTP answers: 404 pod/container, 400 options, 500/404 runtime, 500 dial, relayed refusal', async () => {
      const cases: { path: string; status: number; body: RegExp; setup?: () => void }[] = [
        { path: '/exec/default/nope/main?command=ls&output=1', status: 404, body: /pod "nope" not found in namespace "default"/ },
        { path: '/exec/default/web/sidecar?command=ls&output=1', status: 404, body: /container sidecar is not valid for pod web/ },
        { path: '/exec/default/two?command=ls&output=1', status: 400, body: /a container name must be specified for pod two, choose one of: \[a b unstarted\]/ },
        { path: '/exec/default/web/main?command=ls', status: 400, body: /at least 1 of stdin, stdout, stderr/ },
        { path: '/exec/default/web/main?output=1', status: 400, body: /at least one command/ },
        { path: '/exec/default/web/main?command=ls&output=1', status: 500, body: /Exec: failed to exec in container/, setup: () => (runtime.answer = new RuntimeError('Unknown', 'Exec', 'failed to exec in container')) },
        { path: '/exec/default/web/main?command=ls&output=1', status: 404, body: /Exec: container "x" not found/, setup: () => (runtime.answer = new NotFoundError('Exec', 'container "x" not found')) },
        { path: '/exec/default/web/main?command=ls&output=1', status: 500, body: /error dialing the runtime's streaming server at 127\.0\.0\.1:1: .*ECONNREFUSED/, setup: () => (runtime.answer = 'http://127.0.0.1:1/exec/x') },
        { path: '/exec/default/web/main?command=ls&output=1', status: 500, body: /bad streaming URL/, setup: () => (runtime.answer = 'unix:///x') },
        { path: '/exec/default/web/main?command=ls&output=1', status: 403, body: /^token expired\n$/, setup: () => (runtime.answer = '/deny/x') },
        { path: '/exec/ns', status: 404, body: /404 page not found/ },
      ];
      for (const c of cases) {
        runtime.answer = '/exec/token-1';
        c.setup?.();
        const o = await openWs(wsBase + c.path, [V4]);
        assert.ok('status' in o, `${c.path}: expected a refusal`);
        assert.equal(o.status, c.status, `${c.path}: ${o.body}`);
        assert.match(o.body, c.body, c.path);
      }
    });

    it('a client that goes away while the runtime is asked does not break the server', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const orig = runtime.exec.bind(runtime);
      let asked = false;
      runtime.exec = async (req: StreamRequest) => {
        asked = true;
        await gate;
        return orig(req);
      };
      const req = request({ host: '127.0.0.1', port, path: '/exec/default/web/main?command=ls&output=1', headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' } });
      req.on('error', () => undefined);
      req.end();
      await once(req, 'socket');
      while (!asked) await new Promise<void>((r) => setImmediate(r));
      req.destroy();
      release();
      runtime.exec = orig;
      // the server still serves
      const r = await fetch(`${base}/run/default/web/main?cmd=ls`, { method: 'POST' });
      assert.equal(r.status, 200);
    });
  });

  describe('/attach', () => {
    it("uses the container's own TTY setting", async () => {
      runtime.answer = '/attach/token-3';
      let o = await openWs(`${wsBase}/attach/default/two/b?input=1&output=1&error=1`, [V4]);
      assert.ok('ws' in o);
      assert.deepEqual(runtime.attaches[0], { containerId: 'cid-two-1', stdin: true, stdout: true, stderr: false, tty: true });
      assert.ok(streaming.seen.some((x) => x.url === '/attach/token-3'));
      o.ws.close();
      await o.closed;
      o = await openWs(`${wsBase}/attach/default/two/a?output=1&error=1`, [V4]);
      assert.ok('ws' in o);
      assert.deepEqual(runtime.attaches[1], { containerId: 'cid-two-0', stdin: false, stdout: true, stderr: true, tty: false });
      o.ws.close();
      await o.closed;
    });
  });

  describe('/portForward', () => {
    beforeEach(() => {
      runtime.sandboxes = [sandbox('sb-old', 'uid-web', 'SANDBOX_READY', 1), sandbox('sb-new', 'uid-web', 'SANDBOX_READY', 2), sandbox('sb-dead', 'uid-web', 'SANDBOX_NOTREADY', 3)];
    });

    it('forwards into the newest ready sandbox over WebSocket: port header, then data both ways', async () => {
      runtime.answer = '/pf/token-4?port=8088';
      const o = await openWs(`${wsBase}/portForward/default/web?port=8088`, ['portforward.k8s.io']);
      assert.ok('ws' in o, JSON.stringify(o));
      assert.deepEqual(runtime.forwards, [{ id: 'sb-new', ports: [8088] }]);
      assert.deepEqual(runtime.sandboxFilters.at(-1), { labelSelector: { 'io.kubernetes.pod.uid': 'uid-web' } });
      await waitFor(o.ws, o.messages, (m) => m.length >= 2);
      assert.deepEqual(o.messages[0], Buffer.from([0, 8088 & 0xff, 8088 >> 8]));
      assert.deepEqual(o.messages[1], Buffer.from([1, 8088 & 0xff, 8088 >> 8]));
      o.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('get /\n')]));
      await waitFor(o.ws, o.messages, (m) => onChannel(m, 0).includes('GET /\n'));
      o.ws.close();
      await o.closed;
    });

    it('SPDY-style requests name no ports in the query', async () => {
      runtime.answer = '/raw/token-5';
      const req = request({ host: '127.0.0.1', port, path: '/portForward/default/web/uid-web', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' } });
      req.end();
      const [res, socket] = (await once(req, 'upgrade')) as [IncomingMessage, Socket];
      assert.equal(res.statusCode, 101);
      socket.destroy();
      assert.deepEqual(runtime.forwards, [{ id: 'sb-new', ports: [] }]);
    });

    it('refusals: port required for WebSocket, unknown pod or UID, no ready sandbox, runtime error', async () => {
      let o = await openWs(`${wsBase}/portForward/default/web`, ['portforward.k8s.io']);
      assert.ok('status' in o && o.status === 400 && /"port" is required/.test(o.body), JSON.stringify(o));
      o = await openWs(`${wsBase}/portForward/default/nope?port=80`, ['portforward.k8s.io']);
      assert.ok('status' in o && o.status === 404 && /pod "nope" not found/.test(o.body), JSON.stringify(o));
      o = await openWs(`${wsBase}/portForward/default/web/uid-x?port=80`, ['portforward.k8s.io']);
      assert.ok('status' in o && o.status === 404, JSON.stringify(o));
      runtime.sandboxes = [sandbox('sb-dead', 'uid-web', 'SANDBOX_NOTREADY', 3)];
      o = await openWs(`${wsBase}/portForward/default/web?port=80`, ['portforward.k8s.io']);
      assert.ok('status' in o && o.status === 404 && /no ready sandbox/.test(o.body), JSON.stringify(o));
      runtime.sandboxes = [sandbox('sb-new', 'uid-web', 'SANDBOX_READY', 2)];
      runtime.answer = new RuntimeError('Unknown', 'PortForward', 'boom');
      o = await openWs(`${wsBase}/portForward/default/web?port=80`, ['portforward.k8s.io']);
      assert.ok('status' in o && o.status === 500 && /PortForward: boom/.test(o.body), JSON.stringify(o));
      assert.equal(runtime.forwards.length, 1);
    });
  });

  it('plain requests to other paths still get the local API', async () => {
    const r = await rawRequest(port, 'GET', '/pods', {});
    assert.equal(r.status, 200);
  });

  it('leaves no connection to the runtime open once the sessions are over', async () => {
    for (let i = 0; i < 5000 && streaming.openConnections > 0; i++) await new Promise<void>((r) => setImmediate(r));
    assert.equal(streaming.openConnections, 0);
  });
});
