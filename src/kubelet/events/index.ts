// events: the kubelet's event recorder (reasons as upstream) with a local store for standalone mode.
export * from './recorder.js';
