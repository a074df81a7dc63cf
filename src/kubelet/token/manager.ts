// The kubelet's service-account token manager (models pkg/kubelet/token/token_manager.go):
// TokenRequests (serviceaccounts/<name>/token) bound to a pod, cached per service account,
// namespace, audiences, requested expiration and bound object, refreshed when older than 80 % of
// their lifetime or 24 h (requiresRefresh, with up to 10 s of jitter); a failed refresh keeps
// serving the old token until it expires; DeleteServiceAccountToken drops a pod's tokens.
//
// Differences: expired tokens are swept lazily (at most once a minute, on a request) instead of by
// a 1-minute goroutine; concurrent requests for one key share one TokenRequest.

import { CoreV1Api, type AuthenticationV1TokenRequest, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { toObjectError } from '../../util/objectcache.js';

const maxTTLMs = 24 * 60 * 60 * 1000;
const gcPeriodMs = 60_000;
const maxJitterSeconds = 10;

/** What the projected volume needs: a token for (namespace, service account, request). */
export interface ServiceAccountTokenGetter {
  getServiceAccountToken(namespace: string, name: string, tr: AuthenticationV1TokenRequest): Promise<AuthenticationV1TokenRequest>;
}

/** Sends one TokenRequest. */
export type TokenRequester = (namespace: string, name: string, tr: AuthenticationV1TokenRequest) => Promise<AuthenticationV1TokenRequest>;

/** POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token with the node's credentials. */
export function kubeTokenRequester(kc: KubeConfig): TokenRequester {
  const api = kc.makeApiClient(CoreV1Api);
  return async (namespace, name, body) => {
    try {
      return await api.createNamespacedServiceAccountToken({ name, namespace, body });
    } catch (e) {
      throw toObjectError(e, 'serviceaccount', namespace, name);
    }
  };
}

/** keyFunc: nonconfidential, safe to log. */
export function tokenCacheKey(name: string, namespace: string, tr: AuthenticationV1TokenRequest): string {
  const ref = tr.spec.boundObjectRef;
  return JSON.stringify([name, namespace, tr.spec.audiences ?? [], tr.spec.expirationSeconds ?? 0, ref ? [ref.apiVersion ?? '', ref.kind ?? '', ref.name ?? '', ref.uid ?? ''] : []]);
}

function expirationMs(tr: AuthenticationV1TokenRequest): number {
  const t = tr.status?.expirationTimestamp as Date | string | undefined;
  return t === undefined ? 0 : new Date(t).getTime();
}

/**
 * requiresRefresh: the token is older than 24 h minus jitter, or within 20 % of its lifetime
 * (plus jitter) of its expiration. `jitter` is a number in [0, 1) (rand.Float64()): up to 10 s,
 * whole seconds as upstream. A token without spec.expirationSeconds is never refreshed (upstream
 * logs it as an error).
 */
export function requiresRefresh(tr: AuthenticationV1TokenRequest, now: number, jitter: number): boolean {
  const seconds = tr.spec.expirationSeconds;
  if (seconds === undefined || seconds === null) return false;
  const exp = expirationMs(tr);
  const iat = exp - seconds * 1000;
  const jitterMs = Math.floor(jitter * maxJitterSeconds) * 1000;
  if (now > iat + maxTTLMs - jitterMs) return true;
  return now > exp - Math.floor((seconds * 20) / 100) * 1000 - jitterMs;
}

export interface TokenManagerOptions {
  clock: Clock;
  /** The node's kubeconfig (cluster mode); or `request` for tests. */
  kubeConfig?: KubeConfig;
  request?: TokenRequester;
  logger?: Logger;
  /** rand.Float64 for the refresh jitter (default Math.random). */
  rand?: () => number;
}

/** token.Manager: GetServiceAccountToken, DeleteServiceAccountToken. */
export class TokenManager implements ServiceAccountTokenGetter {
  private readonly cache = new Map<string, AuthenticationV1TokenRequest>();
  private readonly inflight = new Map<string, Promise<AuthenticationV1TokenRequest>>();
  private readonly request: TokenRequester;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly rand: () => number;
  private lastSweep: number;

  constructor(opts: TokenManagerOptions) {
    const request = opts.request ?? (opts.kubeConfig ? kubeTokenRequester(opts.kubeConfig) : undefined);
    if (!request) throw new Error('TokenManager needs a kubeConfig or a request function');
    this.request = request;
    this.clock = opts.clock;
    this.logger = opts.logger ?? nopLogger;
    this.rand = opts.rand ?? Math.random;
    this.lastSweep = opts.clock.now();
  }

  /** Tokens cached. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * GetServiceAccountToken: the cached token unless it requires a refresh; else a new one; if the
   * refresh fails, the old token while it has not expired.
   */
  async getServiceAccountToken(namespace: string, name: string, tr: AuthenticationV1TokenRequest): Promise<AuthenticationV1TokenRequest> {
    this.sweep();
    const key = tokenCacheKey(name, namespace, tr);
    const cached = this.cache.get(key);
    if (cached && !requiresRefresh(cached, this.clock.now(), this.rand())) return cached;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(key, namespace, name, tr).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetch(key: string, namespace: string, name: string, tr: AuthenticationV1TokenRequest): Promise<AuthenticationV1TokenRequest> {
    const cached = this.cache.get(key);
    let fresh: AuthenticationV1TokenRequest;
    try {
      fresh = await this.request(namespace, name, tr);
    } catch (e) {
      if (!cached) throw new Error(`failed to fetch token: ${errorMessage(e)}`, { cause: e });
      if (this.expired(cached)) throw new Error(`token ${key} expired and refresh failed: ${errorMessage(e)}`, { cause: e });
      this.logger.error("Couldn't update token", { cacheKey: key, err: errorMessage(e) });
      return cached;
    }
    this.cache.set(key, fresh);
    return fresh;
  }

  /** DeleteServiceAccountToken: forgets every token bound to the pod (call when the pod is gone). */
  deleteServiceAccountToken(podUID: string): void {
    for (const [k, tr] of this.cache) if (tr.spec.boundObjectRef?.uid === podUID) this.cache.delete(k);
  }

  private expired(tr: AuthenticationV1TokenRequest): boolean {
    return this.clock.now() > expirationMs(tr);
  }

  /** cleanup: drops expired tokens, at most once per gcPeriod. */
  private sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < gcPeriodMs) return;
    this.lastSweep = now;
    for (const [k, tr] of this.cache) if (this.expired(tr)) this.cache.delete(k);
  }
}
