// Container statuses for the API (models pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses
// plus the ready/started half of the prober manager's UpdatePodStatus), before sidecar containers.
//
// Differences from upstream:
// - statuses come out in spec order for regular containers too (upstream sorts them by name);
// - `image` is always the spec's image (upstream shows the runtime's, which kuberuntime fills from
//   the spec annotation anyway); resources, volumeMounts, user, stopSignal and
//   allocatedResources are not reported; no ephemeral containers;
// - a regular container without any runtime status shows PodInitializing only while the init
//   containers have not all completed, ContainerCreating after (upstream: PodInitializing whenever
//   the pod has init containers);
// - when the runtime holds only the newest container of a name (the previous one was garbage
//   collected), lastState is carried from the old API status instead of being dropped: the old
//   lastState when the container ID is unchanged, the old terminated state when it changed;
// - `ready` needs `started` and, with a readiness probe, a successful result (the prober's
//   "trigger a probe now" side effect is the prober's business, not ours).

import type { V1Container, V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { RuntimeContainerStatus, RuntimePodStatus } from '../container/types.js';

/** Why a container that should be running is not: the kubelet's reasonCache entry. */
export interface WaitingReason {
  reason: string;
  message: string;
}

export const ContainerCreating = 'ContainerCreating';
export const PodInitializing = 'PodInitializing';
export const ContainerStatusUnknown = 'ContainerStatusUnknown';

export interface ConvertContainersInput {
  pod: V1Pod;
  runtimeStatus: RuntimePodStatus;
  /** The same list (init or regular) from the previous API status. */
  previous: readonly V1ContainerStatus[] | undefined;
  containers: readonly V1Container[];
  isInit: boolean;
  /** Regular containers only: whether every init container has completed. */
  initDone: boolean;
  reasons: ReadonlyMap<string, WaitingReason>;
  readiness: (containerId: string) => boolean | undefined;
  started: (containerId: string) => boolean | undefined;
  runtimeName: string;
}

/** ms since the epoch (0 = unset) to a Date. */
export function toDate(ms: number): Date | undefined {
  return ms > 0 ? new Date(ms) : undefined;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The runtime's reason for an exit, or the containerd-style default. */
export function terminationReason(cs: Pick<RuntimeContainerStatus, 'reason' | 'exitCode'>): string {
  if (cs.reason) return cs.reason;
  return cs.exitCode === 0 ? 'Completed' : 'Error';
}

/** kubecontainer.ShouldContainerBeRestarted. */
export function shouldContainerBeRestarted(pod: V1Pod, name: string, newest: RuntimeContainerStatus | undefined): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (!newest) return true;
  if (newest.state === 'running') return false;
  if (newest.state === 'unknown' || newest.state === 'created') return true;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && newest.exitCode === 0) return false;
  return true;
}

/** Runtime statuses of one name, newest first (by creation time; stable for equal times). */
function runtimeStatusesByName(status: RuntimePodStatus): Map<string, RuntimeContainerStatus[]> {
  const sorted = status.containerStatuses
    .map((cs, i) => ({ cs, i }))
    .sort((a, b) => b.cs.createdAt - a.cs.createdAt || a.i - b.i)
    .map((x) => x.cs);
  const out = new Map<string, RuntimeContainerStatus[]>();
  for (const cs of sorted) {
    const list = out.get(cs.name);
    if (list) list.push(cs);
    else out.set(cs.name, [cs]);
  }
  return out;
}

/** Whether any regular container of the pod exists in the runtime (kuberuntime.HasAnyRegularContainerCreated). */
export function hasAnyRegularContainerCreated(pod: V1Pod, byName: Map<string, RuntimeContainerStatus[]>): boolean {
  for (const c of pod.spec?.containers ?? []) {
    const s = byName.get(c.name)?.[0];
    if (s && (s.state === 'created' || s.state === 'running' || s.state === 'exited')) return true;
  }
  return false;
}

function convertOne(
  spec: V1Container,
  cs: RuntimeContainerStatus,
  old: V1ContainerStatus | undefined,
  runtimeName: string,
): V1ContainerStatus {
  const containerID = `${runtimeName}://${cs.id}`;
  const status: V1ContainerStatus = {
    name: spec.name,
    image: spec.image ?? '',
    imageID: cs.imageRef,
    containerID,
    restartCount: cs.restartCount,
    ready: false,
    state: {},
    lastState: {},
  };
  switch (cs.state) {
    case 'running': {
      const startedAt = toDate(cs.startedAt);
      status.state = { running: startedAt ? { startedAt } : {} };
      break;
    }
    case 'created':
      // created but not started: "waiting to be running", with no reason of its own
      status.state = { waiting: {} };
      break;
    case 'exited': {
      const t: NonNullable<V1ContainerState['terminated']> = {
        exitCode: cs.exitCode,
        reason: terminationReason(cs),
        containerID,
      };
      if (cs.message) t.message = cs.message;
      const startedAt = toDate(cs.startedAt);
      if (startedAt) t.startedAt = startedAt;
      const finishedAt = toDate(cs.finishedAt);
      if (finishedAt) t.finishedAt = finishedAt;
      status.state = { terminated: t };
      break;
    }
    default:
      if (old?.state?.running) {
        // It was running and the runtime lost track of it: it ran, so it is terminated (never
        // "waiting", which would let a run-once pod run twice).
        status.state = {
          terminated: {
            reason: ContainerStatusUnknown,
            message: 'The container could not be located when the pod was terminated',
            exitCode: 137,
          },
        };
        status.restartCount = old.restartCount + 1;
      } else {
        status.state = { waiting: {} };
      }
  }
  return status;
}

