// CertificateManager: holds the current certificate of one identity and rotates it (models
// k8s.io/client-go/util/certificate/certificate_manager.go manager: Current, Start/run,
// nextRotationDeadline, rotateCerts; pkg/kubelet/certificate/kubelet.go for the kubelet's two
// instances, the client identity and the serving certificate, and their metrics).
//
// Rotation: at a random moment between 70 % and 90 % of the certificate's validity (at once when
// there is no certificate or it no longer satisfies the template), a new ECDSA P-256 key and a
// CSR sent with the current identity; once issued it is stored (new timestamped file, symlink
// swapped) and subscribers are told. Failures are retried after 2, 4, 8, 16 s, then every 32 s.
//
// Differences: time runs on the injected Clock; a template change (new node addresses) is
// signalled by calling templateChanged() rather than polled every second; running API clients
// pick up the new certificate because their KubeConfig names the `-current.pem` file, which
// @kubernetes/client-node reads on every request (upstream swaps the transport's certificate
// and closes idle connections).

import type { Registry } from 'prom-client';
import type { Clock, Timer } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nopLogger } from '../../util/logger.js';
import { Counter, Gauge, getOrCreate, Histogram } from '../../util/metrics.js';
import { requestCertificate, waitForCertificate, type CsrClient } from './csr.js';
import { certSatisfiesTemplate, isExpired, kubeletClientUsages, kubeletServingUsages, nextRotationDeadline, rotationRetryDelay } from './decisions.js';
import { createCSR, generateECKey, type CertTemplate } from './pki.js';
import type { FileStore, KeyPairInfo } from './store.js';

/** How long a submitted CSR is waited for during rotation (certificateWaitTimeout). */
export const certificateWaitTimeoutMs = 15 * 60_000;

export interface CertificateManagerOptions {
  kind: 'client' | 'server';
  clock: Clock;
  store: FileStore;
  signerName: string;
  /** What to request; undefined while there is nothing to request yet (a node without addresses). */
  getTemplate: () => CertTemplate | undefined;
  /** The API client for CSRs, given the current pair (undefined before the first certificate). */
  csrClient: (current: KeyPairInfo | undefined) => CsrClient;
  /** Usages for a key type (default: the kubelet's client or serving usages). */
  getUsages?: (keyType: 'ec' | 'rsa') => string[];
  requestedLifetimeSeconds?: number;
  /** [0, 1) source for the deadline jitter and the retry jitter. Default Math.random. */
  random?: () => number;
  logger?: Logger;
  registry?: Registry;
  waitTimeoutMs?: number;
}

/** What current() returns and rotation subscribers receive. */
export type Certificate = KeyPairInfo;

const rotationBuckets = [60, 3600, 14400, 86400, 604800, 2592000, 7776000, 15552000, 31104000, 124416000];

export class CertificateManager {
  private cert: KeyPairInfo | undefined;
  private forceRotation: boolean;
  private readonly subscribers = new Set<(c: Certificate) => void>();
  private running = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private inFlight: Promise<boolean> | undefined;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly renewErrors: Counter | undefined;
  private readonly rotationSeconds: Histogram | undefined;

  constructor(private readonly opts: CertificateManagerOptions) {
    this.logger = (opts.logger ?? nopLogger).child({ component: `certificate-manager-${opts.kind}` });
    this.random = opts.random ?? Math.random;
    const cur = opts.store.tryCurrent();
    this.cert = cur && !isExpired(cur, opts.clock.now()) ? cur : undefined;
    this.forceRotation = !this.cert;
    const reg = opts.registry;
    if (reg) {
      const ttlName = `kubelet_certificate_manager_${opts.kind}_ttl_seconds`;
      const ttl = (): number => (this.cert ? (this.cert.notAfter - this.opts.clock.now()) / 1000 : Infinity);
      getOrCreate(reg, ttlName, () => new Gauge({
        name: ttlName,
        help: `Gauge of the TTL (time-to-live) of the Kubelet's ${opts.kind} certificate. The value is in seconds until certificate expiry (negative if already expired). If ${opts.kind} certificate is invalid or unused, the value will be +INF.`,
        registers: [reg],
        collect() {
          this.set(ttl());
        },
      }));
      const errName = opts.kind === 'client' ? 'kubelet_certificate_manager_client_expiration_renew_errors' : 'kubelet_server_expiration_renew_errors';
      this.renewErrors = getOrCreate(reg, errName, () => new Counter({ name: errName, help: 'Counter of certificate renewal errors.', registers: [reg] }));
      if (opts.kind === 'server') {
        const hName = 'kubelet_certificate_manager_server_rotation_seconds';
        this.rotationSeconds = getOrCreate(reg, hName, () => new Histogram({
          name: hName, help: 'Histogram of the number of seconds the previous certificate lived before being rotated.', buckets: rotationBuckets, registers: [reg],
        }));
      }
    }
  }

