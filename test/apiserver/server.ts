// The test API server: a TEST FIXTURE speaking enough of the Kubernetes REST API for
// @kubernetes/client-node to run unmodified against it (models the kube-apiserver request path:
// pkg/endpoints/handlers (create, get, list, update, patch, delete, watch), discovery, the
// x509 / bearer-token authenticators, the Node authorizer, TokenReview, SubjectAccessReview,
// TokenRequest and the CSR approval/signing flow), plus fault injection for tests.
//
// Differences: no dryRun, no server-side apply, no protobuf, no legacy /api/v1/watch/ paths; a
// list at an old resourceVersion serves the current state unless resourceVersionMatch=Exact (410
// then); a paged list (limit + continue, in key order as etcd's) reads each page from the current
// state rather than the first page's snapshot (every page carries the first page's
// resourceVersion, so a watch started from it sees what changed meanwhile); see the other files
// for the rest.

import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { BindingContext, makeAdmit, populateNamespace, type AdmissionContext } from './admission.js';
import { authorize, forbiddenMessage, TokenTable, withAuthenticated, type Attributes, type ExtraAuthorizer, type UserInfo } from './auth.js';
import { applyPatch, PatchError } from './patch.js';
import { signCSR, testPKI, type TestPKI } from './pki.js';
import { checkFieldSelector, matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { ApiError, apiVersionOf, clone, errors, findResource, resources, Store, type KObject, type ResourceInfo } from './store.js';
import { serveWatch, type WatchHandle } from './watch.js';

export interface TestApiServerOptions {
  /** Serve HTTPS with the test CA and authenticate (default true). Plain HTTP treats unauthenticated requests as admin. */
  tls?: boolean;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Events kept for watches from an old resourceVersion. Default 1000. */
  historySize?: number;
  /** Period of BOOKMARK events for watches asking allowWatchBookmarks. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** Upper bound of a watch's life when the client gives no timeoutSeconds. Default 1800 s. */
  watchTimeoutSeconds?: number;
  /** Static bearer tokens. */
  tokens?: Record<string, { name: string; groups?: string[]; uid?: string }>;
  /** Extra namespaces to create at start (default, kube-system, kube-public, kube-node-lease always exist). */
  namespaces?: string[];
  /** Decides for users that are neither system:masters nor nodes (undefined: deny). */
  authorize?: ExtraAuthorizer;
  /** Sign approved CSRs with the test CA (default true). */
  signer?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  verb: string;
  user: string;
  code: number;
}

export interface KubeconfigUser {
  /** A node identity: client certificate CN=system:node:<node>, O=system:nodes. */
  node?: string;
  /** Any user by client certificate. */
  user?: string;
  groups?: string[];
  /** A bearer token instead of a certificate. */
  token?: string;
}

export interface Faults {
  /** Refuse (default) or reset connections for `ms`, closing open connections; resolves once down. */
  down(ms: number, mode?: 'refuse' | 'reset'): Promise<void>;
  /** Add `ms` latency to every request (0 to stop). */
  slow(ms: number): void;
  /** The next `n` requests fail with `code` (default 500) and a matching Status. */
  failNext(n: number, code?: number): void;
  /** The next `n` writes get 409 Conflict. */
  conflictStorm(n: number): void;
  /** Ends every open watch stream now. */
  closeWatches(): void;
  /** Ends every fault. */
  clear(): void;
}

export interface TestApiServer {
  url: string;
  port: number;
  store: Store;
  tokens: TokenTable;
  /** PEM of the CA that signed the serving certificate (empty without TLS). */
  caPem: string;
  pki: TestPKI | undefined;
  faults: Faults;
  /** Every request served, in order. */
  requests: RequestRecord[];
  /** Open watch streams. */
  readonly openWatches: number;
  /** A KubeConfig for the identity (default: admin, system:masters). */
  kubeconfig(who?: KubeconfigUser): KubeConfig;
  /** Writes that kubeconfig to `path` and returns the path. */
  writeKubeconfig(path: string, who?: KubeconfigUser): string;
  /** Get/put objects directly, by plural resource name ("pods", "leases", ...). */
  get(resource: string, namespace: string, name: string): KObject | undefined;
  put(resource: string, obj: KObject): KObject;
  list(resource: string, namespace?: string): KObject[];
  resourceInfo(resource: string): ResourceInfo;
  close(): Promise<void>;
}

const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const statusReasons: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

interface Route {
  r: ResourceInfo;
  namespace: string;
  name: string;
  sub: string;
}

function parseRoute(segs: string[]): Route | undefined {
  // segs: after /api/v1 or /apis/g/v: [namespaces, ns, resource, name?, sub?] or [resource, name?, sub?]
  let group = '';
  let version = '';
  let rest: string[];
  if (segs[0] === 'api') {
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    group = segs[1] ?? '';
    version = segs[2] ?? '';
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const r = findResource(group, version, rest[2]!);
    if (r && r.namespaced) return { r, namespace: rest[1]!, name: rest[3] ?? '', sub: rest[4] ?? '' };
  }
  const r = findResource(group, version, rest[0] ?? '');
  if (!r || r.namespaced && rest.length > 1) return r && !rest[1] ? { r, namespace: '', name: '', sub: '' } : undefined;
  return { r, namespace: '', name: rest[1] ?? '', sub: rest[2] ?? '' };
}

function apiResourceList(group: string, version: string): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  for (const r of resources.filter((x) => x.group === group && x.version === version)) {
    list.push({ name: r.resource, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames ? { shortNames: r.shortNames } : {}) });
    for (const s of r.subresources) {
      const kind = s === 'token' ? 'TokenRequest' : r.kind;
      const sgroup = s === 'token' ? { group: 'authentication.k8s.io', version: 'v1' } : {};
      list.push({ name: `${r.resource}/${s}`, singularName: '', namespaced: r.namespaced, ...sgroup, kind, verbs: s === 'token' ? ['create'] : ['get', 'patch', 'update'] });
    }
    if (r.resource === 'pods' && r.group === '') {
      list.push({ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
      list.push({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: list };
}

function apiGroups(): Record<string, unknown>[] {
  const groups = [...new Set(resources.filter((r) => r.group).map((r) => r.group))];
  return groups.map((g) => {
    const v = { groupVersion: `${g}/v1`, version: 'v1' };
    return { name: g, versions: [v], preferredVersion: v };
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function listItem(o: KObject): KObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const useTls = opts.tls ?? true;
  const pki = useTls ? testPKI() : undefined;
  const caPem = pki?.ca.cert ?? '';
  const store = new Store({ ...(opts.historySize !== undefined ? { historySize: opts.historySize } : {}) });
  const actx: AdmissionContext = { store, caPem };
  store.admit = makeAdmit(actx);
  const tokens = new TokenTable();
  for (const [t, u] of Object.entries(opts.tokens ?? {})) tokens.add(t, { name: u.name, groups: u.groups ?? [], ...(u.uid ? { uid: u.uid } : {}) });
  const nsInfo = findResource('', 'v1', 'namespaces')!;
  for (const ns of [...systemNamespaces, ...(opts.namespaces ?? [])]) {
    if (!store.tryGet(nsInfo, '', ns)) store.create(nsInfo, '', { metadata: { name: ns } });
    populateNamespace(actx, ns);
  }
  const requests: RequestRecord[] = [];
  const watches = new Set<WatchHandle>();
  const sockets = new Set<Socket>();
  let failLeft = 0;
  let failCode = 500;
  let conflictsLeft = 0;
  let latency = 0;
  let downMode: 'refuse' | 'reset' | undefined;
  let downTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const signer = opts.signer ?? true;

  const authenticate = (req: IncomingMessage): UserInfo | 'invalid' | undefined => {
    const auth = req.headers.authorization;
    if (auth && /^bearer /i.test(auth)) {
      const e = tokens.lookup(auth.slice(7).trim(), Date.now());
      return e ? withAuthenticated(e.user) : 'invalid';
    }
    if (useTls) {
      const sock = req.socket as TLSSocket;
      if (sock.authorized) {
        const c = sock.getPeerCertificate();
        const cn = c.subject?.CN;
        const o = c.subject?.O;
        const name = Array.isArray(cn) ? cn[0] : cn;
        if (name) return withAuthenticated({ name, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] });
      }
      return undefined;
    }
    return { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
  };

  const runSigner = (csr: KObject): void => {
    if (!signer || !pki) return;
    const st = (csr.status ?? {}) as { conditions?: { type?: string }[]; certificate?: string };
    const conds = st.conditions ?? [];
    if (st.certificate || !conds.some((c) => c.type === 'Approved') || conds.some((c) => c.type === 'Denied' || c.type === 'Failed')) return;
    const spec = csr.spec as { request?: string; usages?: string[]; expirationSeconds?: number; signerName?: string };
    const csrInfo = findResource('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
    setImmediate(() => {
      const cur = store.tryGet(csrInfo, '', csr.metadata!.name!);
      if (!cur || (cur.status as { certificate?: string } | undefined)?.certificate) return;
      try {
        const pem = signCSR(pki.ca, Buffer.from(spec.request ?? '', 'base64').toString('utf8'), {
          usages: spec.usages ?? [],
          days: Math.max(1, Math.ceil((spec.expirationSeconds ?? 365 * 86400) / 86400)),
        });
        (cur.status as Record<string, unknown>).certificate = Buffer.from(pem).toString('base64');
      } catch (err) {
        const s = (cur.status ??= {}) as { conditions?: unknown[] };
        (s.conditions ??= []).push({ type: 'Failed', status: 'True', reason: 'SignerFailure', message: String(err), lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      }
      try {
        store.update(csrInfo, '', cur.metadata!.name!, cur, 'status');
      } catch {
        // modified meanwhile; the next approval event signs again
      }
    });
  };
  store.subscribe((e) => {
    if (e.resource.resource === 'certificatesigningrequests' && e.type !== 'DELETED') runSigner(e.object);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, rec: RequestRecord): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const segs = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    if (latency > 0) await sleep(latency);
    if (failLeft > 0) {
      failLeft--;
      const code = failCode;
      if (code === 429) res.setHeader('Retry-After', '1');
      throw new ApiError(code, statusReasons[code] ?? 'InternalError', code === 500 ? 'Internal error occurred: injected fault' : `injected fault (${code})`);
    }
    const user = authenticate(req);
    if (user === 'invalid' || user === undefined) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    rec.user = user.name;

    const route = parseRoute(segs);
    if (!route) {
      rec.verb = 'get';
      const decision = authorize(store, { user, verb: method.toLowerCase(), group: '', resource: '', subresource: '', namespace: '', name: '', path: url.pathname }, opts.authorize);
      if (!decision.allowed) throw new ApiError(403, 'Forbidden', forbiddenMessage({ user, verb: 'get', group: '', resource: '', subresource: '', namespace: '', name: '', path: url.pathname }, decision), {});
      return discovery(url.pathname, segs, req, res);
    }
    const { r, namespace: ns, name, sub } = route;
    if (sub && !r.subresources.includes(sub) && !(r.resource === 'pods' && (sub === 'binding' || sub === 'eviction'))) {
      throw errors.notFound(r, name);
    }
    const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
    let verb: string;
    switch (method) {
      case 'GET': verb = name ? 'get' : isWatch ? 'watch' : 'list'; break;
      case 'POST': verb = 'create'; break;
      case 'PUT': verb = 'update'; break;
      case 'PATCH': verb = 'patch'; break;
      case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break;
      default: throw errors.methodNotAllowed();
    }
    rec.verb = verb;
    if (r.virtual && verb !== 'create') throw errors.methodNotAllowed();
    if ((verb === 'create' && name && !sub) || (verb !== 'create' && !name && ['update', 'patch', 'delete'].includes(verb))) throw errors.methodNotAllowed();
    const raw = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? await readBody(req) : '';
    let body: KObject | undefined;
    if (raw.trim()) {
      try {
        body = JSON.parse(raw) as KObject;
      } catch (err) {
        throw errors.badRequest(`error decoding request body: ${(err as Error).message}`);
      }
    }
    let fields;
    let labels;
    try {
      fields = parseFieldSelector(q.get('fieldSelector') ?? undefined);
      labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    } catch (err) {
      if (err instanceof SelectorError) throw errors.badRequest(err.message);
      throw err;
    }
    const attrs: Attributes = { user, verb, group: r.group, resource: r.resource, subresource: sub, namespace: ns, name, fields, ...(body && verb !== 'patch' ? { body } : {}) };
    const decision = authorize(store, attrs, opts.authorize);
    if (!decision.allowed) {
      throw new ApiError(403, 'Forbidden', forbiddenMessage(attrs, decision), { ...(name ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.resource });
    }
    if (conflictsLeft > 0 && ['create', 'update', 'patch', 'delete'].includes(verb) && !r.virtual) {
      conflictsLeft--;
      throw errors.conflict(r, name || body?.metadata?.name || '');
    }
    if (verb === 'list' || verb === 'watch') {
      const fieldErr = checkFieldSelector(r.resource, fields);
      if (fieldErr) throw errors.badRequest(fieldErr);
    }

    switch (verb) {
      case 'get':
        return sendJson(res, 200, store.get(r, ns, name));
      case 'list': {
        const rvMatch = q.get('resourceVersionMatch');
        const rv = q.get('resourceVersion');
        if (rvMatch === 'Exact' && rv && rv !== store.resourceVersion) {
          throw errors.gone('The resourceVersion for the provided list is too old.');
        }
        // a paged list copies only the page it serves (50 000 pods are listed 500 at a time)
        const paged = !!(q.get('limit') || q.get('continue'));
        const items = (paged ? store.listShared(r, ns || undefined) : store.list(r, ns || undefined)).filter((o) => matchLabels(labels, o.metadata?.labels) && matchFields(fields, o));
        const page = listPage(items, q.get('limit'), q.get('continue'), store.resourceVersion);
        return sendJson(res, 200, { kind: r.listKind, apiVersion: apiVersionOf(r), metadata: page.metadata, items: page.items.map((o) => listItem(paged ? clone(o) : o)) });
      }
      case 'watch': {
        const t = Number(q.get('timeoutSeconds') ?? '');
        const max = opts.watchTimeoutSeconds ?? 1800;
        const timeoutMs = (Number.isFinite(t) && t > 0 ? Math.min(t, max) : max) * 1000;
        let handle: WatchHandle | undefined = undefined;
        handle = serveWatch(store, {
          resource: r, namespace: ns, labels, fields, resourceVersion: q.get('resourceVersion') ?? undefined,
          allowBookmarks: q.get('allowWatchBookmarks') === 'true', timeoutMs, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
        }, res, () => {
          if (handle) watches.delete(handle);
        });
        if (!res.writableEnded) watches.add(handle);
        return;
      }
      case 'create':
        return create(r, ns, name, sub, body ?? {}, user, res);
      case 'update': {
        if (!body) throw errors.badRequest('the body of the request is empty');
        if (sub === 'approval') return sendJson(res, 200, approve(r, name, body));
        return sendJson(res, 200, store.update(r, ns, name, body, sub, user));
      }
      case 'patch': {
        if (!body && raw.trim() === '') throw errors.badRequest('the body of the request is empty');
        const cur = store.get(r, ns, name);
        let patched: unknown;
        try {
          patched = applyPatch(req.headers['content-type'] ?? '', r.resource, cur, body);
        } catch (err) {
          if (err instanceof PatchError) throw new ApiError(err.code, statusReasons[err.code] ?? 'Invalid', err.message);
          throw err;
        }
        if (sub === 'approval') return sendJson(res, 200, approve(r, name, patched as KObject));
        return sendJson(res, 200, store.update(r, ns, name, patched as KObject, sub, user));
      }
      case 'delete': {
        const grace = q.get('gracePeriodSeconds');
        const dopts = (body ?? {}) as { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } };
        const gp = dopts.gracePeriodSeconds ?? (grace !== null ? Number(grace) : undefined);
        const { object, gone } = store.delete(r, ns, name, { ...(gp !== undefined ? { gracePeriodSeconds: gp } : {}), ...(dopts.preconditions ? { preconditions: dopts.preconditions } : {}) });
        if (r.resource === 'pods' || !gone) return sendJson(res, 200, object);
        return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(r.group ? { group: r.group } : {}), kind: r.resource, uid: object.metadata?.uid } });
      }
      case 'deletecollection': {
        for (const o of store.list(r, ns || undefined)) {
          if (matchLabels(labels, o.metadata?.labels) && matchFields(fields, o)) store.delete(r, o.metadata?.namespace ?? '', o.metadata!.name!, {});
        }
        return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
      }
    }
  };

  /** certificatesigningrequests/approval: only status.conditions change. */
  const approve = (r: ResourceInfo, name: string, body: KObject): KObject => {
    const cur = store.get(r, '', name);
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== cur.metadata!.resourceVersion) throw errors.conflict(r, name);
    const st = (cur.status ??= {}) as Record<string, unknown>;
    st.conditions = (body.status as { conditions?: unknown[] } | undefined)?.conditions ?? [];
    return store.update(r, '', name, cur, 'status');
  };

  const create = (r: ResourceInfo, ns: string, name: string, sub: string, body: KObject, user: UserInfo, res: ServerResponse): void => {
    const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (r.resource === 'tokenreviews') {
      const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
      const e = tokens.lookup(spec.token ?? '', Date.now());
      const status = e
        ? { authenticated: true, user: { username: e.user.name, ...(e.user.uid ? { uid: e.user.uid } : {}), groups: withAuthenticated(e.user).groups }, audiences: spec.audiences ?? e.audiences ?? ['https://kubernetes.default.svc.cluster.local'] }
        : { user: {}, error: 'invalid bearer token' };
      return sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status });
    }
    if (r.resource === 'subjectaccessreviews' || r.resource === 'selfsubjectaccessreviews') {
      const spec = (body.spec ?? {}) as { user?: string; groups?: string[]; uid?: string; resourceAttributes?: Record<string, string>; nonResourceAttributes?: { path?: string; verb?: string } };
      const subject: UserInfo = r.resource === 'selfsubjectaccessreviews' ? user : { name: spec.user ?? '', groups: spec.groups ?? [] };
      const ra = spec.resourceAttributes;
      const a: Attributes = ra
        ? { user: subject, verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? '' }
        : { user: subject, verb: spec.nonResourceAttributes?.verb ?? 'get', group: '', resource: '', subresource: '', namespace: '', name: '', path: spec.nonResourceAttributes?.path ?? '/' };
      const d = authorize(store, a, opts.authorize);
      return sendJson(res, 201, { kind: r.kind, apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) } });
    }
    if (r.resource === 'serviceaccounts' && sub === 'token') {
      store.get(r, ns, name);
      const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
      const exp = spec.expirationSeconds ?? 3600;
      if (exp < 600) throw errors.invalid({ ...r, kind: 'TokenRequest' }, name, [{ field: 'spec.expirationSeconds', message: 'Invalid value: ' + exp + ': may not specify a duration less than 10 minutes' }]);
      const ref = spec.boundObjectRef;
      if (ref) {
        const ri = ref.kind === 'Pod' ? findResource('', 'v1', 'pods') : ref.kind === 'Secret' ? findResource('', 'v1', 'secrets') : undefined;
        if (!ri) throw errors.badRequest(`cannot bind token to object of type ${ref.kind}`);
        const o = store.tryGet(ri, ns, ref.name ?? '');
        if (!o) throw errors.notFound(ri, ref.name ?? '');
        if (ref.uid && ref.uid !== o.metadata?.uid) throw errors.conflict(ri, ref.name ?? '', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      const expires = Date.now() + exp * 1000;
      const sa = store.get(r, ns, name);
      const audiences = spec.audiences?.length ? spec.audiences : ['https://kubernetes.default.svc.cluster.local'];
      const token = tokens.issue({ name: `system:serviceaccount:${ns}:${name}`, uid: sa.metadata!.uid!, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`] }, expires, audiences);
      return sendJson(res, 201, {
        kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name, namespace: ns, creationTimestamp: now() },
        spec: { ...spec, audiences, expirationSeconds: exp }, status: { token, expirationTimestamp: new Date(expires).toISOString().replace(/\.\d+Z$/, 'Z') },
      });
    }
    if (r.resource === 'pods' && sub === 'binding') {
      const pod = store.get(r, ns, name);
      const target = (body as { target?: { name?: string } }).target?.name ?? '';
      const spec = pod.spec as { nodeName?: string };
      if (spec.nodeName) throw errors.conflict(r, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      spec.nodeName = target;
      store.update(r, ns, name, pod, '', BindingContext);
      return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    if (r.resource === 'pods' && sub === 'eviction') {
      const dopts = ((body as { deleteOptions?: { gracePeriodSeconds?: number } }).deleteOptions ?? {});
      store.delete(r, ns, name, dopts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: dopts.gracePeriodSeconds } : {});
      return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    if (r.resource === 'certificatesigningrequests') {
      const spec = (body.spec ??= {}) as Record<string, unknown>;
      spec.username = user.name;
      spec.groups = user.groups;
      if (user.uid) spec.uid = user.uid;
      body.status = {};
    }
    const created = store.create(r, ns, body, user);
    if (r.resource === 'namespaces' && r.group === '') populateNamespace(actx, created.metadata!.name!);
    return sendJson(res, 201, created);
  };

  const discovery = (path: string, segs: string[], req: IncomingMessage, res: ServerResponse): void => {
    if (path === '/api') {
      return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }] });
    }
    if (path === '/api/v1') return sendJson(res, 200, apiResourceList('', 'v1'));
    if (path === '/apis') return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: apiGroups() });
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroups().find((x) => x.name === segs[1]);
      if (g) return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
    }
    if (segs[0] === 'apis' && segs.length === 3 && resources.some((r) => r.group === segs[1] && r.version === segs[2])) {
      return sendJson(res, 200, apiResourceList(segs[1]!, segs[2]!));
    }
    if (path === '/version') {
      return sendJson(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0-nodelet-test', gitCommit: '', gitTreeState: 'clean', buildDate: '', goVersion: '', compiler: 'gc', platform: 'linux/amd64' });
    }
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const rec: RequestRecord = { method: req.method ?? '', path: req.url ?? '', verb: '', user: '', code: 0 };
    requests.push(rec);
    res.on('finish', () => (rec.code = res.statusCode));
    handle(req, res, rec).catch((err: unknown) => {
      if (err instanceof ApiError) return sendJson(res, err.code, err.toStatus());
      const e = new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
      sendJson(res, 500, e.toStatus());
    });
  };

  const server: Server = useTls
    ? createHttpsServer({ key: pki!.serving.key, cert: pki!.serving.cert, ca: pki!.ca.cert, requestCert: true, rejectUnauthorized: false }, onRequest)
    : createHttpServer(onRequest);
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    if (downMode === 'reset') {
      s.resetAndDestroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `${useTls ? 'https' : 'http'}://${host}:${port}`;

  const closeWatches = (): void => {
    for (const w of [...watches]) w.close();
  };
  const dropConnections = (): void => {
    closeWatches();
    for (const s of sockets) s.destroy();
  };
  const listenAgain = (): void => {
    downMode = undefined;
    if (closed || server.listening) return;
    server.listen(port, host);
  };

  const faults: Faults = {
    async down(ms, mode = 'refuse') {
      if (downTimer) clearTimeout(downTimer);
      downMode = mode;
      dropConnections();
      if (mode === 'refuse' && server.listening) await new Promise<void>((r) => server.close(() => r()));
      downTimer = setTimeout(() => {
        downTimer = undefined;
        listenAgain();
      }, ms);
    },
    slow(ms) {
      latency = ms;
    },
    failNext(n, code = 500) {
      failLeft = n;
      failCode = code;
    },
    conflictStorm(n) {
      conflictsLeft = n;
    },
    closeWatches,
    clear() {
      latency = 0;
      failLeft = 0;
      conflictsLeft = 0;
      if (downTimer) {
        clearTimeout(downTimer);
        downTimer = undefined;
        listenAgain();
      }
    },
  };

  const info = (resource: string): ResourceInfo => {
    const r = resources.find((x) => x.resource === resource);
    if (!r) throw new Error(`test apiserver: unknown resource ${resource}`);
    return r;
  };

  const kubeconfig = (who: KubeconfigUser = {}): KubeConfig => {
    let user: Record<string, unknown>;
    if (who.token) user = { name: 'token', token: who.token };
    else if (!pki) user = { name: 'admin' };
    else {
      const kp = who.node
        ? pki.client(`system:node:${who.node}`, ['system:nodes'])
        : who.user
          ? pki.client(who.user, who.groups ?? [])
          : pki.admin;
      user = { name: who.node ? `system:node:${who.node}` : (who.user ?? 'admin'), certData: Buffer.from(kp.cert).toString('base64'), keyData: Buffer.from(kp.key).toString('base64') };
    }
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: url, skipTLSVerify: !pki, ...(pki ? { caData: Buffer.from(pki.ca.cert).toString('base64') } : {}) }],
      users: [user],
      contexts: [{ name: 'test', cluster: 'test', user: user.name }],
      currentContext: 'test',
    });
    return kc;
  };

  return {
    url,
    port,
    store,
    tokens,
    caPem,
    pki,
    faults,
    requests,
    get openWatches() {
      return watches.size;
    },
    kubeconfig,
    writeKubeconfig(path, who) {
      writeFileSync(path, kubeconfig(who).exportConfig(), { mode: 0o600 });
      return path;
    },
    get(resource, namespace, name) {
      return store.tryGet(info(resource), namespace, name);
    },
    put(resource, obj) {
      return store.put(info(resource), obj);
    },
    list(resource, namespace) {
      return store.list(info(resource), namespace);
    },
    resourceInfo: info,
    async close() {
      closed = true;
      if (downTimer) clearTimeout(downTimer);
      dropConnections();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const objectKey = (o: KObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * limit + continue: the items after the token's key, in key order, at most `limit` of them; the
 * token (opaque to clients) holds the last key served and the first page's resourceVersion.
 */
function listPage(items: KObject[], limitParam: string | null, continueParam: string | null, currentRV: string): { items: KObject[]; metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } } {
  const limit = Number(limitParam ?? '');
  if (!continueParam && !(Number.isInteger(limit) && limit > 0)) return { items, metadata: { resourceVersion: currentRV } };
  let after = '';
  let rv = currentRV;
  if (continueParam) {
    try {
      const t = JSON.parse(Buffer.from(continueParam, 'base64url').toString('utf8')) as { start?: unknown; rv?: unknown };
      if (typeof t.start !== 'string' || typeof t.rv !== 'string') throw new Error('fields');
      after = t.start;
      rv = t.rv;
    } catch {
      throw errors.badRequest('continue key is not valid: invalid continue token');
    }
  }
  const rest = items
    .map((o) => [objectKey(o), o] as const)
    .filter(([k]) => k > after)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const n = Number.isInteger(limit) && limit > 0 ? limit : rest.length;
  const served = rest.slice(0, n);
  const remaining = rest.length - served.length;
  if (remaining === 0) return { items: served.map(([, o]) => o), metadata: { resourceVersion: rv } };
  const token = Buffer.from(JSON.stringify({ start: served[served.length - 1]![0], rv }), 'utf8').toString('base64url');
  return { items: served.map(([, o]) => o), metadata: { resourceVersion: rv, continue: token, remainingItemCount: remaining } };
}
