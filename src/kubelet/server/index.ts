// server: the kubelet's HTTP endpoints (standalone local API for now).
export { LocalServer, podList, toKubeJSON, type LocalApiSource } from './local.js';
