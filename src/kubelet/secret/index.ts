// secret: the kubelet's Secret manager and the pod's image pull secrets (see manager.ts).
export { SecretManager, kubeSecretFetcher, podSecretNames, pullSecretsGetter, type SecretGetter, type SecretManagerOptions } from './manager.js';
