// TLS bootstrap (models pkg/kubelet/certificate/bootstrap/bootstrap.go LoadClientCert,
// isClientConfigStillValid, requestNodeCertificate, writeKubeconfigFromBootstrapping): with a
// bootstrap kubeconfig and no usable kubeconfig, request a client certificate for
// system:node:<name> (signer kubernetes.io/kube-apiserver-client-kubelet), store it as
// kubelet-client-<ts>.pem / kubelet-client-current.pem and write a kubeconfig naming that file
// as client-certificate and client-key.
//
// Differences: no waitForServer pre-check (the CSR wait retries on its own); the key and the
// CSR are ECDSA P-256 as upstream's LoadOrGenerateKeyFile makes them.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nopLogger } from '../../util/logger.js';
import { kubeCsrClient, requestCertificate, waitForCertificate, type CsrClient } from './csr.js';
import { clientTemplate, isExpired, kubeletClientUsages, KubeAPIServerClientKubeletSignerName } from './decisions.js';
import { createCSR, digestedName, generateECKey, loadKey, parseCert, pemBlocks, publicKeyDer, type KeyMaterial } from './pki.js';
import { FileStore, writeFileAtomic } from './store.js';

/** Where the bootstrap key waits for its certificate (tmpPrivateKeyFile). */
export const tmpPrivateKeyFile = 'kubelet-client.key.tmp';
export const bootstrapWaitTimeoutMs = 3600_000;

/** Loads a kubeconfig file (relative file paths resolved against its directory). */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  kc.makePathsAbsolute(dirname(resolve(path)));
  return kc;
}

function userCertPem(kc: KubeConfig): string | undefined {
  const u = kc.getCurrentUser();
  if (!u) return undefined;
  if (u.certFile) return readFileSync(u.certFile, 'utf8');
  if (u.certData) return Buffer.from(u.certData, 'base64').toString('utf8');
  return undefined;
}

/** Whether the kubeconfig at path exists and holds client certificates none of which has expired. */
export function isClientConfigStillValid(path: string, now: number, logger: Logger = nopLogger): boolean {
  if (!existsSync(path)) return false;
  let pem: string | undefined;
  try {
    pem = userCertPem(loadKubeConfig(path));
  } catch (err) {
    logger.warn('unable to read existing bootstrap client config', { path, err: (err as Error).message });
    return false;
  }
  const certs = pem ? pemBlocks(pem).filter((b) => b.type === 'CERTIFICATE') : [];
  if (!certs.length) {
    logger.warn('unable to read TLS certificates from existing bootstrap client config', { path });
    return false;
  }
  for (const b of certs) {
    let info;
    try {
      info = parseCert(b.text);
    } catch (err) {
      logger.warn('unable to load TLS certificates from existing bootstrap client config', { path, err: (err as Error).message });
      return false;
    }
    if (isExpired(info, now)) {
      logger.warn('part of the existing bootstrap client certificate is expired', { path, notAfter: new Date(info.notAfter).toISOString() });
      return false;
    }
  }
  return true;
}

/** Writes (0600) a kubeconfig with the bootstrap kubeconfig's cluster and the stored pem as client certificate and key. */
export function writeKubeconfigFromBootstrapping(bootstrap: KubeConfig, kubeconfigPath: string, pemPath: string): void {
  const c = bootstrap.getCurrentCluster();
  if (!c) throw new Error('bootstrap kubeconfig has no current cluster');
  const cluster: Record<string, unknown> = { server: c.server };
  if (c.caFile) cluster['certificate-authority'] = c.caFile;
  else if (c.caData) cluster['certificate-authority-data'] = c.caData;
  if (c.skipTLSVerify) cluster['insecure-skip-tls-verify'] = true;
  if (c.tlsServerName) cluster['tls-server-name'] = c.tlsServerName;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default-cluster', cluster }],
    contexts: [{ name: 'default-context', context: { cluster: 'default-cluster', namespace: 'default', user: 'default-auth' } }],
    'current-context': 'default-context',
    preferences: {},
    users: [{ name: 'default-auth', user: { 'client-certificate': pemPath, 'client-key': pemPath } }],
  };
  mkdirSync(dirname(kubeconfigPath), { recursive: true });
  writeFileAtomic(kubeconfigPath, stringify(doc), 0o600);
}

