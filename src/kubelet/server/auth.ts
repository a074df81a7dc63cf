// Authentication and authorization of the kubelet API on :10250 (models pkg/kubelet/server/auth.go
// NewNodeAuthorizerAttributesGetter, server.go InstallAuthFilter, cmd/kubelet/app/auth.go BuildAuth,
// and from k8s.io/apiserver: authenticatorfactory.DelegatingAuthenticatorConfig (x509 CN/O, bearer
// token and WebSocket-protocol token through a cached TokenReview webhook, the system:authenticated
// group adder, anonymous behind a fail-on-error union), authorizerfactory.DelegatingAuthorizerConfig
// (a cached SubjectAccessReview webhook) and the AlwaysAllow authorizer; retries as
// webhook.WithExponentialBackoff with DefaultAuthWebhookRetryBackoff).
//
// Differences: the path that is authorized is the one nodelet's router matches (the WHATWG URL
// pathname, still percent-encoded, dot segments resolved) rather than Go's decoded URL.Path, so
// the subresource decided here is always the one of the handler that runs. Caches are plain
// expiring LRU maps (upstream: striped LRU caches); a webhook is retried on 429, 500, 504 and
// connection resets (upstream also honours Retry-After on any code). No request-header (front
// proxy) authenticator and no authentication/authorization metrics.

import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1SubjectAccessReviewSpec, type V1SubjectAccessReviewStatus, type V1TokenReviewStatus } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const anonymousUser = 'system:anonymous';
export const unauthenticatedGroup = 'system:unauthenticated';
export const authenticatedGroup = 'system:authenticated';

// ---------------------------------------------------------------------------------------------
// Request attributes (NewNodeAuthorizerAttributesGetter)

/** What the kubelet authorizes a request as: always a resource request on nodes/<subresource>. */
export interface RequestAttributes {
  verb: string;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  path: string;
}

