// Sending a CSR and waiting for its certificate (models k8s.io/client-go/util/certificate/csr:
// RequestCertificate (reuse of an existing CSR of the same name when compatible) and
// WaitForCertificate (watch by metadata.name until Denied, Failed, or Approved with a
// certificate)). The API access is behind `CsrClient` so that the waiting logic is testable;
// `kubeCsrClient` is the @kubernetes/client-node edge.
//
// Differences: the wait reads the object once, then watches from its resourceVersion and reads
// again whenever the watch ends (upstream uses a ListWatch-based informer); the time limit and
// the pause between broken watches run on the injected Clock.

import { CertificatesV1Api, Watch, type KubeConfig, type V1CertificateSigningRequest } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nopLogger } from '../../util/logger.js';
import { csrOutcome } from './decisions.js';
import { csrIdentity } from './pki.js';

export interface CsrClient {
  create(csr: V1CertificateSigningRequest): Promise<V1CertificateSigningRequest>;
  get(name: string): Promise<V1CertificateSigningRequest>;
  /** Watches one CSR from resourceVersion; calls onEvent per event; resolves when the watch ends. */
  watch(name: string, resourceVersion: string, onEvent: (type: string, csr: V1CertificateSigningRequest) => void, signal: AbortSignal): Promise<void>;
}

/** A CsrClient over a KubeConfig (credentials are read per request, so a rotated cert file is picked up). */
export function kubeCsrClient(kc: KubeConfig): CsrClient {
  const api = kc.makeApiClient(CertificatesV1Api);
  return {
    create: (body) => api.createCertificateSigningRequest({ body }),
    get: (name) => api.readCertificateSigningRequest({ name }),
    watch: (name, resourceVersion, onEvent, signal) =>
      new Promise<void>((resolve, reject) => {
        let ctrl: AbortController | undefined;
        const onAbort = (): void => ctrl?.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (err?: unknown): void => {
          signal.removeEventListener('abort', onAbort);
          if (err && !signal.aborted) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve();
        };
        new Watch(kc)
          .watch('/apis/certificates.k8s.io/v1/certificatesigningrequests', { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: true },
            (type, obj) => onEvent(type, obj as V1CertificateSigningRequest), done)
          .then((c) => {
            ctrl = c;
            if (signal.aborted) c.abort();
          }, done);
      }),
  };
}

export function apiErrorCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

export interface CertificateRequest {
  csrPem: string;
  signerName: string;
  usages: string[];
  /** A fixed name (the bootstrap's digested name); otherwise generateName `csr-`. */
  name?: string;
  expirationSeconds?: number;
}

/** Creates the CSR; with a fixed name, an existing compatible CSR of that name is reused. */
export async function requestCertificate(client: CsrClient, req: CertificateRequest, logger: Logger = nopLogger): Promise<{ name: string; uid: string }> {
  const body: V1CertificateSigningRequest = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: req.name ? { name: req.name } : { generateName: 'csr-' },
    spec: {
      request: Buffer.from(req.csrPem).toString('base64'),
      signerName: req.signerName,
      usages: req.usages,
      ...(req.expirationSeconds !== undefined ? { expirationSeconds: req.expirationSeconds } : {}),
    },
  };
  try {
    const created = await client.create(body);
    return { name: created.metadata?.name ?? '', uid: created.metadata?.uid ?? '' };
  } catch (err) {
    if (apiErrorCode(err) !== 409 || !req.name) throw new Error(`cannot create certificate signing request: ${errText(err)}`, { cause: err });
  }
  logger.info('csr for this node already exists, reusing', { csr: req.name });
  let existing: V1CertificateSigningRequest;
  try {
    existing = await client.get(req.name);
  } catch (err) {
    throw new Error(`cannot retrieve certificate signing request: ${errText(err)}`, { cause: err });
  }
  const spec = existing.spec;
  let sameRequest = false;
  try {
    const a = csrIdentity(Buffer.from(spec.request, 'base64').toString('utf8'));
    const b = csrIdentity(req.csrPem);
    sameRequest = a.publicKey === b.publicKey && a.subject === b.subject;
  } catch {
    sameRequest = false;
  }
  if (!sameRequest || spec.signerName !== req.signerName || [...(spec.usages ?? [])].sort().join() !== [...req.usages].sort().join()) {
    throw new Error(`retrieved csr ${req.name} is not compatible: its request, signerName or usages differ`);
  }
  return { name: req.name, uid: existing.metadata?.uid ?? '' };
}

