// The token manager (token_manager.go): requiresRefresh at 80 % of the lifetime or 24 h (with
// jitter), the cache key, serving the old token while a refresh fails, dropping a pod's tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthenticationV1TokenRequest } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { requiresRefresh, tokenCacheKey, TokenManager } from './manager.js';

const t0 = Date.UTC(2026, 0, 1);

function issued(at: number, seconds: number, token = 'tok'): AuthenticationV1TokenRequest {
  return { spec: { audiences: [], expirationSeconds: seconds }, status: { token, expirationTimestamp: new Date(at + seconds * 1000) } };
}

function request(uid: string, opts: { audiences?: string[]; expirationSeconds?: number } = {}): AuthenticationV1TokenRequest {
  return { spec: { audiences: opts.audiences ?? [], expirationSeconds: opts.expirationSeconds ?? 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: `pod-${uid}`, uid } } };
}

describe('requiresRefresh', () => {
  const h = 3600;
  const cases: [string, AuthenticationV1TokenRequest, number, number, boolean][] = [
    ['fresh token', issued(t0, h), t0 + 1000, 0, false],
    ['at exactly 80 % of its lifetime: not yet', issued(t0, h), t0 + 2880_000, 0, false],
    ['just past 80 %', issued(t0, h), t0 + 2880_001, 0, true],
    ['jitter moves the 80 % point earlier by up to 10 s (whole seconds)', issued(t0, h), t0 + 2871_001, 0.99, true],
    ['jitter of 0.95 is 9 s', issued(t0, h), t0 + 2870_500, 0.95, false],
    ['expired', issued(t0, h), t0 + 3601_000, 0, true],
    ['a 48 h token is refreshed after 24 h, long before 80 %', issued(t0, 48 * h), t0 + 24 * h * 1000 + 1, 0, true],
    ['a 48 h token at 23 h: kept', issued(t0, 48 * h), t0 + 23 * h * 1000, 0, false],
    ['the 3607 s kube-api-access token at 48 min: kept', issued(t0, 3607), t0 + 48 * 60_000, 0, false],
    ['the 3607 s kube-api-access token at 49 min: refreshed', issued(t0, 3607), t0 + 49 * 60_000, 0, true],
    ['no expirationSeconds: never (upstream logs an error)', { spec: { audiences: [] }, status: { token: 't', expirationTimestamp: new Date(t0) } }, t0 + 10 * h * 1000, 0, false],
  ];
  for (const [name, tr, now, jitter, want] of cases) it(name, () => assert.equal(requiresRefresh(tr, now, jitter), want));
});

describe('TokenManager', () => {
  function setup(): { clock: FakeClock; calls: AuthenticationV1TokenRequest[]; fail: { err?: Error }; m: TokenManager } {
    const clock = new FakeClock(t0);
    const calls: AuthenticationV1TokenRequest[] = [];
    const fail: { err?: Error } = {};
    let n = 0;
    const m = new TokenManager({
      clock,
      rand: () => 0,
      request: async (_ns, _name, tr) => {
        calls.push(tr);
        if (fail.err) throw fail.err;
        // the API answers with the granted lifetime
        return { spec: { ...tr.spec }, status: { token: `token-${++n}`, expirationTimestamp: new Date(clock.now() + (tr.spec.expirationSeconds ?? 3600) * 1000) } };
      },
    });
    return { clock, calls, fail, m };
  }

  it('caches per request key and refreshes past 80 % of the lifetime', async () => {
    const { clock, calls, m } = setup();
    const tr = request('u1');
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-1');
    clock.step(2880_000); // 80 % of 3600 s
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-1');
    clock.step(1000);
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-2');
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0]!.spec.boundObjectRef, { apiVersion: 'v1', kind: 'Pod', name: 'pod-u1', uid: 'u1' });
  });

  it('different service accounts, namespaces, audiences, expirations or pods are different tokens', async () => {
    const { calls, m } = setup();
    await m.getServiceAccountToken('ns', 'default', request('u1'));
    await m.getServiceAccountToken('ns', 'default', request('u1'));
    await m.getServiceAccountToken('ns', 'other', request('u1'));
    await m.getServiceAccountToken('ns2', 'default', request('u1'));
    await m.getServiceAccountToken('ns', 'default', request('u1', { audiences: ['vault'] }));
    await m.getServiceAccountToken('ns', 'default', request('u1', { expirationSeconds: 7200 }));
    await m.getServiceAccountToken('ns', 'default', request('u2'));
    assert.equal(calls.length, 6);
    assert.equal(m.size, 6);
    assert.notEqual(tokenCacheKey('a', 'ns', request('u1')), tokenCacheKey('a', 'ns', request('u2')));
  });

  it('a failed refresh serves the old token until it expires, then fails; a first failure says "failed to fetch token"', async () => {
    const { clock, fail, m } = setup();
    const tr = request('u1');
    await m.getServiceAccountToken('ns', 'default', tr);
    fail.err = new Error('connection refused');
    clock.step(3000_000);
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-1');
    clock.step(599_000);
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-1', 'one second before its expiration');
    clock.step(2000); // past the expiration (before the next sweep)
    await assert.rejects(m.getServiceAccountToken('ns', 'default', tr), /^Error: token .* expired and refresh failed: connection refused$/);
    await assert.rejects(m.getServiceAccountToken('ns', 'default', request('u9')), { message: 'failed to fetch token: connection refused' });
    fail.err = undefined;
    assert.equal((await m.getServiceAccountToken('ns', 'default', tr)).status?.token, 'token-2');
  });

  it('deleteServiceAccountToken drops the pod\'s tokens; expired tokens are swept', async () => {
    const { clock, m } = setup();
    await m.getServiceAccountToken('ns', 'default', request('u1'));
    await m.getServiceAccountToken('ns', 'default', request('u1', { audiences: ['x'] }));
    await m.getServiceAccountToken('ns', 'default', request('u2', { expirationSeconds: 600 }));
    m.deleteServiceAccountToken('u1');
    assert.equal(m.size, 1);
    clock.step(601_000);
    await m.getServiceAccountToken('ns', 'default', request('u3'));
    assert.equal(m.size, 1, 'the expired u2 token is gone, u3 is cached');
  });

  it('concurrent requests for one key share one TokenRequest', async () => {
    const { calls, m } = setup();
    const tr = request('u1');
    const [a, b] = await Promise.all([m.getServiceAccountToken('ns', 'default', tr), m.getServiceAccountToken('ns', 'default', tr)]);
    assert.equal(a.status?.token, b.status?.token);
    assert.equal(calls.length, 1);
  });
});