/** The API verb of an HTTP method, as the kubelet maps it (any other method, HEAD included: ""). */
export function apiVerb(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** `subpath` is `path` (trailing slash ignored) or below it. */
export function isSubpath(subpath: string, path: string): boolean {
  const p = path.endsWith('/') ? path.slice(0, -1) : path;
  return subpath === p || (subpath.startsWith(p) && subpath[p.length] === '/');
}

/** Paths with their own node subresource; everything else is nodes/proxy. */
const subresourcePaths: readonly (readonly [string, string])[] = [
  ['/stats/', 'stats'],
  ['/metrics', 'metrics'],
  ['/logs/', 'log'],
  ['/spec/', 'spec'],
  ['/checkpoint/', 'checkpoint'],
];

/** The SubjectAccessReview attributes of a request to the kubelet API. */
export function nodeRequestAttributes(method: string, path: string, nodeName: string): RequestAttributes {
  const sub = subresourcePaths.find(([p]) => isSubpath(path, p));
  return { verb: apiVerb(method), namespace: '', apiGroup: '', apiVersion: 'v1', resource: 'nodes', subresource: sub ? sub[1] : 'proxy', name: nodeName, path };
}

export const unauthorizedMessage = 'Unauthorized';

/** The 403 body the kubelet writes. */
export function forbiddenMessage(user: string, a: RequestAttributes): string {
  return `Forbidden (user=${user}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

/** The 500 body the kubelet writes when the authorizer fails. */
export function authorizationErrorMessage(user: string, a: RequestAttributes): string {
  return `Authorization error (user=${user}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

// ---------------------------------------------------------------------------------------------
// Authenticators

/** One authenticator's answer: a user, an error (the request fails with 401), or neither (no credentials for it). */
export interface AuthnResponse {
  user?: UserInfo;
  error?: string;
}

/** The TLS client certificate of a request, as the TLS layer saw it. */
export interface ClientCertificate {
  /** The chain verified against the client CA bundle (TLSSocket.authorized). */
  verified: boolean;
  /** Why it did not verify (TLSSocket.authorizationError). */
  verifyError?: string;
  commonName: string;
  organizations: string[];
  serialNumber?: string;
}

/** The x509 authenticator: user = CN, groups = O of a verified client certificate. */
export function x509User(cert: ClientCertificate | undefined): AuthnResponse {
  if (!cert) return {};
  if (!cert.verified) return { error: `verifying certificate SN=${cert.serialNumber ?? ''} failed: ${cert.verifyError || 'certificate signed by unknown authority'}` };
  if (!cert.commonName) return {};
  return { user: { name: cert.commonName, groups: [...cert.organizations] } };
}

/** The token of an `Authorization: Bearer <token>` header (undefined: no bearer credentials). */
export function bearerToken(header: string | undefined): string | undefined {
  const auth = (header ?? '').trim();
  if (!auth) return undefined;
  const parts = auth.split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  return parts[1] || undefined;
}

export const bearerProtocolPrefix = 'base64url.bearer.authorization.k8s.io.';

const headerValues = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A WebSocket upgrade request (Upgrade: websocket and Connection naming upgrade). */
export function isWebSocketRequest(headers: IncomingHttpHeaders): boolean {
  if ((headers.upgrade ?? '').toLowerCase() !== 'websocket') return false;
  return headerValues(headers.connection).some((h) => h.toLowerCase().includes('upgrade'));
}

/** The bearer token carried as a WebSocket subprotocol, and the other subprotocols. */
export function websocketProtocolToken(headers: IncomingHttpHeaders): { token?: string; error?: string; otherProtocols: string[] } {
  let token = '';
  let seen = false;
  const otherProtocols: string[] = [];
  for (const h of headerValues(headers['sec-websocket-protocol'])) {
    for (const raw of h.split(',')) {
      const p = raw.trim();
      if (!p.startsWith(bearerProtocolPrefix)) {
        otherProtocols.push(p);
        continue;
      }
      if (seen) return { error: 'multiple base64.bearer.authorization tokens specified', otherProtocols };
      seen = true;
      const enc = p.slice(bearerProtocolPrefix.length);
      if (!/^[A-Za-z0-9_-]*$/.test(enc) || enc.length % 4 === 1) return { error: 'invalid base64.bearer.authorization token encoding', otherProtocols };
      try {
        token = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(enc, 'base64url'));
      } catch {
        return { error: 'invalid base64.bearer.authorization token', otherProtocols };
      }
    }
  }
  if (token && otherProtocols.length === 0) return { error: 'missing additional subprotocol', otherProtocols };
  return token ? { token, otherProtocols } : { otherProtocols };
}

/** Adds system:authenticated unless the user already has it or system:unauthenticated. */
export function withAuthenticatedGroup(u: UserInfo): UserInfo {
  if (u.groups.includes(authenticatedGroup) || u.groups.includes(unauthenticatedGroup)) return u;
  return { ...u, groups: [...u.groups, authenticatedGroup] };
}

// ---------------------------------------------------------------------------------------------
// Webhook plumbing: retries and caches

/** wait.Backoff: first wait, growth factor, jitter fraction, number of attempts. */
export interface Backoff {
  durationMs: number;
  factor: number;
  jitter: number;
  steps: number;
}

/** DefaultAuthWebhookRetryBackoff: 500 ms, x1.5, 20 % jitter, 5 attempts. */
export const defaultWebhookRetryBackoff: Readonly<Backoff> = { durationMs: 500, factor: 1.5, jitter: 0.2, steps: 5 };

/** Transient webhook failures worth another attempt: 429, 500, 504, a reset connection. */
export function isRetriableWebhookError(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.statusCode;
  if (typeof code === 'number') return code === 429 || code === 500 || code === 504;
  return code === 'ECONNRESET' || e?.cause?.code === 'ECONNRESET';
}

/** Calls fn up to backoff.steps times while it fails with a retriable error, sleeping on the clock between. */
export async function withRetry<T>(clock: Clock, backoff: Backoff, fn: () => Promise<T>, shouldRetry: (err: unknown) => boolean = isRetriableWebhookError, random: () => number = Math.random): Promise<T> {
  let wait = backoff.durationMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= backoff.steps || !shouldRetry(err)) throw err;
    }
    await clock.sleep(backoff.jitter > 0 ? wait * (1 + random() * backoff.jitter) : wait);
    wait *= backoff.factor;
  }
}

/** An LRU map whose entries expire at a given time. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(private readonly maxEntries: number) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires <= now) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, expires: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}

const errText = (err: unknown): string => {
  const e = err as { message?: unknown; body?: unknown; code?: unknown } | undefined;
  const body = typeof e?.body === 'string' ? e.body : e?.body ? JSON.stringify(e.body) : '';
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return body && !msg.includes(body) ? `${msg}: ${body}` : msg;
};

// ---------------------------------------------------------------------------------------------
// Webhook token authenticator (TokenReview), cached

/** Sends a TokenReview and returns its status. */
export type TokenReviewer = (token: string, audiences: string[] | undefined) => Promise<V1TokenReviewStatus>;

