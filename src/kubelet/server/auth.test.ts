// The kubelet API's authn/authz decisions: request attributes and messages (tables), the
// credential parsers, the authenticator union with anonymous, and the TokenReview /
// SubjectAccessReview caches and retries on a FakeClock with fake reviewers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1SubjectAccessReviewSpec, V1SubjectAccessReviewStatus, V1TokenReviewStatus } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { track } from '../../util/testing.js';
import {
  apiVerb,
  authorizationErrorMessage,
  bearerToken,
  buildKubeletAuth,
  ExpiringCache,
  forbiddenMessage,
  isSubpath,
  isWebSocketRequest,
  KubeletAuth,
  nodeRequestAttributes,
  RequestAuthenticator,
  subjectAccessReviewSpec,
  WebhookAuthorizer,
  WebhookTokenAuthenticator,
  websocketProtocolToken,
  withRetry,
  x509User,
  type Authorizer,
  type ClientCertificate,
  type KubeletAuthOptions,
} from './auth.js';

const noRetry = { durationMs: 500, factor: 1.5, jitter: 0, steps: 1 };

describe('nodeRequestAttributes', () => {
  it('maps HTTP methods to API verbs as the kubelet does (HEAD and others: empty)', () => {
    const table: [string, string][] = [['GET', 'get'], ['POST', 'create'], ['PUT', 'update'], ['PATCH', 'patch'], ['DELETE', 'delete'], ['HEAD', ''], ['OPTIONS', '']];
    for (const [m, v] of table) assert.equal(apiVerb(m), v, m);
  });

  it('maps paths to node subresources: stats, metrics, log, spec, checkpoint, everything else proxy', () => {
    const table: [string, string][] = [
      ['/stats/summary', 'stats'], ['/stats', 'stats'], ['/stats/', 'stats'], ['/statsx', 'proxy'],
      ['/metrics', 'metrics'], ['/metrics/cadvisor', 'metrics'], ['/metrics/probes', 'metrics'], ['/metrics/resource', 'metrics'], ['/metricsfoo', 'proxy'],
      ['/logs/', 'log'], ['/logs', 'log'], ['/logs/syslog', 'log'], ['/logsx', 'proxy'],
      ['/spec/', 'spec'], ['/spec', 'spec'],
      ['/checkpoint/ns/pod/c', 'checkpoint'],
      ['/pods', 'proxy'], ['/runningpods/', 'proxy'], ['/healthz', 'proxy'], ['/healthz/syncloop', 'proxy'], ['/configz', 'proxy'],
      ['/exec/ns/pod/c', 'proxy'], ['/attach/ns/pod/c', 'proxy'], ['/portForward/ns/pod', 'proxy'], ['/run/ns/pod/c', 'proxy'],
      ['/containerLogs/ns/pod/c', 'proxy'], ['/debug/pprof/', 'proxy'], ['/', 'proxy'], ['/events', 'proxy'],
    ];
    for (const [path, sub] of table) {
      const a = nodeRequestAttributes('GET', path, 'node-1');
      assert.deepEqual(a, { verb: 'get', namespace: '', apiGroup: '', apiVersion: 'v1', resource: 'nodes', subresource: sub, name: 'node-1', path }, path);
    }
    assert.equal(nodeRequestAttributes('POST', '/exec/ns/p/c', 'n').verb, 'create');
  });

  it('isSubpath ignores the trailing slash of the prefix only', () => {
    assert.ok(isSubpath('/logs', '/logs/'));
    assert.ok(isSubpath('/logs/a/b', '/logs/'));
    assert.ok(!isSubpath('/log', '/logs/'));
    assert.ok(!isSubpath('/logsa', '/logs'));
  });

  it('writes the kubelet 403 and 500 texts', () => {
    const a = nodeRequestAttributes('GET', '/pods', 'n1');
    assert.equal(forbiddenMessage('alice', a), 'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)');
    assert.equal(authorizationErrorMessage('alice', nodeRequestAttributes('GET', '/metrics', 'n1')), 'Authorization error (user=alice, verb=get, resource=nodes, subresource=metrics)');
  });
});

