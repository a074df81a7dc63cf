// nodelifecycle: the node lifecycle controller's pure decisions (health.ts, zones.ts, taints.ts)
// and its per-zone rate-limited tainting queue (ratelimitedqueue.ts); controller.ts runs the loops.
export * from './health.js';
export * from './zones.js';
export * from './taints.js';
export * from './ratelimitedqueue.js';
export * from './controller.js';
export * from './client.js';
