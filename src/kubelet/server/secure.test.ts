// The secure kubelet API (:10250) over real TLS on loopback, in front of a real LocalServer, with
// TokenReview and SubjectAccessReview answered by the test API server (its Node authorizer denies
// a node nodes/proxy; its `authorize` hook lets "reader*" users and system:anonymous read
// nodes/metrics of node-1; system:masters may do everything). Caches run on a FakeClock and are
// proven by counting the reviews the API server received. HTTP needs real time for I/O; nothing
// asserts timings.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { createCA, issueCert, type KeyPair } from '../../../test/apiserver/pki.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import type { ServingCertificateSource } from '../certificates/serving.js';
import { generateSelfSignedCertKey } from '../certificates/pki.js';
import { keyPairInfo, type KeyPairInfo } from '../certificates/store.js';
import { LocalServer, type LocalApiSource } from './local.js';
import { SecureServer, type SecureServerOptions } from './secure.js';

const NODE = 'node-1';
const root = mkdtempSync(join(tmpdir(), 'nodelet-secure-'));
after(() => rmSync(root, { recursive: true, force: true }));

class RotatingSource implements ServingCertificateSource {
  private readonly cbs = new Set<(c: KeyPairInfo) => void>();
  constructor(private pair: KeyPairInfo | undefined) {}
  current(): KeyPairInfo | undefined {
    return this.pair;
  }
  onRotate(cb: (c: KeyPairInfo) => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
  rotate(p: KeyPairInfo): void {
    this.pair = p;
    for (const cb of this.cbs) cb(p);
  }
}

async function servingPair(host: string): Promise<KeyPairInfo> {
  const { certPem, keyPem } = await generateSelfSignedCertKey(host, ['127.0.0.1'], [], Date.now());
  return keyPairInfo(certPem, keyPem, `${host}.crt`);
}

const source: LocalApiSource = {
  getPods: () => [{ pod: { metadata: { name: 'web', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, status: { phase: 'Running' } }],
  healthChecks: () => [{ name: 'ping', ok: true, message: 'ok' }],
  listEvents: () => [],
};

/** A LocalServer with a /containerLogs route and an /exec upgrade route that records what it got. */
function localHandler(): { local: LocalServer; upgrades: IncomingHttpHeaders[] } {
  const registry = new Registry();
  new Counter({ name: 'kubelet_secure_test_total', help: 'A test counter.', registers: [registry] }).inc();
  const local = new LocalServer(source, registry, new MemoryLogger());
  local.addRoute('/containerLogs', (_req, res, url) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`log of ${url.pathname}\n`);
  });
  const upgrades: IncomingHttpHeaders[] = [];
  local.addUpgradeRoute('/exec', (req, socket) => {
    upgrades.push({ ...req.headers });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
  });
  return { local, upgrades };
}

interface Who {
  cert?: KeyPair;
  token?: string;
}

interface Reply {
  status: number;
  body: string;
  servingCN: string;
}

function call(port: number, path: string, who: Who = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1', port, path, method, agent: false, rejectUnauthorized: false,
        ...(who.cert ? { cert: who.cert.cert, key: who.cert.key } : {}),
        headers: who.token ? { authorization: `Bearer ${who.token}` } : {},
      },
      (res) => {
        const cn = (res.socket as TLSSocket).getPeerCertificate().subject?.CN;
        const servingCN = Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), servingCN }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A raw SPDY-style upgrade request; resolves with everything the server wrote before closing. */
function upgrade(port: number, path: string, who: Who = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(who.cert ? { cert: who.cert.cert, key: who.cert.key } : {}) }, () => {
      const auth = who.token ? `Authorization: Bearer ${who.token}\r\n` : '';
      sock.write(`POST ${path} HTTP/1.1\r\nHost: kubelet\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n${auth}\r\n`);
    });
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('error', reject);
  });
}

const reviews = (s: TestApiServer, kind: 'subjectaccessreviews' | 'tokenreviews'): number => s.requests.filter((r) => r.path.includes(`/${kind}`)).length;

