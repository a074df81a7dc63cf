// configmap: the kubelet's ConfigMap manager (see manager.ts).
export { ConfigMapManager, kubeConfigMapFetcher, podConfigMapNames, type ConfigMapGetter, type ConfigMapManagerOptions } from './manager.js';
