// server: the kubelet's HTTP endpoints (standalone local API for now).
export { LocalServer, podList, toKubeJSON, type LocalApiSource, type RouteHandler, type UpgradeHandler } from './local.js';
export type { PodLookup, ContainerRef } from './lookup.js';
export { findContainer } from './lookup.js';
