// The probe handlers against real loopback servers (HTTP, HTTPS, TCP, gRPC) and exec against the
// simulated runtime. Timeouts are driven with the fake clock; nothing sleeps.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import type { EventRecorder } from '../events/index.js';
import { execProbe } from './exec.js';
import { grpcProbe, loadHealthService } from './grpc.js';
import { canonicalHeaderKey, httpProbe, newRequestForHTTPGetAction } from './http.js';
import { joinHostPort, probeUserAgent, resolveContainerPort } from './probe.js';
import { Prober } from './prober.js';
import { tcpProbe } from './tcp.js';

const BUSYBOX = 'localhost/busybox:latest';

function listen(server: Server | ReturnType<typeof createNetServer>, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

function close(server: { close(cb?: () => void): unknown; closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await close(s);
  return port;
}

describe('probe helpers', () => {
  it('resolves ports by number, by name and from a numeric string; rejects the rest', () => {
    const c = { ports: [{ name: 'http', containerPort: 8080 }] };
    assert.equal(resolveContainerPort(80, c), 80);
    assert.equal(resolveContainerPort('http', c), 8080);
    assert.equal(resolveContainerPort('9090', c), 9090);
    assert.throws(() => resolveContainerPort('metrics', c), /invalid syntax/);
    assert.throws(() => resolveContainerPort(70000, c), /invalid port number: 70000/);
    assert.throws(() => resolveContainerPort(0, c), /invalid port number: 0/);
  });

  it('joins IPv6 hosts in brackets and canonicalizes header names as Go', () => {
    assert.equal(joinHostPort('10.0.0.1', 80), '10.0.0.1:80');
    assert.equal(joinHostPort('::1', 80), '[::1]:80');
    assert.equal(canonicalHeaderKey('x-custom-header'), 'X-Custom-Header');
    assert.equal(canonicalHeaderKey('USER-AGENT'), 'User-Agent');
    assert.equal(probeUserAgent(), 'kube-probe/1.30');
  });

  it('builds the request as the kubelet: pod IP, path with query, default headers, Host', () => {
    const req = newRequestForHTTPGetAction(
      { port: 'web', path: '/healthz?full=1', httpHeaders: [{ name: 'x-a', value: '1' }, { name: 'X-A', value: '2' }, { name: 'host', value: 'example.com' }] },
      { ports: [{ name: 'web', containerPort: 8080 }] },
      '10.88.0.7',
    );
    assert.equal(req.url.href, 'http://10.88.0.7:8080/healthz?full=1');
    assert.deepEqual(req.headers.get('X-A'), ['1', '2']);
    assert.deepEqual(req.headers.get('User-Agent'), ['kube-probe/1.30']);
    assert.deepEqual(req.headers.get('Accept'), ['*/*']);
    assert.equal(req.host, 'example.com');
    const noAccept = newRequestForHTTPGetAction({ port: 80, scheme: 'HTTPS', host: 'svc.local', httpHeaders: [{ name: 'Accept', value: '' }] }, {}, '10.0.0.1');
    assert.equal(noAccept.url.href, 'https://svc.local:80/');
    assert.equal(noAccept.headers.has('Accept'), false);
  });
});

describe('httpGet probes', () => {
  const clock = new FakeClock();
  let server: Server;
  let port = 0;
  let other: Server;
  let otherPort = 0;
  const seen: IncomingMessage[] = [];
  let hang: (() => void) | undefined;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req);
      const url = req.url ?? '/';
      if (url === '/ok') res.end('all good');
      else if (url === '/fail') {
        res.statusCode = 500;
        res.end('secret details');
      } else if (url === '/redirect-same') {
        res.writeHead(302, { location: '/ok' }).end();
      } else if (url === '/redirect-same-host-other-port') {
        res.writeHead(301, { location: `http://127.0.0.1:${otherPort}/there` }).end();
      } else if (url === '/redirect-other-host') {
        res.writeHead(302, { location: `http://localhost:${port}/ok` }).end('moved away');
      } else if (url.startsWith('/loop')) {
        res.writeHead(302, { location: `/loop${Number(url.slice(5) || 0) + 1}` }).end();
      } else if (url === '/big') {
        res.end('x'.repeat(50_000));
      } else if (url === '/hang') {
        hang?.();
      } else if (url === '/echo') {
        res.end(JSON.stringify(req.headers));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    port = await listen(server);
    other = createServer((req, res) => {
      seen.push(req);
      res.end(`other ${req.url}`);
    });
    otherPort = await listen(other);
  });
  after(async () => {
    await close(server);
    await close(other);
  });

  const probe = (path: string, extra: Partial<Parameters<typeof newRequestForHTTPGetAction>[0]> = {}, container: Partial<V1Container> = {}) =>
    httpProbe(clock, newRequestForHTTPGetAction({ port, path, ...extra }, container, '127.0.0.1'), 1000);

  it('200 is Success with the body', async () => {
    assert.deepEqual(await probe('/ok'), { result: 'Success', output: 'all good' });
    assert.equal(clock.pendingTimers(), 0, 'the timeout timer is stopped');
  });

  it('500 is Failure, without the body', async () => {
    assert.deepEqual(await probe('/fail'), { result: 'Failure', output: 'HTTP probe failed with statuscode: 500' });
  });

  it('follows a redirect to the same host (same or another port)', async () => {
    assert.deepEqual(await probe('/redirect-same'), { result: 'Success', output: 'all good' });
    assert.deepEqual(await probe('/redirect-same-host-other-port'), { result: 'Success', output: 'other /there' });
  });

  it('a redirect to another host is not followed: a Warning (success)', async () => {
    const before = seen.length;
    assert.deepEqual(await probe('/redirect-other-host'), { result: 'Warning', output: 'Probe terminated redirects, Response body: moved away' });
    assert.equal(seen.length, before + 1, 'localhost was not asked');
  });

  it('stops after 10 redirects', async () => {
    const out = await probe('/loop');
    assert.equal(out.result, 'Failure');
    assert.match(out.output, /^Get "http:\/\/127\.0\.0\.1:\d+\/loop10": stopped after 10 redirects$/);
  });

  it('reads at most 10 KiB of the body', async () => {
    const out = await probe('/big');
    assert.equal(out.result, 'Success');
    assert.equal(out.output.length, 10 * 1024);
  });

  it('sends the probe headers, kube-probe/1.30 and Accept */*; a probe header wins', async () => {
    const out = await probe('/echo', { httpHeaders: [{ name: 'x-probe', value: 'yes' }] });
    const h = JSON.parse(out.output) as Record<string, string>;
    assert.equal(h['user-agent'], 'kube-probe/1.30');
    assert.equal(h['accept'], '*/*');
    assert.equal(h['x-probe'], 'yes');
    assert.equal(h['connection'], 'close');
    assert.equal(h['accept-encoding'], undefined);
    const own = JSON.parse((await probe('/echo', { httpHeaders: [{ name: 'User-Agent', value: 'mine' }, { name: 'Host', value: 'web.example' }] })).output) as Record<string, string>;
    assert.equal(own['user-agent'], 'mine');
    assert.equal(own['host'], 'web.example');
  });

  it('resolves a named container port', async () => {
    const out = await httpProbe(clock, newRequestForHTTPGetAction({ port: 'web', path: '/ok' }, { ports: [{ name: 'web', containerPort: port }] }, '127.0.0.1'), 1000);
    assert.deepEqual(out, { result: 'Success', output: 'all good' });
  });

  it('a connection refused is a Failure with the dial error', async () => {
    const p = await freePort();
    const out = await httpProbe(clock, newRequestForHTTPGetAction({ port: p, path: '/' }, {}, '127.0.0.1'), 1000);
    assert.deepEqual(out, { result: 'Failure', output: `Get "http://127.0.0.1:${p}/": dial tcp 127.0.0.1:${p}: connect: connection refused` });
  });

  it('times out on the clock', async () => {
    const arrived = new Promise<void>((resolve) => (hang = resolve));
    const pending = probe('/hang', { path: '/hang' });
    await arrived;
    await clock.advance(999);
    let settled = false;
    void pending.then(() => (settled = true));
    await clock.advance(0);
    assert.equal(settled, false);
    await clock.advance(1);
    assert.deepEqual(await pending, { result: 'Failure', output: `Get "http://127.0.0.1:${port}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
  });
});

describe('httpGet probes over HTTPS', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  it('does not verify the certificate', { skip: hasOpenssl ? false : 'openssl is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodelet-prober-tls-'));
    try {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=nodelet-test']);
      assert.equal(r.status, 0, r.stderr.toString());
      const server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.end('secure'));
      const port = await listen(server as unknown as Server);
      try {
        const out = await httpProbe(new FakeClock(), newRequestForHTTPGetAction({ port, path: '/', scheme: 'HTTPS' }, {}, '127.0.0.1'), 1000);
        assert.deepEqual(out, { result: 'Success', output: 'secure' });
      } finally {
        await close(server as unknown as Server);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tcpSocket probes', () => {
  it('an open port is Success (closed with a RST, as the kubelet), a closed one a Failure', async () => {
    const clock = new FakeClock();
    let reset!: (code: string) => void;
    const serverSaw = new Promise<string>((r) => (reset = r));
    const server = createNetServer((s) => {
      s.on('error', (e: NodeJS.ErrnoException) => reset(e.code ?? ''));
      s.on('end', () => reset('FIN'));
    });
    const port = await listen(server);
    try {
      assert.deepEqual(await tcpProbe(clock, '127.0.0.1', port, 1000), { result: 'Success', output: '' });
      assert.equal(await serverSaw, 'ECONNRESET', 'no TIME-WAIT: the probe resets its connection');
    } finally {
      await close(server);
    }
    const closed = await freePort();
    assert.deepEqual(await tcpProbe(clock, '127.0.0.1', closed, 1000), { result: 'Failure', output: `dial tcp 127.0.0.1:${closed}: connect: connection refused` });
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('grpc probes', () => {
  const clock = new FakeClock();
  let server: grpc.Server;
  let port = 0;
  let bare: grpc.Server;
  let barePort = 0;
  const userAgents: string[] = [];
  const statuses: Record<string, string> = { '': 'SERVING', web: 'SERVING', db: 'NOT_SERVING' };

  const bind = (s: grpc.Server): Promise<number> =>
    new Promise((resolve, reject) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));

  before(async () => {
    server = new grpc.Server();
    server.addService(loadHealthService().service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        userAgents.push(String(call.metadata.get('user-agent')[0] ?? ''));
        const st = statuses[call.request.service];
        if (st === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        else cb(null, { status: st });
      },
      Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    });
    port = await bind(server);
    bare = new grpc.Server();
    barePort = await bind(bare);
  });
  after(() => {
    server.forceShutdown();
    bare.forceShutdown();
  });

  it('SERVING is Success, with kube-probe/1.30 as User-Agent', async () => {
    assert.deepEqual(await grpcProbe(clock, '127.0.0.1', '', port, 1000), { result: 'Success', output: 'service healthy' });
    assert.deepEqual(await grpcProbe(clock, '127.0.0.1', 'web', port, 1000), { result: 'Success', output: 'service healthy' });
    assert.match(userAgents[0]!, /^kube-probe\/1\.30 /);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('NOT_SERVING is a Failure', async () => {
    assert.deepEqual(await grpcProbe(clock, '127.0.0.1', 'db', port, 1000), { result: 'Failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
  });

  it('an unknown service is a Failure with the RPC error', async () => {
    assert.deepEqual(await grpcProbe(clock, '127.0.0.1', 'cache', port, 1000), {
      result: 'Failure',
      output: 'error: health rpc probe failed: rpc error: code = NotFound desc = unknown service',
    });
  });

  it('a server without the Health service is a Failure', async () => {
    const out = await grpcProbe(clock, '127.0.0.1', '', barePort, 1000);
    assert.equal(out.result, 'Failure');
    assert.match(out.output, /^error: this server does not implement the grpc health protocol \(grpc\.health\.v1\.Health\): /);
  });

  it('nothing listening: a connect timeout on the clock', async () => {
    const p = await freePort();
    const pending = grpcProbe(clock, '127.0.0.1', '', p, 1000);
    await clock.advance(1000);
    assert.deepEqual(await pending, { result: 'Failure', output: `timeout: failed to connect service "127.0.0.1:${p}" within 1s: context deadline exceeded` });
  });
});

describe('exec probes', () => {
  let root = '';
  before(() => (root = mkdtempSync(join(tmpdir(), 'nodelet-prober-exec-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  async function container(clock: FakeClock, rt: SimRuntime, command: string[]): Promise<string> {
    const sb = { metadata: { name: 'p', namespace: 'default', uid: `u-${Math.random()}`, attempt: 0 }, logDirectory: join(root, String(Math.random())) };
    const sid = await rt.runPodSandbox(sb);
    const id = await rt.createContainer(sid, { metadata: { name: 'app', attempt: 0 }, image: { image: BUSYBOX }, command, logPath: 'app/0.log' }, sb);
    await rt.startContainer(id);
    await clock.advance(0);
    return id;
  }

  it('exit 0 is Success, another exit code a Failure with the output, a timeout a Failure', async () => {
    const clock = new FakeClock();
    const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX }] });
    const id = await container(clock, rt, ['sh', '-c', 'touch /tmp/ok; sleep 600']);
    assert.deepEqual(await execProbe(rt, id, ['cat', '/tmp/ok'], 1), { result: 'Success', output: '' });
    assert.deepEqual(await execProbe(rt, id, ['cat', '/tmp/missing'], 1), { result: 'Failure', output: "cat: can't open '/tmp/missing': No such file or directory\n" });
    const pending = execProbe(rt, id, ['sleep', '5'], 1);
    await clock.advance(1000);
    assert.deepEqual(await pending, { result: 'Failure', output: 'command "sleep 5" timed out' });
    const unknown = await execProbe(rt, id, ['no-such-binary'], 1);
    assert.equal(unknown.result, 'Unknown');
    assert.ok(unknown.error);
  });

  it('the prober expands $(VAR) from literal env values, retries errors 3 times and records events', async () => {
    const clock = new FakeClock();
    const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX }] });
    const id = await container(clock, rt, ['sh', '-c', 'touch /tmp/ready; sleep 600']);
    const events: Array<{ reason: string; message: string; fieldPath?: string }> = [];
    const recorder: EventRecorder = { event: (obj, _type, reason, message) => events.push({ reason, message, fieldPath: obj.fieldPath }) };
    const prober = new Prober({ runtime: rt, clock, recorder });
    const pod: V1Pod = { metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
    const probe = (spec: V1Probe, env: V1Container['env'] = []) =>
      prober.probe('readiness', { pod, container: { name: 'app', readinessProbe: spec, env }, containerId: id, podIP: '127.0.0.1' });
    assert.deepEqual(await probe({ exec: { command: ['cat', '$(FILE)'] } }, [{ name: 'FILE', value: '/tmp/ready' }]), { result: 'Success', output: '' });
    assert.deepEqual(await probe({ exec: { command: ['cat', '/tmp/nope'] } }), { result: 'Failure', output: "cat: can't open '/tmp/nope': No such file or directory\n" });
    assert.deepEqual(events.at(-1), { reason: 'Unhealthy', message: "Readiness probe failed: cat: can't open '/tmp/nope': No such file or directory\n", fieldPath: 'spec.containers{app}' });
    const before = rt.calls.get('ExecSync') ?? 0;
    const errored = await probe({ exec: { command: ['no-such-binary'] } });
    assert.equal(errored.result, 'Unknown');
    assert.equal((rt.calls.get('ExecSync') ?? 0) - before, 3, 'retried 3 times');
    assert.match(events.at(-1)!.message, /^Readiness probe errored: ExecSync: failed to exec in container/);
    const unresolved = await probe({ tcpSocket: { port: 'nope' } });
    assert.equal(unresolved.result, 'Unknown');
  });
});
