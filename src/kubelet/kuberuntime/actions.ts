// computePodActions: what a pod needs from the runtime right now (models
// kuberuntime_manager.go computePodActions + findNextInitContainerToRun, before sidecar
// containers). A pure function of the pod spec and the runtime's status of the pod; executing the
// actions is manager.ts's job.

import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { hashContainer } from '../../api/hash.js';
import type { RuntimeContainerStatus, RuntimePodStatus } from '../container/types.js';

export interface ContainerToKill {
  name: string;
  /** Why, for events and logs (the kubelet's kill messages). */
  message: string;
  reason: 'SpecChanged' | 'Unhealthy' | 'StartupProbeFailed' | 'UnknownState' | 'PodSandboxChanged' | 'Unknown';
}

export interface PodActions {
  /** Kill every container and the sandbox (the sandbox changed, or nothing should run any more). */
  killPod: boolean;
  createSandbox: boolean;
  /** The ready sandbox to start containers in ('' when one must be created). */
  sandboxId: string;
  /** Attempt number of the sandbox to create. */
  attempt: number;
  /** Why a new sandbox is needed ('' when none is). */
  sandboxReason: string;
  nextInitContainerToStart?: V1Container;
  /** Indexes into spec.containers. */
  containersToStart: number[];
  /** Keyed by container ID. */
  containersToKill: Map<string, ContainerToKill>;
}

/** A failed probe that asks for a container restart (from the prober; none before probes exist). */
export type ProbeVerdict = (containerId: string) => { kind: 'liveness' | 'startup'; message: string } | undefined;

export function isHostNetwork(pod: V1Pod): boolean {
  return pod.spec?.hostNetwork === true;
}

export function restartPolicy(pod: V1Pod): 'Always' | 'OnFailure' | 'Never' {
  const p = pod.spec?.restartPolicy;
  return p === 'OnFailure' || p === 'Never' ? p : 'Always';
}

export function shouldRestartOnFailure(pod: V1Pod): boolean {
  return restartPolicy(pod) !== 'Never';
}

function containerSucceeded(c: V1Container, status: RuntimePodStatus): boolean {
  const s = status.containerStatuses.find((x) => x.name === c.name);
  return !!s && s.state === 'exited' && s.exitCode === 0;
}

function isInitContainerFailed(s: RuntimeContainerStatus): boolean {
  if (s.state === 'exited' && s.exitCode !== 0) return true;
  if (s.state === 'unknown') return true;
  return false;
}

/** Should a container that is not running be (re)started? (kubelet's ShouldContainerBeRestarted) */
export function shouldContainerBeRestarted(container: V1Container, pod: V1Pod, status: RuntimePodStatus): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const s = status.containerStatuses.find((x) => x.name === container.name);
  if (!s) return true;
  if (s.state === 'running') return false;
  if (s.state === 'unknown' || s.state === 'created') return true;
  const policy = restartPolicy(pod);
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && s.exitCode === 0) return false;
  return true;
}

/** Why the pod needs a new sandbox: returns [create, attempt, existing sandbox ID, reason]. */
export function podSandboxChanged(pod: V1Pod, status: RuntimePodStatus): [boolean, number, string, string] {
  const sandboxes = status.sandboxStatuses;
  if (sandboxes.length === 0) return [true, 0, '', 'no sandbox'];
  const newest = sandboxes[0]!;
  const readyCount = sandboxes.filter((s) => s.state === 'ready').length;
  if (readyCount > 1) return [true, newest.attempt + 1, newest.id, 'more than one sandbox is ready'];
  if (newest.state !== 'ready') return [true, newest.attempt + 1, newest.id, 'sandbox is not ready'];
  if (newest.hostNetwork !== isHostNetwork(pod)) return [true, newest.attempt + 1, '', 'sandbox network namespace changed'];
  if (!isHostNetwork(pod) && !newest.ip) return [true, newest.attempt + 1, newest.id, 'sandbox has no IP address'];
  return [false, newest.attempt, newest.id, ''];
}

/**
 * The next init container to run: [last status of an init container, next to start, all done].
 * (kubelet's findNextInitContainerToRun)
 */