export interface WebhookTokenAuthenticatorOptions {
  review: TokenReviewer;
  clock: Clock;
  /** authentication.webhook.cacheTTL: how long an authenticated or rejected token is remembered (0: not cached). */
  cacheTTLMs: number;
  /** Audiences to ask for; when set, the review's audiences must intersect them. */
  audiences?: string[];
  retryBackoff?: Backoff;
  logger?: Logger;
}

export class WebhookTokenAuthenticator {
  private readonly cache = new ExpiringCache<AuthnResponse>(32 * 4096);
  private readonly inflight = new Map<string, Promise<AuthnResponse>>();

  constructor(private readonly opts: WebhookTokenAuthenticatorOptions) {}

  /** Authenticates a token (without the system:authenticated group: the request authenticator adds it). */
  authenticateToken(token: string): Promise<AuthnResponse> {
    const auds = this.opts.audiences?.length ? this.opts.audiences : undefined;
    const key = createHash('sha256').update(`${(auds ?? []).join(',')}\0${token}`).digest('hex');
    const hit = this.cache.get(key, this.opts.clock.now());
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.review(token, auds).then((r) => {
        this.inflight.delete(key);
        // errors are not cached; authenticated and plainly rejected tokens are
        if (!r.error && this.opts.cacheTTLMs > 0) this.cache.set(key, r, this.opts.clock.now() + this.opts.cacheTTLMs);
        return r;
      });
      this.inflight.set(key, p);
    }
    return p;
  }

  private async review(token: string, auds: string[] | undefined): Promise<AuthnResponse> {
    let st: V1TokenReviewStatus;
    try {
      st = await withRetry(this.opts.clock, this.opts.retryBackoff ?? defaultWebhookRetryBackoff, () => this.opts.review(token, auds));
    } catch (err) {
      (this.opts.logger ?? nopLogger).error('Failed to make webhook authenticator request', { err: errText(err) });
      return { error: `webhook token review failed: ${errText(err)}` };
    }
    if (!st.authenticated) return st.error ? { error: st.error } : {};
    if (auds && st.audiences?.length && !st.audiences.some((a) => auds.includes(a))) return {};
    const u = st.user ?? {};
    return {
      user: {
        name: u.username ?? '',
        ...(u.uid ? { uid: u.uid } : {}),
        groups: [...(u.groups ?? [])],
        ...(u.extra && Object.keys(u.extra).length ? { extra: u.extra } : {}),
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The request authenticator (union of x509 and tokens, then anonymous)

/** What authentication looks at; `headers` is the request's, modified on success as upstream does. */
export interface AuthnRequest {
  headers: IncomingHttpHeaders;
  clientCertificate?: ClientCertificate;
}

export interface RequestAuthenticatorOptions {
  /** A client CA bundle is configured (authentication.x509.clientCAFile). */
  clientCertificates: boolean;
  /** The TokenReview authenticator (authentication.webhook.enabled). */
  tokens?: WebhookTokenAuthenticator;
  /** authentication.anonymous.enabled. */
  anonymous: boolean;
}

export class RequestAuthenticator {
  constructor(private readonly opts: RequestAuthenticatorOptions) {
    if (!opts.clientCertificates && !opts.tokens && !opts.anonymous) throw new Error('No authentication method configured');
  }

  /**
   * x509, then the bearer token, then the WebSocket-protocol token: the first that authenticates
   * wins (the token header is removed then). If none does and one failed, the request fails;
   * otherwise it is anonymous when that is enabled.
   */
  async authenticate(req: AuthnRequest): Promise<AuthnResponse> {
    const errors: string[] = [];
    if (this.opts.clientCertificates) {
      const r = x509User(req.clientCertificate);
      if (r.user) return { user: withAuthenticatedGroup(r.user) };
      if (r.error) errors.push(r.error);
    }
    const tokens = this.opts.tokens;
    if (tokens) {
      const tok = bearerToken(headerValues(req.headers.authorization)[0]);
      if (tok !== undefined) {
        const r = await tokens.authenticateToken(tok);
        if (r.user) {
          delete req.headers.authorization;
          return { user: withAuthenticatedGroup(r.user) };
        }
        errors.push(r.error ?? 'invalid bearer token');
      }
      if (isWebSocketRequest(req.headers)) {
        const p = websocketProtocolToken(req.headers);
        if (p.error) errors.push(p.error);
        else if (p.token !== undefined) {
          const r = await tokens.authenticateToken(p.token);
          if (r.user) {
            req.headers['sec-websocket-protocol'] = p.otherProtocols.join(',');
            return { user: withAuthenticatedGroup(r.user) };
          }
          errors.push(r.error ?? 'invalid bearer token');
        }
      }
    }
    if (errors.length) return { error: errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]` };
    if (this.opts.anonymous) return { user: { name: anonymousUser, groups: [unauthenticatedGroup] } };
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Authorizers

export type Decision = 'allow' | 'deny' | 'noOpinion';

export interface Authorizer {
  /** Rejects when no decision could be had (the kubelet answers 500 then). */
  authorize(user: UserInfo, attrs: RequestAttributes): Promise<{ decision: Decision; reason: string }>;
}

/** authorization.mode AlwaysAllow. */
export const alwaysAllowAuthorizer: Authorizer = {
  authorize: () => Promise.resolve({ decision: 'allow', reason: '' }),
};

/** The SubjectAccessReview spec the webhook authorizer sends (empty fields left out, as Go's omitempty). */
export function subjectAccessReviewSpec(user: UserInfo, a: RequestAttributes): V1SubjectAccessReviewSpec {
  const ra: Record<string, string> = {};
  const put = (k: string, v: string): void => {
    if (v) ra[k] = v;
  };
  put('namespace', a.namespace);
  put('verb', a.verb);
  put('group', a.apiGroup);
  put('version', a.apiVersion);
  put('resource', a.resource);
  put('subresource', a.subresource);
  put('name', a.name);
  return {
    user: user.name,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: [...user.groups],
    ...(user.extra && Object.keys(user.extra).length ? { extra: user.extra } : {}),
    resourceAttributes: ra,
  };
}

/** Sends a SubjectAccessReview and returns its status. */
export type AccessReviewer = (spec: V1SubjectAccessReviewSpec) => Promise<V1SubjectAccessReviewStatus>;

export interface WebhookAuthorizerOptions {
  review: AccessReviewer;
  clock: Clock;
  /** authorization.webhook.cacheAuthorizedTTL. */
  authorizedTTLMs: number;
  /** authorization.webhook.cacheUnauthorizedTTL. */
  unauthorizedTTLMs: number;
  retryBackoff?: Backoff;
  logger?: Logger;
}

export class WebhookAuthorizer implements Authorizer {
  private readonly cache = new ExpiringCache<V1SubjectAccessReviewStatus>(8192);

  constructor(private readonly opts: WebhookAuthorizerOptions) {}

  async authorize(user: UserInfo, attrs: RequestAttributes): Promise<{ decision: Decision; reason: string }> {
    const spec = subjectAccessReviewSpec(user, attrs);
    const key = JSON.stringify(spec);
    let st = this.cache.get(key, this.opts.clock.now());
    if (!st) {
      try {
        st = await withRetry(this.opts.clock, this.opts.retryBackoff ?? defaultWebhookRetryBackoff, () => this.opts.review(spec));
      } catch (err) {
        (this.opts.logger ?? nopLogger).error('Failed to make webhook authorizer request', { err: errText(err) });
        throw new Error(`webhook subject access review failed: ${errText(err)}`, { cause: err });
      }
      const ttl = st.allowed ? this.opts.authorizedTTLMs : this.opts.unauthorizedTTLMs;
      if (ttl > 0) this.cache.set(key, st, this.opts.clock.now() + ttl);
    }
    const reason = st.reason ?? '';
    if (st.denied && st.allowed) throw new Error('webhook subject access review returned both allow and deny response');
    if (st.denied) return { decision: 'deny', reason };
    if (st.allowed) return { decision: 'allow', reason };
    return { decision: 'noOpinion', reason };
  }
}

// ---------------------------------------------------------------------------------------------
// API clients

/** TokenReview (authentication.k8s.io/v1) through the kubelet's kubeconfig. */
export function kubeTokenReviewer(kc: KubeConfig): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return async (token, audiences) => {
    const r = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences?.length ? { audiences } : {}) } } });
    return r.status ?? {};
  };
}

/** SubjectAccessReview (authorization.k8s.io/v1) through the kubelet's kubeconfig. */
export function kubeAccessReviewer(kc: KubeConfig): AccessReviewer {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return async (spec) => {
    const r = await api.createSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec } });
    return r.status ?? { allowed: false };
  };
}

// ---------------------------------------------------------------------------------------------
// The filter (InstallAuthFilter) and its construction from the configuration (BuildAuth)

export type FilterResult =
  | { ok: true; user: UserInfo; attrs: RequestAttributes }
  | { ok: false; status: 401 | 403 | 500; body: string; user?: UserInfo; attrs?: RequestAttributes };

export class KubeletAuth {
  constructor(
    readonly authenticator: RequestAuthenticator,
    readonly authorizer: Authorizer,
    readonly nodeName: string,
    private readonly logger: Logger = nopLogger,
  ) {}

  /** Authenticates and authorizes one request: what InstallAuthFilter does before any handler. */
  async check(req: AuthnRequest & { method: string; path: string }): Promise<FilterResult> {
    const authn = await this.authenticator.authenticate(req);
    if (authn.error) {
      this.logger.error('Unable to authenticate the request due to an error', { err: authn.error, path: req.path });
      return { ok: false, status: 401, body: unauthorizedMessage };
    }
    const user = authn.user;
    if (!user) return { ok: false, status: 401, body: unauthorizedMessage };
    const attrs = nodeRequestAttributes(req.method, req.path, this.nodeName);
    const fields = { user: user.name, verb: attrs.verb, resource: attrs.resource, subresource: attrs.subresource };
    let decision: Decision;
    try {
      decision = (await this.authorizer.authorize(user, attrs)).decision;
    } catch (err) {
      this.logger.error('Authorization error', { ...fields, err });
      return { ok: false, status: 500, body: authorizationErrorMessage(user.name, attrs), user, attrs };
    }
    if (decision !== 'allow') {
      this.logger.debug('Forbidden', fields);
      return { ok: false, status: 403, body: forbiddenMessage(user.name, attrs), user, attrs };
    }
    return { ok: true, user, attrs };
  }
}

export interface KubeletAuthOptions {
  nodeName: string;
  clock: Clock;
  logger?: Logger;
  /** A client CA bundle is configured (authentication.x509.clientCAFile non-empty). */
  clientCertificates: boolean;
  /** authentication.anonymous.enabled (default false). */
  anonymousEnabled: boolean;
  /** authentication.webhook.enabled (default true) and cacheTTL (default 2m0s). */
  webhookAuthn: { enabled: boolean; cacheTTLMs: number };
  /** authorization.mode (default Webhook). */
  authorizationMode: 'Webhook' | 'AlwaysAllow';
  /** authorization.webhook.cacheAuthorizedTTL (5m0s) / cacheUnauthorizedTTL (30s). */
  webhookAuthz: { cacheAuthorizedTTLMs: number; cacheUnauthorizedTTLMs: number };
  /** The kubelet's kubeconfig, for TokenReview and SubjectAccessReview. */
  kubeConfig?: KubeConfig;
  /** Instead of kubeConfig (tests, or another transport). */
  tokenReviewer?: TokenReviewer;
  accessReviewer?: AccessReviewer;
  /** Default defaultWebhookRetryBackoff. */
  retryBackoff?: Backoff;
  /** Token audiences to request (the kubelet asks for none). */
  audiences?: string[];
}

/** Builds the authenticator and authorizer as the kubelet does from its configuration; throws on a configuration that cannot work. */
export function buildKubeletAuth(o: KubeletAuthOptions): KubeletAuth {
  const logger = o.logger ?? nopLogger;
  let tokens: WebhookTokenAuthenticator | undefined;
  if (o.webhookAuthn.enabled) {
    const review = o.tokenReviewer ?? (o.kubeConfig ? kubeTokenReviewer(o.kubeConfig) : undefined);
    if (!review) throw new Error('no client provided, cannot use webhook authentication');
    tokens = new WebhookTokenAuthenticator({
      review, clock: o.clock, cacheTTLMs: o.webhookAuthn.cacheTTLMs, logger,
      ...(o.audiences ? { audiences: o.audiences } : {}), ...(o.retryBackoff ? { retryBackoff: o.retryBackoff } : {}),
    });
  }
  const authenticator = new RequestAuthenticator({ clientCertificates: o.clientCertificates, anonymous: o.anonymousEnabled, ...(tokens ? { tokens } : {}) });
  let authorizer: Authorizer;
  switch (o.authorizationMode) {
    case 'AlwaysAllow':
      authorizer = alwaysAllowAuthorizer;
      break;
    case 'Webhook': {
      const review = o.accessReviewer ?? (o.kubeConfig ? kubeAccessReviewer(o.kubeConfig) : undefined);
      if (!review) throw new Error('no client provided, cannot use webhook authorization');
      authorizer = new WebhookAuthorizer({
        review, clock: o.clock, authorizedTTLMs: o.webhookAuthz.cacheAuthorizedTTLMs, unauthorizedTTLMs: o.webhookAuthz.cacheUnauthorizedTTLMs, logger,
        ...(o.retryBackoff ? { retryBackoff: o.retryBackoff } : {}),
      });
      break;
    }
    default:
      throw new Error(`unknown authorization mode ${String(o.authorizationMode)}`);
  }
  return new KubeletAuth(authenticator, authorizer, o.nodeName, logger);
}