describe('credential parsing', () => {
  it('bearerToken reads "Bearer <token>" (case-insensitive scheme), nothing else', () => {
    const table: [string | undefined, string | undefined][] = [
      ['Bearer abc', 'abc'], ['bearer abc', 'abc'], ['  Bearer abc  ', 'abc'], ['Bearer abc def', 'abc'],
      ['Bearer', undefined], ['Bearer  abc', undefined], ['Basic dXNlcjpwdw==', undefined], ['', undefined], [undefined, undefined],
    ];
    for (const [h, t] of table) assert.equal(bearerToken(h), t, String(h));
  });

  it('reads a WebSocket-protocol bearer token and keeps the other protocols', () => {
    const enc = Buffer.from('tok-123').toString('base64url');
    assert.deepEqual(websocketProtocolToken({ 'sec-websocket-protocol': `v4.channel.k8s.io, base64url.bearer.authorization.k8s.io.${enc}` }), { token: 'tok-123', otherProtocols: ['v4.channel.k8s.io'] });
    assert.equal(websocketProtocolToken({ 'sec-websocket-protocol': `base64url.bearer.authorization.k8s.io.${enc}` }).error, 'missing additional subprotocol');
    assert.equal(websocketProtocolToken({ 'sec-websocket-protocol': `a, base64url.bearer.authorization.k8s.io.${enc}, base64url.bearer.authorization.k8s.io.${enc}` }).error, 'multiple base64.bearer.authorization tokens specified');
    assert.equal(websocketProtocolToken({ 'sec-websocket-protocol': 'a, base64url.bearer.authorization.k8s.io.a+b=' }).error, 'invalid base64.bearer.authorization token encoding');
    assert.deepEqual(websocketProtocolToken({ 'sec-websocket-protocol': 'v4.channel.k8s.io' }), { otherProtocols: ['v4.channel.k8s.io'] });
    assert.ok(isWebSocketRequest({ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' }));
    assert.ok(!isWebSocketRequest({ upgrade: 'SPDY/3.1', connection: 'Upgrade' }));
    assert.ok(!isWebSocketRequest({ upgrade: 'websocket' }));
  });

  it('x509User: CN and O of a verified certificate; an unverified one is an error; none is no opinion', () => {
    const cert: ClientCertificate = { verified: true, commonName: 'system:node:n1', organizations: ['system:nodes'], serialNumber: '0A' };
    assert.deepEqual(x509User(cert), { user: { name: 'system:node:n1', groups: ['system:nodes'] } });
    assert.deepEqual(x509User(undefined), {});
    assert.deepEqual(x509User({ ...cert, commonName: '' }), {});
    assert.equal(x509User({ ...cert, verified: false, verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }).error, 'verifying certificate SN=0A failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

/** A fake TokenReview endpoint: a table of tokens, a call count, optional failures. */
function fakeTokens(table: Record<string, V1TokenReviewStatus>): { review: (t: string) => Promise<V1TokenReviewStatus>; calls: string[]; failures: unknown[] } {
  const calls: string[] = [];
  const failures: unknown[] = [];
  return {
    calls,
    failures,
    review: (t) => {
      calls.push(t);
      if (failures.length) return Promise.reject(failures.shift());
      return Promise.resolve(table[t] ?? { authenticated: false });
    },
  };
}

describe('WebhookTokenAuthenticator', () => {
  const table: Record<string, V1TokenReviewStatus> = {
    good: { authenticated: true, user: { username: 'alice', uid: 'u-1', groups: ['dev'], extra: { scopes: ['a'] } } },
    errored: { authenticated: false, error: 'token expired' },
  };

  it('caches authenticated and rejected tokens for cacheTTL, not review errors', async () => {
    const clock = new FakeClock();
    const f = fakeTokens(table);
    const a = new WebhookTokenAuthenticator({ review: f.review, clock, cacheTTLMs: 120_000, retryBackoff: noRetry });
    assert.deepEqual(await a.authenticateToken('good'), { user: { name: 'alice', uid: 'u-1', groups: ['dev'], extra: { scopes: ['a'] } } });
    assert.deepEqual(await a.authenticateToken('unknown'), {});
    assert.deepEqual(await a.authenticateToken('errored'), { error: 'token expired' });
    await clock.advance(119_000);
    await a.authenticateToken('good');
    await a.authenticateToken('unknown');
    await a.authenticateToken('errored');
    assert.deepEqual(f.calls, ['good', 'unknown', 'errored', 'errored'], 'within the TTL only the errored review is asked again');
    await clock.advance(1_000);
    await a.authenticateToken('good');
    await a.authenticateToken('unknown');
    assert.deepEqual(f.calls.slice(4), ['good', 'unknown'], 'expired after 2 m');
  });

  it('asks once for concurrent lookups of one token', async () => {
    const f = fakeTokens(table);
    const a = new WebhookTokenAuthenticator({ review: f.review, clock: new FakeClock(), cacheTTLMs: 120_000 });
    const rs = await Promise.all([a.authenticateToken('good'), a.authenticateToken('good'), a.authenticateToken('good')]);
    assert.equal(f.calls.length, 1);
    assert.ok(rs.every((r) => r.user?.name === 'alice'));
  });

  it('retries a 500 with backoff on the clock, and gives an error (not cached) when the API keeps failing', async () => {
    const clock = new FakeClock();
    const f = fakeTokens(table);
    const log = new MemoryLogger();
    const a = new WebhookTokenAuthenticator({ review: f.review, clock, cacheTTLMs: 120_000, retryBackoff: { durationMs: 500, factor: 1.5, jitter: 0, steps: 3 }, logger: log });
    f.failures.push(Object.assign(new Error('boom'), { code: 500 }));
    const p = track(a.authenticateToken('good'));
    await flushMicrotasks();
    assert.equal(f.calls.length, 1);
    assert.equal(p.settled, false, 'waits 500 ms before the second attempt');
    await clock.advance(500);
    await flushMicrotasks();
    assert.equal(p.settled, true);
    assert.equal(p.value?.user?.name, 'alice');

    for (let i = 0; i < 3; i++) f.failures.push(Object.assign(new Error('down'), { code: 500 }));
    const q = track(a.authenticateToken('other'));
    await clock.advance(500);
    await clock.advance(750);
    await flushMicrotasks();
    assert.equal(q.settled, true);
    assert.match(q.value?.error ?? '', /down/);
    assert.equal(f.calls.length, 5);
    assert.ok(log.find((r) => r.msg === 'Failed to make webhook authenticator request'));
    await a.authenticateToken('other');
    assert.equal(f.calls.length, 6, 'an error is not cached');
  });

  it('a 403 from the API is not retried', async () => {
    const clock = new FakeClock();
    const f = fakeTokens(table);
    f.failures.push(Object.assign(new Error('forbidden'), { code: 403 }));
    const a = new WebhookTokenAuthenticator({ review: f.review, clock, cacheTTLMs: 120_000 });
    assert.match((await a.authenticateToken('good')).error ?? '', /forbidden/);
    assert.equal(f.calls.length, 1);
  });

  it('with audiences, a review for other audiences does not authenticate', async () => {
    const seen: (string[] | undefined)[] = [];
    const a = new WebhookTokenAuthenticator({
      review: (_t, auds) => {
        seen.push(auds);
        return Promise.resolve({ authenticated: true, user: { username: 'bob' }, audiences: ['other'] });
      },
      clock: new FakeClock(), cacheTTLMs: 0, audiences: ['kubelet'],
    });
    assert.deepEqual(await a.authenticateToken('t'), {});
    assert.deepEqual(seen, [['kubelet']]);
  });
});

describe('RequestAuthenticator', () => {
  const f = fakeTokens({ good: { authenticated: true, user: { username: 'alice', groups: ['dev'] } } });
  const tokens = new WebhookTokenAuthenticator({ review: f.review, clock: new FakeClock(), cacheTTLMs: 0, retryBackoff: noRetry });
  const nodeCert: ClientCertificate = { verified: true, commonName: 'system:node:n1', organizations: ['system:nodes'] };
  const badCert: ClientCertificate = { verified: false, verifyError: 'self-signed certificate', commonName: 'mallory', organizations: [] };

  it('needs at least one method', () => {
    assert.throws(() => new RequestAuthenticator({ clientCertificates: false, anonymous: false }), /No authentication method configured/);
  });

  it('client certificate first, then bearer token, then WebSocket protocol; system:authenticated added', async () => {
    const a = new RequestAuthenticator({ clientCertificates: true, tokens, anonymous: false });
    assert.deepEqual(await a.authenticate({ headers: { authorization: 'Bearer good' }, clientCertificate: nodeCert }), { user: { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] } });
    const headers: Record<string, string> = { authorization: 'Bearer good', 'x-other': '1' };
    assert.deepEqual(await a.authenticate({ headers }), { user: { name: 'alice', groups: ['dev', 'system:authenticated'] } });
    assert.deepEqual(headers, { 'x-other': '1' }, 'the token is removed once it authenticated');
    const ws = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-protocol': `v5.channel.k8s.io,base64url.bearer.authorization.k8s.io.${Buffer.from('good').toString('base64url')}` };
    assert.equal((await a.authenticate({ headers: ws })).user?.name, 'alice');
    assert.equal(ws['sec-websocket-protocol'], 'v5.channel.k8s.io');
    assert.deepEqual(await a.authenticate({ headers: {} }), {}, 'no credentials, no anonymous: not authenticated');
  });

  it('anonymous only when no authenticator failed: a bad token or certificate stays a 401', async () => {
    const a = new RequestAuthenticator({ clientCertificates: true, tokens, anonymous: true });
    assert.deepEqual(await a.authenticate({ headers: {} }), { user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } });
    assert.equal((await a.authenticate({ headers: { authorization: 'Bearer nope' } })).error, 'invalid bearer token');
    assert.match((await a.authenticate({ headers: {}, clientCertificate: badCert })).error ?? '', /verifying certificate .* failed: self-signed certificate/);
    assert.equal((await a.authenticate({ headers: { authorization: 'Bearer good' }, clientCertificate: badCert })).user?.name, 'alice', 'a good token wins over a bad certificate');
  });

  it('without the x509 authenticator a presented certificate is ignored', async () => {
    const a = new RequestAuthenticator({ clientCertificates: false, anonymous: true });
    assert.equal((await a.authenticate({ headers: { authorization: 'Bearer good' }, clientCertificate: nodeCert })).user?.name, 'system:anonymous');
  });
});

describe('WebhookAuthorizer', () => {
  const alice = { name: 'alice', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['x'] } };

  it('sends the SubjectAccessReview spec of the request', () => {
    assert.deepEqual(subjectAccessReviewSpec(alice, nodeRequestAttributes('GET', '/stats/summary', 'n1')), {
      user: 'alice', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['x'] },
      resourceAttributes: { verb: 'get', version: 'v1', resource: 'nodes', subresource: 'stats', name: 'n1' },
    });
  });

  function fakeSar(allow: (s: V1SubjectAccessReviewSpec) => V1SubjectAccessReviewStatus): { review: (s: V1SubjectAccessReviewSpec) => Promise<V1SubjectAccessReviewStatus>; calls: V1SubjectAccessReviewSpec[]; fail: unknown[] } {
    const calls: V1SubjectAccessReviewSpec[] = [];
    const fail: unknown[] = [];
    return { calls, fail, review: (s) => (calls.push(s), fail.length ? Promise.reject(fail.shift()) : Promise.resolve(allow(s))) };
  }

  it('caches allowed answers 5 m and denied ones 30 s', async () => {
    const clock = new FakeClock();
    const f = fakeSar((s) => ({ allowed: s.resourceAttributes?.subresource === 'metrics' }));
    const z = new WebhookAuthorizer({ review: f.review, clock, authorizedTTLMs: 300_000, unauthorizedTTLMs: 30_000, retryBackoff: noRetry });
    const metrics = nodeRequestAttributes('GET', '/metrics', 'n1');
    const pods = nodeRequestAttributes('GET', '/pods', 'n1');
    assert.equal((await z.authorize(alice, metrics)).decision, 'allow');
    assert.equal((await z.authorize(alice, pods)).decision, 'noOpinion');
    await clock.advance(29_000);
    await z.authorize(alice, metrics);
    await z.authorize(alice, pods);
    assert.equal(f.calls.length, 2);
    await clock.advance(1_000);
    await z.authorize(alice, metrics);
    await z.authorize(alice, pods);
    assert.equal(f.calls.length, 3, 'the denial expired at 30 s, the allowance did not');
    await clock.advance(270_000);
    await z.authorize(alice, metrics);
    assert.equal(f.calls.length, 4, 'the allowance expired at 5 m');
    await z.authorize({ ...alice, groups: ['other'] }, metrics);
    assert.equal(f.calls.length, 5, 'another subject is another cache entry');
  });

  it('denied answers are deny; an API failure rejects and is not cached; allow+deny is an error', async () => {
    const clock = new FakeClock();
    let answer: V1SubjectAccessReviewStatus = { allowed: false, denied: true, reason: 'no' };
    const f = fakeSar(() => answer);
    const z = new WebhookAuthorizer({ review: f.review, clock, authorizedTTLMs: 300_000, unauthorizedTTLMs: 0, retryBackoff: noRetry });
    const a = nodeRequestAttributes('GET', '/pods', 'n1');
    assert.deepEqual(await z.authorize(alice, a), { decision: 'deny', reason: 'no' });
    f.fail.push(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
    await assert.rejects(z.authorize(alice, a), /webhook subject access review failed: connection refused/);
    answer = { allowed: true, denied: true };
    await assert.rejects(z.authorize(alice, a), /both allow and deny/);
    assert.equal(f.calls.length, 3);
  });
});

describe('KubeletAuth.check', () => {
  const authn = new RequestAuthenticator({ clientCertificates: true, anonymous: false });
  const cert: ClientCertificate = { verified: true, commonName: 'alice', organizations: [] };
  const authz = (r: 'allow' | 'deny' | 'noOpinion' | Error): Authorizer => ({ authorize: () => (r instanceof Error ? Promise.reject(r) : Promise.resolve({ decision: r, reason: '' })) });

  it('401 without a user, 403 unless allowed, 500 on an authorizer error', async () => {
    const req = { method: 'GET', path: '/pods', headers: {}, clientCertificate: cert };
    assert.deepEqual(await new KubeletAuth(authn, authz('allow'), 'n1').check({ ...req, clientCertificate: undefined }), { ok: false, status: 401, body: 'Unauthorized' });
    const ok = await new KubeletAuth(authn, authz('allow'), 'n1').check(req);
    assert.equal(ok.ok, true);
    for (const d of ['deny', 'noOpinion'] as const) {
      const r = await new KubeletAuth(authn, authz(d), 'n1').check(req);
      assert.equal(r.ok || r.status, 403);
      assert.equal(r.ok || r.body, 'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)');
    }
    const log = new MemoryLogger();
    const e = await new KubeletAuth(authn, authz(new Error('sar down')), 'n1', log).check({ ...req, method: 'POST', path: '/metrics/x' });
    assert.equal(e.ok || e.status, 500);
    assert.equal(e.ok || e.body, 'Authorization error (user=alice, verb=create, resource=nodes, subresource=metrics)');
    assert.ok(log.find((l) => l.msg === 'Authorization error' && l.fields.err === 'sar down'));
  });
});

describe('buildKubeletAuth', () => {
  const base: KubeletAuthOptions = {
    nodeName: 'n1', clock: new FakeClock(), clientCertificates: true, anonymousEnabled: false,
    webhookAuthn: { enabled: true, cacheTTLMs: 120_000 }, authorizationMode: 'Webhook', webhookAuthz: { cacheAuthorizedTTLMs: 300_000, cacheUnauthorizedTTLMs: 30_000 },
  };

  it('rejects configurations the kubelet rejects', () => {
    assert.throws(() => buildKubeletAuth(base), /no client provided, cannot use webhook authentication/);
    assert.throws(() => buildKubeletAuth({ ...base, webhookAuthn: { enabled: false, cacheTTLMs: 0 } }), /no client provided, cannot use webhook authorization/);
    assert.throws(() => buildKubeletAuth({ ...base, clientCertificates: false, webhookAuthn: { enabled: false, cacheTTLMs: 0 }, authorizationMode: 'AlwaysAllow' }), /No authentication method configured/);
    assert.throws(() => buildKubeletAuth({ ...base, webhookAuthn: { enabled: false, cacheTTLMs: 0 }, authorizationMode: 'RBAC' as 'Webhook' }), /unknown authorization mode RBAC/);
  });

  it('AlwaysAllow allows any authenticated user', async () => {
    const k = buildKubeletAuth({ ...base, webhookAuthn: { enabled: false, cacheTTLMs: 0 }, authorizationMode: 'AlwaysAllow', anonymousEnabled: true });
    const r = await k.check({ method: 'GET', path: '/exec/a/b/c', headers: {} });
    assert.ok(r.ok);
    assert.equal(r.user.name, 'system:anonymous');
  });
});

describe('helpers', () => {
  it('withRetry stops at a non-retriable error and after steps attempts', async () => {
    const clock = new FakeClock();
    let n = 0;
    await assert.rejects(withRetry(clock, { durationMs: 10, factor: 2, jitter: 0, steps: 5 }, () => (n++, Promise.reject(Object.assign(new Error('bad'), { code: 400 })))), /bad/);
    assert.equal(n, 1);
    n = 0;
    const p = track(withRetry(clock, { durationMs: 10, factor: 2, jitter: 0, steps: 3 }, () => (n++, Promise.reject(Object.assign(new Error('slow'), { code: 429 })))));
    await clock.advance(10);
    await clock.advance(20);
    await flushMicrotasks();
    assert.equal(n, 3);
    assert.match(String(p.error), /slow/);
  });

  it('ExpiringCache expires entries and evicts the least recently used', () => {
    const c = new ExpiringCache<number>(2);
    c.set('a', 1, 100);
    c.set('b', 2, 100);
    assert.equal(c.get('a', 0), 1);
    c.set('c', 3, 100);
    assert.equal(c.get('b', 0), undefined, 'b was the least recently used');
    assert.equal(c.get('a', 0), 1);
    assert.equal(c.get('a', 100), undefined, 'expired');
    assert.equal(c.size, 1);
  });
});
