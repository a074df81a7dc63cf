// volumes: pod volumes and kubelet-managed pod files (see volumes.ts).
export * from './volumes.js';
