// The CertificateManager module: TLS bootstrap, client certificate rotation and the serving
// certificate (upstream pkg/kubelet/certificate and k8s.io/client-go/util/certificate).

export { CertificateManager, certificateWaitTimeoutMs, type CertificateManagerOptions, type Certificate } from './manager.js';
export { FileStore, NoCertKeyError, storeFileName, storeTimestamp, type FileStoreOptions, type KeyPairInfo } from './store.js';
export { loadClientCert, loadKubeConfig, isClientConfigStillValid, writeKubeconfigFromBootstrapping, tmpPrivateKeyFile, type BootstrapOptions } from './bootstrap.js';
export { kubeCsrClient, requestCertificate, waitForCertificate, CertificateRequestError, type CsrClient } from './csr.js';
export { loadOrGenerateServingCert, staticServingSource, type ServingCertificateSource, type SelfSignedOptions } from './serving.js';
export {
  KubeAPIServerClientKubeletSignerName, KubeletServingSignerName, nextRotationDeadline, certSatisfiesTemplate, addressesToHostnamesAndIPs,
  servingTemplate, clientTemplate, csrOutcome, rotationRetryDelay, kubeletClientUsages, kubeletServingUsages, type NodeAddress,
} from './decisions.js';
export { parseCert, type CertInfo, type CertTemplate } from './pki.js';
export { newKubeletClientCertificateManager, kubeletServingCertificate, type KubeletCertificateOptions, type ServingCertificateConfig } from './kubelet.js';