/**
 * Builds the API statuses of one list of containers (init or regular), in spec order, one for
 * every spec container. `ready` and `started` are set (the prober manager's UpdatePodStatus).
 */
export function convertContainerStatuses(input: ConvertContainersInput): V1ContainerStatus[] {
  const { pod, runtimeStatus, containers, isInit, reasons, runtimeName } = input;
  const hasInit = (pod.spec?.initContainers ?? []).length > 0;
  const oldByName = new Map<string, V1ContainerStatus>();
  for (const s of input.previous ?? []) oldByName.set(s.name, s);
  const byName = runtimeStatusesByName(runtimeStatus);

  // Defaults: waiting, with restart count and last state carried from the old status.
  const defaultReason = isInit ? PodInitializing : hasInit && !input.initDone ? PodInitializing : ContainerCreating;
  const statuses = new Map<string, V1ContainerStatus>();
  for (const c of containers) {
    let status: V1ContainerStatus = {
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: defaultReason } },
    };
    const old = oldByName.get(c.name);
    if (old) {
      if (old.state?.terminated) {
        status = clone(old);
      } else {
        status.restartCount = old.restartCount;
        if (old.lastState && Object.keys(old.lastState).length > 0) status.lastState = clone(old.lastState);
      }
    }
    statuses.set(c.name, status);
  }

  // Containers the runtime no longer has, that used to be running: they terminated, we don't know how.
  for (const c of containers) {
    if (byName.has(c.name)) continue;
    const old = oldByName.get(c.name);
    if (!old || old.state?.terminated || !old.state?.running) continue;
    const status = statuses.get(c.name)!;
    if (status.state?.waiting?.reason !== defaultReason || status.lastState?.terminated) continue;
    status.lastState = {
      terminated: {
        reason: ContainerStatusUnknown,
        message: 'The container could not be located when the pod was deleted.  The container used to be Running',
        exitCode: 137,
      },
    };
    if (!pod.metadata?.deletionTimestamp) status.restartCount += 1;
  }

  // What the runtime says: the newest container is the state, the one before it the last state.
  for (const c of containers) {
    const list = byName.get(c.name);
    if (!list || list.length === 0) continue;
    const old = oldByName.get(c.name);
    const status = convertOne(c, list[0]!, old, runtimeName);
    if (list[1]) {
      status.lastState = convertOne(c, list[1], old, runtimeName).state ?? {};
    } else if (old) {
      if (old.containerID === status.containerID) {
        if (old.lastState?.terminated) status.lastState = clone(old.lastState);
      } else if (old.containerID && old.state?.terminated) {
        status.lastState = { terminated: clone(old.state.terminated) };
      }
    }
    statuses.set(c.name, status);
  }

  // Containers that should be (re)started show why they are not: CrashLoopBackOff, ErrImagePull...
  const regularCreated = isInit && hasAnyRegularContainerCreated(pod, byName);
  for (const c of containers) {
    const newest = byName.get(c.name)?.[0];
    const status = statuses.get(c.name)!;
    if (isInit) {
      // a successful init container is never run again
      if (newest && newest.state === 'exited' && newest.exitCode === 0) continue;
      // its status is lost (garbage collected, not persisted), but regular containers exist: it completed
      if (!newest && regularCreated && status.state?.waiting) {
        status.state = {
          terminated: {
            reason: 'Completed',
            message: 'Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally',
            exitCode: 0,
          },
        };
        continue;
      }
    }
    if (!shouldContainerBeRestarted(pod, c.name, newest)) continue;
    const why = reasons.get(c.name);
    if (!why) continue;
    if (status.state?.terminated) status.lastState = { terminated: status.state.terminated };
    status.state = { waiting: { reason: why.reason, message: why.message } };
  }

  // ready / started (prober manager UpdatePodStatus)
  const out: V1ContainerStatus[] = [];
  for (const c of containers) {
    const status = statuses.get(c.name)!;
    if (status.lastState && Object.keys(status.lastState).length === 0) delete status.lastState;
    const running = status.state?.running !== undefined;
    const id = runtimeId(status.containerID);
    const started = running && (c.startupProbe ? input.started(id) === true : true);
    status.started = started;
    if (isInit) {
      status.ready = status.state?.terminated?.exitCode === 0;
    } else {
      status.ready = started && (c.readinessProbe ? input.readiness(id) === true : true);
    }
    out.push(status);
  }
  return out;
}

/** `containerd://abc` -> `abc` (the CRI ID the prober results are keyed by). */
export function runtimeId(containerID: string | undefined): string {
  if (!containerID) return '';
  const i = containerID.indexOf('://');
  return i >= 0 ? containerID.slice(i + 3) : containerID;
}
