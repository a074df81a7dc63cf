// events: the kubelet's event recorder (reasons as upstream) with a local store for standalone mode,
// and the event correlator (aggregation, dedup, spam filter). The cluster-mode recorder (local store
// + API) is imported from './cluster.js' directly, so that modules needing only the EventRecorder
// interface do not load @kubernetes/client-node.
export * from './recorder.js';
export * from './correlator.js';
