// The pod phase (models pkg/kubelet/kubelet_pods.go getPhase as of Kubernetes 1.27: before
// sidecar containers and per-container restart rules).
//
// Differences from upstream: with podIsTerminal, static pods get a terminal phase too (upstream
// leaves them Running/Pending, kubernetes#116484; in standalone mode every pod is static).

import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export function isPhaseTerminal(phase: string | undefined): phase is 'Succeeded' | 'Failed' {
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The phase of a pod from its API container statuses (init and regular, in any order).
 * podIsTerminal: the pod worker decided no container will run again (deleted, evicted, done),
 * so a pod whose containers have all stopped is Succeeded or Failed whatever its restartPolicy.
 */
export function getPhase(pod: V1Pod, statuses: readonly V1ContainerStatus[], podIsTerminal = false): PodPhase {
  const spec = pod.spec;
  const restartPolicy = spec?.restartPolicy ?? 'Always';
  const find = (name: string): V1ContainerStatus | undefined => statuses.find((s) => s.name === name);

  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const c of spec?.initContainers ?? []) {
    const s = find(c.name);
    if (!s) {
      pendingInitialization++;
      continue;
    }
    if (s.state?.running) {
      pendingInitialization++;
    } else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInitialization++;
      } else {
        pendingInitialization++;
      }
    } else {
      pendingInitialization++;
    }
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec?.containers ?? []) {
    const s = find(c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) {
      running++;
    } else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else {
      unknown++;
    }
  }

  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';

  if (pendingInitialization > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    // all containers are restarting
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    // OnFailure, at least one failed and is restarting
    return 'Running';
  }
  return 'Pending';
}
