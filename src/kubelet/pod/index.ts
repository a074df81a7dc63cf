// kubelet/pod: mirror pods, the API server's copies of static pods (models pkg/kubelet/pod:
// mirror_client.go, and the mirror-pod decisions of kubelet.go / kubelet_pods.go).
export {
  MirrorClient,
  buildMirrorPod,
  decideMirrorPods,
  isMirrorPodOf,
  staticPodHash,
  type MirrorAction,
  type MirrorClientOptions,
  type MirrorDecisionInput,
  type MirrorPodRef,
} from './mirror.js';
