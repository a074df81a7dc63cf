// server: the kubelet's HTTP endpoints (standalone local API for now).
export { LocalServer, podList, toKubeJSON, type LocalApiSource, type RouteHandler, type UpgradeHandler } from './local.js';
export type { PodLookup, ContainerRef } from './lookup.js';
export { findContainer } from './lookup.js';
export {
  apiVerb, nodeRequestAttributes, forbiddenMessage, authorizationErrorMessage, unauthorizedMessage, bearerToken, x509User, buildKubeletAuth, KubeletAuth,
  RequestAuthenticator, WebhookTokenAuthenticator, WebhookAuthorizer, alwaysAllowAuthorizer, kubeTokenReviewer, kubeAccessReviewer, defaultWebhookRetryBackoff,
  type UserInfo, type RequestAttributes, type KubeletAuthOptions, type Authorizer, type Backoff, type TokenReviewer, type AccessReviewer,
} from './auth.js';
export { SecureServer, tlsVersion, type SecureServerOptions, type SecureHandler } from './secure.js';
