// What the kubelet's upper layers (PLEG, pod workers, housekeeping) ask of the runtime manager
// (models the parts of kubecontainer.Runtime they use). Implemented by kuberuntime over any
// runtime/Runtime; faked in unit tests.

import type { RuntimePod, RuntimePodStatus } from './types.js';

export interface PodStatusProvider {
  /** Pods the runtime knows, grouped by pod UID label. all=false: only pods with running containers or ready sandboxes. */
  getPods(all: boolean): Promise<RuntimePod[]>;
  /**
   * Full status of one pod, read from the runtime now. `listed`: the pod as a listing just found
   * it (the PLEG's relist), which saves listing again; without it the pod's sandboxes and
   * containers are listed by its UID label.
   */
  getPodStatus(uid: string, name: string, namespace: string, listed?: RuntimePod): Promise<RuntimePodStatus>;
}
