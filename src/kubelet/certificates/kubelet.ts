// The kubelet's two certificate identities, built from its configuration (models
// pkg/kubelet/certificate/kubelet.go NewKubeletClientCertificateManager and
// NewKubeletServerCertificateManager, and kubelet.go InitializeTLS's choice of serving pair):
//
//   client: <cert-dir>/kubelet-client-current.pem, CN=system:node:<name>, O=system:nodes, signer
//           kubernetes.io/kube-apiserver-client-kubelet; rotated when rotateCertificates is set
//   server: serverTLSBootstrap -> <cert-dir>/kubelet-server-current.pem by CSR (signer
//           kubernetes.io/kubelet-serving, SANs = the Node's addresses); else tlsCertFile /
//           tlsPrivateKeyFile; else a self-signed pair in <cert-dir>/kubelet.crt, kubelet.key
//
// Difference: the client certificate reaches the running API clients through the kubeconfig
// naming kubelet-client-current.pem (what TLS bootstrap writes), which @kubernetes/client-node
// reads per request; a kubeconfig with its own certificate file is not rotated (logged).

import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { kubeCsrClient } from './csr.js';
import { clientTemplate, KubeAPIServerClientKubeletSignerName, KubeletServingSignerName, servingTemplate, type NodeAddress } from './decisions.js';
import { CertificateManager } from './manager.js';
import { loadOrGenerateServingCert, staticServingSource, type ServingCertificateSource } from './serving.js';
import { FileStore } from './store.js';

export interface KubeletCertificateOptions {
  /** --cert-dir. */
  certDir: string;
  nodeName: string;
  /** The node's own client (CSRs are sent with the current identity). */
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
}

/** Rotates the node's client certificate (rotateCertificates). */
export function newKubeletClientCertificateManager(opts: KubeletCertificateOptions): CertificateManager {
  const store = new FileStore({ dir: opts.certDir, pairNamePrefix: 'kubelet-client', clock: opts.clock });
  const users = opts.kubeConfig.getCurrentUser();
  if (users?.certFile && users.certFile !== store.currentPath()) {
    opts.logger.warn('rotateCertificates: the kubeconfig names its own client certificate; rotated certificates go to the cert dir and are used from the next start only if the kubeconfig points there', {
      certFile: users.certFile,
      rotatedTo: store.currentPath(),
    });
  }
  return new CertificateManager({
    kind: 'client',
    clock: opts.clock,
    store,
    signerName: KubeAPIServerClientKubeletSignerName,
    getTemplate: () => clientTemplate(opts.nodeName),
    csrClient: () => kubeCsrClient(opts.kubeConfig),
    logger: opts.logger,
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
}

export interface ServingCertificateConfig {
  serverTLSBootstrap: boolean;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  /** The Node's current addresses (the serving CSR's SANs); empty until the node status knows them. */
  addresses: () => NodeAddress[];
  hostname: string;
}

/**
 * The serving certificate source of the :10250 server. With serverTLSBootstrap the returned
 * manager must be started (and stopped) by the caller; it is undefined otherwise.
 */
export async function kubeletServingCertificate(
  opts: KubeletCertificateOptions & ServingCertificateConfig,
): Promise<{ source: ServingCertificateSource; manager: CertificateManager | undefined }> {
  if (opts.serverTLSBootstrap) {
    const manager = new CertificateManager({
      kind: 'server',
      clock: opts.clock,
      store: new FileStore({ dir: opts.certDir, pairNamePrefix: 'kubelet-server', clock: opts.clock }),
      signerName: KubeletServingSignerName,
      getTemplate: () => servingTemplate(opts.nodeName, opts.addresses()),
      csrClient: () => kubeCsrClient(opts.kubeConfig),
      logger: opts.logger,
      ...(opts.registry ? { registry: opts.registry } : {}),
    });
    return { source: manager, manager };
  }
  const pair = await loadOrGenerateServingCert({
    certDir: opts.certDir,
    hostname: opts.hostname,
    clock: opts.clock,
    logger: opts.logger,
    ...(opts.tlsCertFile ? { certFile: opts.tlsCertFile } : {}),
    ...(opts.tlsPrivateKeyFile ? { keyFile: opts.tlsPrivateKeyFile } : {}),
  });
  return { source: staticServingSource(pair), manager: undefined };
}