  /** The current certificate and key; undefined when there is none or it has expired. */
  current(): Certificate | undefined {
    if (this.cert && isExpired(this.cert, this.opts.clock.now())) return undefined;
    return this.cert;
  }

  /** Calls cb with each new certificate; returns the unsubscribe function. */
  onRotate(cb: (c: Certificate) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  /** When the current certificate is due for rotation (now when there is none or it misses the template). */
  nextRotationDeadline(): number {
    const now = this.opts.clock.now();
    if (this.forceRotation) {
      this.forceRotation = false;
      return now;
    }
    const sat = certSatisfiesTemplate(this.cert, this.opts.getTemplate());
    if (!sat.ok || !this.cert) {
      if (sat.reason) this.logger.info(sat.reason);
      return now;
    }
    const deadline = nextRotationDeadline(this.cert.notBefore, this.cert.notAfter, this.random);
    this.logger.info('Certificate rotation deadline determined', { expiration: new Date(this.cert.notAfter).toISOString(), deadline: new Date(deadline).toISOString() });
    return deadline;
  }

  /** Starts the rotation loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.logger.info('Certificate rotation is enabled');
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.abort.abort(new Error('certificate manager stopped'));
    this.wake?.();
  }

  /** The template may have changed (node addresses): re-evaluate the deadline now. */
  templateChanged(): void {
    this.wake?.();
  }

  /** One rotation (rotateCerts): true when a new certificate is in place. Concurrent calls share one attempt. */
  rotate(): Promise<boolean> {
    this.inFlight ??= this.rotateOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private sleep(ms: number): Promise<'timer' | 'woken'> {
    return new Promise((resolve) => {
      let timer: Timer | undefined = undefined;
      const done = (why: 'timer' | 'woken'): void => {
        timer?.stop();
        this.wake = undefined;
        resolve(why);
      };
      this.wake = () => done('woken');
      timer = this.opts.clock.setTimeout(() => done('timer'), ms);
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const wait = this.nextRotationDeadline() - this.opts.clock.now();
      if (wait > 0) {
        this.logger.info('Waiting for next certificate rotation', { sleepMs: wait });
        const why = await this.sleep(wait);
        if (!this.running) break;
        if (why === 'woken' && certSatisfiesTemplate(this.cert, this.opts.getTemplate()).ok) continue;
      }
      if (!this.opts.getTemplate()) {
        await this.sleep(1000);
        continue;
      }
      for (let failures = 0; this.running;) {
        if (await this.rotate()) break;
        failures++;
        if (failures === 5) this.logger.error('Reached backoff limit, still unable to rotate certs');
        await this.sleep(rotationRetryDelay(failures, this.random));
      }
    }
  }

  private fail(msg: string, err: unknown): false {
    this.renewErrors?.inc();
    this.logger.error(msg, { err: err instanceof Error ? err.message : String(err) });
    return false;
  }

  private async rotateOnce(): Promise<boolean> {
    const { opts } = this;
    const template = opts.getTemplate();
    if (!template) return false;
    this.logger.info('Rotating certificates');
    let key;
    let csrPem;
    try {
      key = await generateECKey();
      csrPem = await createCSR(template, key);
    } catch (err) {
      return this.fail('Unable to generate a certificate signing request', err);
    }
    const usages = (opts.getUsages ?? (opts.kind === 'client' ? kubeletClientUsages : kubeletServingUsages))(key.type);
    let client: CsrClient;
    let req: { name: string; uid: string };
    try {
      client = opts.csrClient(this.current());
      req = await requestCertificate(client, {
        csrPem, signerName: opts.signerName, usages,
        ...(opts.requestedLifetimeSeconds !== undefined ? { expirationSeconds: opts.requestedLifetimeSeconds } : {}),
      }, this.logger);
    } catch (err) {
      return this.fail('Failed while requesting a signed certificate from the control plane', err);
    }
    let certPem: string;
    try {
      certPem = await waitForCertificate(client, req.name, req.uid, { clock: opts.clock, timeoutMs: opts.waitTimeoutMs ?? certificateWaitTimeoutMs, signal: this.abort.signal, logger: this.logger });
    } catch (err) {
      return this.fail(`Certificate request ${req.name} was not signed`, err);
    }
    let pair: KeyPairInfo;
    try {
      pair = opts.store.update(certPem, key.keyPem);
    } catch (err) {
      return this.fail('Unable to store the new cert/key pair', err);
    }
    const old = this.cert;
    this.cert = pair;
    if (old) this.rotationSeconds?.observe((opts.clock.now() - old.notBefore) / 1000);
    this.logger.info('Certificate rotated', { csr: req.name, path: pair.path, notAfter: new Date(pair.notAfter).toISOString() });
    for (const cb of this.subscribers) {
      try {
        cb(pair);
      } catch (err) {
        this.logger.warn('certificate rotation subscriber failed', { err: err instanceof Error ? err.message : String(err) });
      }
    }
    return true;
  }
}
