// The test API server's public surface (a test fixture for cluster-mode tests; never a
// production mode of nodelet). See server.ts for what it models and where it differs.

export { startTestApiServer, type TestApiServer, type TestApiServerOptions, type Faults, type KubeconfigUser, type RequestRecord } from './server.js';
export { Store, resources, type KObject, type ResourceInfo, type StoreEvent, ApiError } from './store.js';
export { TokenTable, authorize, authorizeNode, type UserInfo, type Attributes, type Decision } from './auth.js';
export { createKeyAndCSR, testPKI, type TestPKI } from './pki.js';
export { applyPatch, mergePatch, jsonPatch, strategicMergePatch } from './patch.js';
export { parseLabelSelector, parseFieldSelector, matchLabels, matchFields } from './selectors.js';
export { startApprover, type Approver } from './approver.js';
export { kubeApiAccessVolume, ServiceAccountMountPath } from './admission.js';