export interface BootstrapOptions {
  /** The kubelet's kubeconfig (--kubeconfig), written when bootstrapping. */
  kubeconfigPath: string;
  /** --bootstrap-kubeconfig: token or certificate allowed to create CSRs. */
  bootstrapKubeconfigPath: string;
  /** --cert-dir (`<root-dir>/pki`). */
  certDir: string;
  nodeName: string;
  clock: Clock;
  logger?: Logger;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The CSR client for the bootstrap credentials (default: client-node over the bootstrap kubeconfig). */
  csrClient?: (bootstrap: KubeConfig) => CsrClient;
}

/**
 * LoadClientCert: returns the KubeConfig of the node's own identity, bootstrapping it first when
 * the kubeconfig is missing or its certificate expired. Rejects with the CSR's reason when the
 * request is denied or fails.
 */
export async function loadClientCert(opts: BootstrapOptions): Promise<KubeConfig> {
  const logger = opts.logger ?? nopLogger;
  if (isClientConfigStillValid(opts.kubeconfigPath, opts.clock.now(), logger)) {
    logger.info('Kubeconfig exists and is valid, skipping bootstrap', { path: opts.kubeconfigPath });
    return loadKubeConfig(opts.kubeconfigPath);
  }
  logger.info('Using bootstrap kubeconfig to generate TLS client cert, key and kubeconfig file', { bootstrap: opts.bootstrapKubeconfigPath });
  let bootstrap: KubeConfig;
  try {
    bootstrap = loadKubeConfig(opts.bootstrapKubeconfigPath);
  } catch (err) {
    throw new Error(`unable to load bootstrap kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  const store = new FileStore({ dir: opts.certDir, pairNamePrefix: 'kubelet-client', clock: opts.clock });
  mkdirSync(opts.certDir, { recursive: true, mode: 0o700 });
  const keyPath = join(resolve(opts.certDir), tmpPrivateKeyFile);

  // Reuse the key of a stored pair (kubeconfig missing), else the cached one, else a new one.
  let key: KeyMaterial | undefined;
  try {
    const cur = store.tryCurrent();
    if (cur) key = await loadKey(cur.keyPem);
  } catch {
    key = undefined;
  }
  if (!key) {
    logger.info('No valid private key and/or certificate found, reusing existing private key or creating a new one');
    try {
      if (existsSync(keyPath)) key = await loadKey(readFileSync(keyPath, 'utf8'));
    } catch (err) {
      logger.warn('cached bootstrap private key is unusable, creating a new one', { path: keyPath, err: (err as Error).message });
    }
    if (!key) {
      key = await generateECKey();
      writeFileAtomic(keyPath, key.keyPem, 0o600);
    }
  }

  const template = clientTemplate(opts.nodeName);
  const usages = key.type === 'rsa' ? ['digital signature', 'client auth', 'key encipherment'] : kubeletClientUsages('ec');
  const csrPem = await createCSR(template, key);
  const name = digestedName(await publicKeyDer(key), template, usages);
  const client = (opts.csrClient ?? kubeCsrClient)(bootstrap);
  const req = await requestCertificate(client, { csrPem, name, signerName: KubeAPIServerClientKubeletSignerName, usages }, logger);
  logger.info('Waiting for client certificate to be issued', { csr: req.name });
  const certPem = await waitForCertificate(client, req.name, req.uid, {
    clock: opts.clock, timeoutMs: opts.timeoutMs ?? bootstrapWaitTimeoutMs, logger, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const pair = store.update(certPem, key.keyPem);
  rmSync(keyPath, { force: true });
  writeKubeconfigFromBootstrapping(bootstrap, opts.kubeconfigPath, store.currentPath());
  logger.info('Client certificate issued', { csr: req.name, path: pair.path, notAfter: new Date(pair.notAfter).toISOString() });
  return loadKubeConfig(opts.kubeconfigPath);
}