describe('SecureServer against the test API server', () => {
  let s: TestApiServer;
  let caFile: string;
  let serving: KeyPairInfo;
  const clock = new FakeClock(Date.now());
  const servers: SecureServer[] = [];
  const pki = (): NonNullable<TestApiServer['pki']> => s.pki!;

  before(async () => {
    s = await startTestApiServer({
      tokens: {
        'admin-token': { name: 'token-admin', groups: ['system:masters'] },
        'reader-token': { name: 'reader-tok', groups: [] },
        'reader-token-2': { name: 'reader-tok-2', groups: [] },
      },
      authorize: (a) => {
        if (a.resource !== 'nodes' || a.name !== NODE) return undefined;
        if (a.user.name.startsWith('reader') || a.user.name === 'system:anonymous') return a.subresource === 'metrics' && a.verb === 'get';
        return undefined;
      },
    });
    caFile = join(root, 'client-ca.crt');
    writeFileSync(caFile, s.caPem);
    serving = await servingPair('node-1');
  });
  after(async () => {
    for (const x of servers) await x.close();
    await s.close();
  });

  async function start(over: Partial<SecureServerOptions> = {}): Promise<{ port: number; server: SecureServer; upgrades: IncomingHttpHeaders[]; log: MemoryLogger }> {
    const { local, upgrades } = localHandler();
    const log = new MemoryLogger();
    const server = new SecureServer({
      address: '127.0.0.1', port: 0, tls: new RotatingSource(serving), clientCAFile: caFile, anonymousEnabled: false,
      webhookAuthn: { enabled: true, cacheTTLMs: 120_000 }, authorizationMode: 'Webhook', webhookAuthz: { cacheAuthorizedTTLMs: 300_000, cacheUnauthorizedTTLMs: 30_000 },
      kubeConfig: s.kubeconfig({ node: NODE }), nodeName: NODE, clock, logger: log, handler: local,
      ...over,
    });
    servers.push(server);
    return { port: await server.listen(), server, upgrades, log };
  }

  let main: Awaited<ReturnType<typeof start>>;
  before(async () => {
    main = await start();
  });

  it('answers 401 Unauthorized without credentials, /healthz included', async () => {
    for (const p of ['/pods', '/healthz', '/metrics', '/containerLogs/default/web/c']) {
      const r = await call(main.port, p);
      assert.equal(r.status, 401, p);
      assert.equal(r.body, 'Unauthorized');
    }
  });

  it('answers 401 to a client certificate of another CA, and to an unknown token', async () => {
    const other = createCA('other-ca');
    try {
      const r = await call(main.port, '/pods', { cert: issueCert(other, 'kubernetes-admin', ['system:masters']) });
      assert.equal(r.status, 401);
      assert.ok(main.log.find((l) => l.msg === 'Unable to authenticate the request due to an error' && /verifying certificate/.test(String(l.fields.err))));
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
    assert.equal((await call(main.port, '/pods', { token: 'bogus' })).status, 401);
  });

  it('serves an allowed user (system:masters by client certificate): /pods, /healthz, /metrics, /containerLogs', async () => {
    const admin = { cert: pki().admin };
    const pods = await call(main.port, '/pods', admin);
    assert.equal(pods.status, 200);
    assert.equal((JSON.parse(pods.body) as { items: { metadata: { name: string } }[] }).items[0]?.metadata.name, 'web');
    assert.deepEqual(await call(main.port, '/healthz', admin), { status: 200, body: 'ok', servingCN: serving.commonName });
    const m = await call(main.port, '/metrics', admin);
    assert.equal(m.status, 200);
    assert.match(m.body, /kubelet_secure_test_total 1/);
    const l = await call(main.port, '/containerLogs/default/web/c', admin);
    assert.equal(l.status, 200);
    assert.equal(l.body, 'log of /containerLogs/default/web/c\n');
  });

  it('answers 403 with the kubelet text when the SubjectAccessReview denies (a node on nodes/proxy)', async () => {
    const node = { cert: pki().client(`system:node:${NODE}`, ['system:nodes']) };
    const r = await call(main.port, '/pods', node);
    assert.equal(r.status, 403);
    assert.equal(r.body, `Forbidden (user=system:node:${NODE}, verb=get, resource=nodes, subresource=proxy)`);
    const m = await call(main.port, '/metrics/probes', node);
    assert.equal(m.body, `Forbidden (user=system:node:${NODE}, verb=get, resource=nodes, subresource=metrics)`);
  });

  it('authorizes by subresource: a metrics reader gets /metrics but not /pods or a POST', async () => {
    const reader = { cert: pki().client('reader-cert', ['monitoring']) };
    assert.equal((await call(main.port, '/metrics', reader)).status, 200);
    assert.equal((await call(main.port, '/pods', reader)).body, 'Forbidden (user=reader-cert, verb=get, resource=nodes, subresource=proxy)');
    assert.equal((await call(main.port, '/metrics', reader, 'POST')).body, 'Forbidden (user=reader-cert, verb=create, resource=nodes, subresource=metrics)');
  });

  it('authenticates bearer tokens by TokenReview: allowed and denied users', async () => {
    assert.equal((await call(main.port, '/pods', { token: 'admin-token' })).status, 200);
    assert.equal((await call(main.port, '/metrics', { token: 'reader-token' })).status, 200);
    const denied = await call(main.port, '/healthz', { token: 'reader-token' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'Forbidden (user=reader-tok, verb=get, resource=nodes, subresource=proxy)');
  });

  it('caches SubjectAccessReviews (allowed 5 m, denied 30 s) and TokenReviews (2 m) on the clock', async () => {
    const reader = { cert: pki().client('reader-cache', []) };
    const sar0 = reviews(s, 'subjectaccessreviews');
    assert.equal((await call(main.port, '/metrics', reader)).status, 200);
    assert.equal((await call(main.port, '/metrics', reader)).status, 200);
    assert.equal((await call(main.port, '/pods', reader)).status, 403);
    assert.equal((await call(main.port, '/pods', reader)).status, 403);
    assert.equal(reviews(s, 'subjectaccessreviews') - sar0, 2, 'one review per decision');
    await clock.advance(30_000);
    assert.equal((await call(main.port, '/pods', reader)).status, 403);
    assert.equal((await call(main.port, '/metrics', reader)).status, 200);
    assert.equal(reviews(s, 'subjectaccessreviews') - sar0, 3, 'the denial expired after 30 s, the allowance did not');
    await clock.advance(270_000);
    assert.equal((await call(main.port, '/metrics', reader)).status, 200);
    assert.equal(reviews(s, 'subjectaccessreviews') - sar0, 4, 'the allowance expired after 5 m');

    const tr0 = reviews(s, 'tokenreviews');
    await call(main.port, '/metrics', { token: 'reader-token-2' });
    await call(main.port, '/metrics', { token: 'reader-token-2' });
    await call(main.port, '/metrics', { token: 'unknown-token' });
    await call(main.port, '/metrics', { token: 'unknown-token' });
    assert.equal(reviews(s, 'tokenreviews') - tr0, 3, 'a valid token is reviewed once; the API\'s "invalid bearer token" error is not cached');
    await clock.advance(119_000);
    await call(main.port, '/metrics', { token: 'reader-token-2' });
    assert.equal(reviews(s, 'tokenreviews') - tr0, 3);
    await clock.advance(1_000);
    await call(main.port, '/metrics', { token: 'reader-token-2' });
    assert.equal(reviews(s, 'tokenreviews') - tr0, 4, 'reviewed again after 2 m');
  });

  it('authorizes upgrade requests (exec) before the handler gets the socket, answering on the raw socket', async () => {
    const none = await upgrade(main.port, '/exec/default/web/c?command=sh');
    assert.match(none, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.ok(none.endsWith('\r\n\r\nUnauthorized'));
    const node = await upgrade(main.port, '/exec/default/web/c?command=sh', { cert: pki().client(`system:node:${NODE}`, ['system:nodes']) });
    assert.match(node, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.ok(node.endsWith(`Forbidden (user=system:node:${NODE}, verb=create, resource=nodes, subresource=proxy)`));
    assert.equal(main.upgrades.length, 0, 'refused upgrades never reach the handler');
    assert.match(await upgrade(main.port, '/exec/default/web/c?command=sh', { cert: pki().admin }), /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(await upgrade(main.port, '/exec/default/web/c?command=sh', { token: 'admin-token' }), /^HTTP\/1\.1 101 Switching Protocols/);
    assert.equal(main.upgrades.length, 2);
    assert.equal(main.upgrades[1]!.authorization, undefined, 'the bearer token is not passed on to the handler');
    assert.equal(main.upgrades[1]!['x-stream-protocol-version'], 'v4.channel.k8s.io');
  });

  it('with anonymous enabled, a request without credentials is authorized as system:anonymous', async () => {
    const anon = await start({ anonymousEnabled: true });
    assert.equal((await call(anon.port, '/metrics')).status, 200);
    const r = await call(anon.port, '/pods');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)');
    assert.equal((await call(anon.port, '/metrics', { token: 'bogus' })).status, 401, 'a bad token is not anonymous');
  });

  it('with authorization mode AlwaysAllow, any authenticated user is served without a SubjectAccessReview', async () => {
    const open = await start({ authorizationMode: 'AlwaysAllow' });
    const sar0 = reviews(s, 'subjectaccessreviews');
    assert.equal((await call(open.port, '/pods', { cert: pki().client(`system:node:${NODE}`, ['system:nodes']) })).status, 200);
    assert.equal((await call(open.port, '/pods')).status, 401);
    assert.equal(reviews(s, 'subjectaccessreviews'), sar0);
  });

  it('answers 500 with the kubelet text when the SubjectAccessReview fails', async () => {
    const failing = await start({ retryBackoff: { durationMs: 500, factor: 1.5, jitter: 0.2, steps: 1 } });
    s.faults.failNext(1, 500);
    const r = await call(failing.port, '/pods', { cert: pki().admin });
    assert.equal(r.status, 500);
    assert.equal(r.body, 'Authorization error (user=kubernetes-admin, verb=get, resource=nodes, subresource=proxy)');
    assert.equal((await call(failing.port, '/pods', { cert: pki().admin })).status, 200, 'the failure was not cached');
  });

  it('serves a rotated certificate to new connections and re-reads a changed client CA file', async () => {
    const src = new RotatingSource(serving);
    const file = join(root, 'rotating-ca.crt');
    writeFileSync(file, s.caPem);
    const x = await start({ tls: src, clientCAFile: file, authorizationMode: 'AlwaysAllow', webhookAuthn: { enabled: false, cacheTTLMs: 0 } });
    const admin = { cert: pki().admin };
    assert.equal((await call(x.port, '/healthz', admin)).servingCN, serving.commonName);
    const next = await servingPair('node-1-rotated');
    src.rotate(next);
    const after = await call(x.port, '/healthz', admin);
    assert.equal(after.status, 200);
    assert.equal(after.servingCN, next.commonName);
    assert.notEqual(next.commonName, serving.commonName);

    const other = createCA('next-client-ca');
    try {
      const otherAdmin = { cert: issueCert(other, 'ops', ['system:masters']) };
      assert.equal((await call(x.port, '/healthz', otherAdmin)).status, 401);
      writeFileSync(file, other.cert);
      await clock.advance(60_000);
      assert.equal((await call(x.port, '/healthz', otherAdmin)).status, 200, 'the new CA applies after the next reload');
      assert.equal((await call(x.port, '/healthz', admin)).status, 401, 'the old CA no longer does');
      assert.equal((await call(x.port, '/healthz', otherAdmin)).servingCN, next.commonName, 'the rotated serving certificate stays');
      writeFileSync(file, 'garbage');
      assert.equal(x.server.reloadClientCA(), false);
      assert.ok(x.log.find((l) => l.msg === 'unable to reload the client CA file; keeping the previous bundle'));
      assert.equal((await call(x.port, '/healthz', otherAdmin)).status, 200);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('without a serving certificate yet, handshakes fail until the first one arrives', async () => {
    const src = new RotatingSource(undefined);
    const x = await start({ tls: src, authorizationMode: 'AlwaysAllow' });
    assert.ok(x.log.find((l) => l.level === 'warn' && /no serving certificate available/.test(l.msg)));
    await assert.rejects(call(x.port, '/healthz', { cert: pki().admin }));
    src.rotate(serving);
    const r = await call(x.port, '/healthz', { cert: pki().admin });
    assert.equal(r.status, 200);
    assert.equal(r.servingCN, serving.commonName);
  });

  it('refuses to start with an unreadable client CA file or a configuration without a client', async () => {
    const bad = new SecureServer({
      address: '127.0.0.1', port: 0, tls: new RotatingSource(serving), clientCAFile: join(root, 'missing.crt'), anonymousEnabled: false,
      webhookAuthn: { enabled: false, cacheTTLMs: 0 }, authorizationMode: 'AlwaysAllow', webhookAuthz: { cacheAuthorizedTTLMs: 0, cacheUnauthorizedTTLMs: 0 },
      nodeName: NODE, clock, handler: localHandler().local,
    });
    await assert.rejects(bad.listen(), /unable to load client CA file .*missing\.crt/);
    assert.throws(
      () => new SecureServer({
        address: '127.0.0.1', port: 0, tls: new RotatingSource(serving), anonymousEnabled: false,
        webhookAuthn: { enabled: true, cacheTTLMs: 0 }, authorizationMode: 'Webhook', webhookAuthz: { cacheAuthorizedTTLMs: 0, cacheUnauthorizedTTLMs: 0 },
        nodeName: NODE, clock, handler: localHandler().local,
      }),
      /no client provided, cannot use webhook authentication/,
    );
  });
});
