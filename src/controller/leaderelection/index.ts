// Leader election for the controllers (client-go tools/leaderelection with a Lease lock, as
// kube-controller-manager uses it). See leaderelection.ts and leaselock.ts.
export * from './leaderelection.js';
export * from './leaselock.js';
