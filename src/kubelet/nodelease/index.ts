// nodelease: the node's heartbeat Lease in kube-node-lease (pkg/kubelet/nodelease,
// component-helpers/apimachinery/lease).
export {
  NodeLeaseController,
  newLease,
  nodeOwnerReference,
  defaultLeaseDurationSeconds,
  leaseNamespace,
  type NodeLeaseControllerOptions,
} from './controller.js';
