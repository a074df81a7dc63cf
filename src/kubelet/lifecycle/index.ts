// lifecycle: container lifecycle hooks (postStart, preStop).
export { runHandler, HookError, type HookContext } from './handlers.js';
export { admitPod as admitPodPredicates, podRequests, hostPortsConflict, tolerationsTolerateTaint, toleratesTaint, findUntoleratedTaint, nodeMatchesNodeSelectorTerms, podMatchesNodeAffinity, isExtendedResourceName, type AdmitPodInput, type PredicateAdmitResult, type ResourceAmounts } from './predicate.js';