export function findNextInitContainerToRun(pod: V1Pod, status: RuntimePodStatus): [RuntimeContainerStatus | undefined, V1Container | undefined, boolean] {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return [undefined, undefined, true];
  // any regular container running: initialization is over
  for (const c of pod.spec?.containers ?? []) {
    const s = status.containerStatuses.find((x) => x.name === c.name);
    if (s?.state === 'running') return [undefined, undefined, true];
  }
  // a failed init container is retried first
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = status.containerStatuses.find((x) => x.name === inits[i]!.name);
    if (s && isInitContainerFailed(s)) return [s, inits[i], false];
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = status.containerStatuses.find((x) => x.name === inits[i]!.name);
    if (!s) continue;
    if (s.state === 'running' || s.state === 'created') return [undefined, undefined, false];
    if (s.state === 'exited') {
      if (i === inits.length - 1) return [undefined, undefined, true];
      return [s, inits[i + 1], false];
    }
  }
  return [undefined, inits[0], false];
}

export function computePodActions(pod: V1Pod, status: RuntimePodStatus, probeVerdict: ProbeVerdict = () => undefined): PodActions {
  const [createSandbox, attempt, sandboxId, sandboxReason] = podSandboxChanged(pod, status);
  const actions: PodActions = {
    killPod: createSandbox,
    createSandbox,
    sandboxId,
    attempt,
    sandboxReason,
    containersToStart: [],
    containersToKill: new Map(),
  };
  const containers = pod.spec?.containers ?? [];

  if (createSandbox) {
    if (!shouldRestartOnFailure(pod) && attempt !== 0 && status.containerStatuses.length !== 0) {
      // a pod that must not restart does not get a second sandbox
      actions.createSandbox = false;
      return actions;
    }
    const toStart: number[] = [];
    containers.forEach((c, i) => {
      if (restartPolicy(pod) === 'OnFailure' && containerSucceeded(c, status)) return;
      toStart.push(i);
    });
    if (toStart.length === 0) {
      const [, , done] = findNextInitContainerToRun(pod, status);
      if (done) {
        actions.createSandbox = false;
        return actions;
      }
    }
    if ((pod.spec?.initContainers ?? []).length > 0) {
      actions.nextInitContainerToStart = pod.spec!.initContainers![0];
      return actions;
    }
    actions.containersToStart = toStart;
    return actions;
  }

  const [initLast, nextInit, initDone] = findNextInitContainerToRun(pod, status);
  if (!initDone) {
    if (nextInit) {
      const initFailed = initLast !== undefined && isInitContainerFailed(initLast);
      if (initFailed && !shouldRestartOnFailure(pod)) {
        actions.killPod = true;
      } else {
        if (initLast?.state === 'unknown') {
          actions.containersToKill.set(initLast.id, { name: initLast.name, message: 'Init container is in unknown state, try killing it before restart', reason: 'UnknownState' });
        }
        actions.nextInitContainerToStart = nextInit;
      }
    }
    return actions;
  }

  let keepCount = 0;
  containers.forEach((c, idx) => {
    const s = status.containerStatuses.find((x) => x.name === c.name);
    if (!s || s.state !== 'running') {
      if (s?.state === 'unknown') {
        actions.containersToKill.set(s.id, { name: c.name, message: 'Container is in unknown state, try killing it before restart', reason: 'UnknownState' });
      }
      if (shouldContainerBeRestarted(c, pod, status)) actions.containersToStart.push(idx);
      return;
    }
    let message = '';
    let reason: ContainerToKill['reason'] = 'Unknown';
    let restart = shouldRestartOnFailure(pod);
    const verdict = probeVerdict(s.id);
    if (s.hash && s.hash !== hashContainer(c)) {
      message = `Container ${c.name} definition changed`;
      reason = 'SpecChanged';
      restart = true; // a changed spec restarts whatever the policy
    } else if (verdict) {
      message = verdict.message;
      reason = verdict.kind === 'liveness' ? 'Unhealthy' : 'StartupProbeFailed';
    } else {
      keepCount++;
      return;
    }
    if (restart) actions.containersToStart.push(idx);
    actions.containersToKill.set(s.id, { name: c.name, message: restart ? `${message}, will be restarted` : message, reason });
  });

  if (keepCount === 0 && actions.containersToStart.length === 0) actions.killPod = true;
  return actions;
}
