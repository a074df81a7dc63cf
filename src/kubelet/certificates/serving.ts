// The kubelet's serving certificate (models pkg/kubelet/kubelet.go InitializeTLS and
// pkg/kubelet/certificate/kubelet.go NewKubeletServerCertificateManager): with
// serverTLSBootstrap a CertificateManager requests it by CSR (signer kubernetes.io/kubelet-serving,
// SANs = the node's addresses, store prefix kubelet-server); otherwise the configured
// --tls-cert-file/--tls-private-key-file, or a self-signed pair generated once into
// `<cert-dir>/kubelet.crt` (0644) and `kubelet.key` (0600).
//
// Differences: upstream generates the self-signed certificate for the hostname only; the
// alternate IPs / DNS names are an option here (default none, as upstream).

import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nopLogger } from '../../util/logger.js';
import { writeFileAtomic, keyPairInfo, type KeyPairInfo } from './store.js';
import { generateSelfSignedCertKey } from './pki.js';

/** A source of the serving certificate (a CertificateManager has the same shape). */
export interface ServingCertificateSource {
  current(): KeyPairInfo | undefined;
  onRotate(cb: (c: KeyPairInfo) => void): () => void;
}

export interface SelfSignedOptions {
  /** --cert-dir. */
  certDir: string;
  hostname: string;
  clock: Clock;
  /** --tls-cert-file / --tls-private-key-file; default `<certDir>/kubelet.crt` / `kubelet.key`. */
  certFile?: string;
  keyFile?: string;
  alternateIPs?: string[];
  alternateDNS?: string[];
  logger?: Logger;
}

/** Loads the serving pair, generating the self-signed one when the files cannot be read. */
export async function loadOrGenerateServingCert(opts: SelfSignedOptions): Promise<KeyPairInfo> {
  const certFile = opts.certFile ?? join(opts.certDir, 'kubelet.crt');
  const keyFile = opts.keyFile ?? join(opts.certDir, 'kubelet.key');
  try {
    return keyPairInfo(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), certFile);
  } catch (err) {
    if (opts.certFile || opts.keyFile) throw new Error(`unable to load serving certificate ${certFile} / ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  const { certPem, keyPem } = await generateSelfSignedCertKey(opts.hostname, opts.alternateIPs ?? [], opts.alternateDNS ?? [], opts.clock.now());
  mkdirSync(opts.certDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(certFile, certPem, 0o644);
  writeFileAtomic(keyFile, keyPem, 0o600);
  chmodSync(keyFile, 0o600);
  (opts.logger ?? nopLogger).info('Using self-signed cert', { TLSCertFile: certFile, TLSPrivateKeyFile: keyFile });
  return keyPairInfo(certPem, keyPem, certFile);
}

/** A fixed serving pair as a ServingCertificateSource (it never rotates). */
export function staticServingSource(pair: KeyPairInfo): ServingCertificateSource {
  return { current: () => pair, onRotate: () => () => undefined };
}
