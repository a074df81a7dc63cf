// token: the kubelet's service-account token manager (see manager.ts).
export { TokenManager, kubeTokenRequester, requiresRefresh, tokenCacheKey, type ServiceAccountTokenGetter, type TokenManagerOptions, type TokenRequester } from './manager.js';