function errText(err: unknown): string {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') {
    try {
      const m = (JSON.parse(body) as { message?: string }).message;
      if (m) return m;
    } catch {
      // not JSON
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return err instanceof Error ? err.message : String(err);
}

export interface WaitOptions {
  clock: Clock;
  /** Give up after this long (bootstrap 1 h, rotation 15 min). */
  timeoutMs: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Pause before watching again after a watch or read failed. Default 1 s. */
  retryMs?: number;
}

export class CertificateRequestError extends Error {
  constructor(message: string, readonly outcome: 'denied' | 'failed' | 'timeout' | 'deleted') {
    super(message);
    this.name = 'CertificateRequestError';
  }
}

/** Waits until the CSR is approved and issued; rejects with a clear message if Denied, Failed, deleted or too slow. */
export async function waitForCertificate(client: CsrClient, name: string, uid: string, opts: WaitOptions): Promise<string> {
  const { clock } = opts;
  const logger = opts.logger ?? nopLogger;
  const ctrl = new AbortController();
  let failure: Error | undefined;
  let certPem: string | undefined;
  const stop = (): void => ctrl.abort();
  opts.signal?.addEventListener('abort', stop, { once: true });
  const timer = clock.setTimeout(() => {
    failure ??= new CertificateRequestError(`timed out waiting for certificate signing request ${name} to be approved and issued`, 'timeout');
    ctrl.abort();
  }, opts.timeoutMs);
  let loggedApproved = false;
  const look = (csr: V1CertificateSigningRequest): void => {
    if (uid && csr.metadata?.uid && csr.metadata.uid !== uid) {
      failure ??= new CertificateRequestError(`certificate signing request ${name} was deleted and recreated (uid ${csr.metadata.uid}, expected ${uid})`, 'deleted');
      ctrl.abort();
      return;
    }
    const o = csrOutcome(csr);
    if (o.state === 'issued') {
      certPem = o.certPem;
      ctrl.abort();
    } else if (o.state === 'denied' || o.state === 'failed') {
      failure ??= new CertificateRequestError(o.message, o.state);
      ctrl.abort();
    } else if (o.state === 'pending' && o.approved && !loggedApproved) {
      loggedApproved = true;
      logger.info('certificate signing request is approved, waiting to be issued', { csr: name });
    }
  };
  try {
    while (!ctrl.signal.aborted) {
      try {
        const csr = await client.get(name);
        look(csr);
        if (ctrl.signal.aborted) break;
        await client.watch(name, csr.metadata?.resourceVersion ?? '', (type, obj) => {
          if (type === 'DELETED') {
            failure ??= new CertificateRequestError(`certificate signing request ${name} was deleted`, 'deleted');
            ctrl.abort();
          } else if (type === 'ADDED' || type === 'MODIFIED') {
            look(obj);
          }
        }, ctrl.signal);
      } catch (err) {
        if (apiErrorCode(err) === 404) {
          failure ??= new CertificateRequestError(`certificate signing request ${name} was deleted`, 'deleted');
          break;
        }
        logger.warn('reading certificate signing request failed, retrying', { csr: name, err: errText(err) });
        try {
          await clock.sleep(opts.retryMs ?? 1000, ctrl.signal);
        } catch {
          break;
        }
      }
    }
  } finally {
    timer.stop();
    opts.signal?.removeEventListener('abort', stop);
  }
  if (certPem !== undefined) return certPem;
  throw failure ?? new Error(`waiting for certificate signing request ${name} was cancelled`);
}
