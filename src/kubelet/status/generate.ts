// The API status of a pod from what the runtime says (models pkg/kubelet/kubelet_pods.go
// generateAPIPodStatus + convertStatusToAPIStatus, with the status manager's rules that belong to
// the result: stable lastTransitionTime, stable startTime, no way back from a terminal phase).
// A pure function: the pod worker calls it with the PLEG's cached runtime status, the reason cache,
// the prober's results and the previous status, and hands the result to the StatusManager.
//
// Differences from upstream:
// - no pod sync handlers (eviction sets its own status), no resize/resource/volume-mount status,
//   no ephemeral containers, no PodReadyToStartContainers, no observedGeneration;
// - startTime is set here (upstream: in the status manager; the manager keeps it stable too);
// - pod IPs: runtimeStatus.ips, else the newest ready sandbox's; with none and no ready sandbox,
//   the old status's IPs are kept (upstream does that in the PLEG and in SyncTerminatingPod);
// - hostIP is given, not looked up; a host-network pod without IPs gets hostIP as its pod IP
//   (single stack: one host IP);
// - see containers.ts and phase.ts for theirs.

import { isIP } from 'node:net';
import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodIP, V1PodStatus } from '@kubernetes/client-node';
import { getPodQOSClass } from '../../api/qos.js';
import type { RuntimePodStatus } from '../container/types.js';
import {
  DisruptionTarget,
  KUBELET_CONDITIONS,
  PodScheduled,
  generateContainersReadyCondition,
  generatePodInitializedCondition,
  generatePodReadyCondition,
  isKubeletCondition,
  updateLastTransitionTime,
} from './conditions.js';
import { convertContainerStatuses, type WaitingReason } from './containers.js';
import { getPhase, isPhaseTerminal } from './phase.js';

export interface GeneratePodStatusInput {
  pod: V1Pod;
  /** What the runtime knows of the pod now (the PLEG cache's entry). */
  runtimeStatus: RuntimePodStatus;
  /** The status the kubelet last generated for this pod (StatusManager); defaults to pod.status. */
  oldStatus?: V1PodStatus;
  /** Why containers that should run are not (reason cache), by container name. */
  reasons: ReadonlyMap<string, WaitingReason>;
  /** Readiness probe result by CRI container ID; undefined: no result yet. */
  readiness: (containerId: string) => boolean | undefined;
  /** Startup probe result by CRI container ID; undefined: no result yet. */
  started?: (containerId: string) => boolean | undefined;
  /** The node's IP. */
  hostIP: string;
  /** ms since the epoch: the transition time of conditions that change, the first startTime. */
  nowMs: number;
  /** The pod worker decided no container will run again: stopped containers make it terminal. */
  podIsTerminal?: boolean;
  /** The prefix of container IDs (`containerd://...`). */
  runtimeName?: string;
}

/** Succeeded or Failed: nothing of the pod will run again. */
export function isPodTerminal(status: V1PodStatus | undefined): boolean {
  return isPhaseTerminal(status?.phase);
}

function family(ip: string): 4 | 6 | 0 {
  const f = isIP(ip);
  return f === 4 || f === 6 ? f : 0;
}

/**
 * At most two pod IPs: the first of the host IP's family (IPv4 when unknown), then the first of
 * the other family (kubelet sortPodIPs).
 */
export function sortPodIPs(ips: readonly string[], hostIP: string): string[] {
  const primary = family(hostIP) === 6 ? 6 : 4;
  const secondary = primary === 4 ? 6 : 4;
  const out: string[] = [];
  const p = ips.find((ip) => family(ip) === primary);
  if (p) out.push(p);
  const s = ips.find((ip) => family(ip) === secondary);
  if (s) out.push(s);
  return out;
}

function podIPsFor(input: GeneratePodStatusInput, old: V1PodStatus): string[] {
  const rs = input.runtimeStatus;
  let ips = rs.ips.filter((ip) => ip !== '');
  const newest = rs.sandboxStatuses[0];
  if (ips.length === 0 && newest && newest.state === 'ready' && !newest.hostNetwork) {
    ips = [newest.ip, ...newest.additionalIps].filter((ip) => ip !== '');
  }
  let sorted = sortPodIPs(ips, input.hostIP);
  if (sorted.length === 0 && !rs.sandboxStatuses.some((s) => s.state === 'ready')) {
    // the sandbox is gone or stopped: its IPs are no longer reported, but they were the pod's
    sorted = (old.podIPs ?? []).map((p) => p.ip).filter((ip) => ip !== '');
    if (sorted.length === 0 && old.podIP) sorted = [old.podIP];
  }
  if (sorted.length === 0 && input.pod.spec?.hostNetwork === true && input.hostIP) sorted = [input.hostIP];
  return sorted;
}

/** Builds the API status of a pod (kubelet generateAPIPodStatus). */
export function generatePodStatus(input: GeneratePodStatusInput): V1PodStatus {
  const { pod } = input;
  const apiStatus: V1PodStatus = pod.status ?? {};
  const old: V1PodStatus = input.oldStatus ?? apiStatus;
  const now = new Date(input.nowMs);
  const common = {
    pod,
    runtimeStatus: input.runtimeStatus,
    reasons: input.reasons,
    readiness: input.readiness,
    started: input.started ?? ((): boolean | undefined => undefined),
    runtimeName: input.runtimeName ?? 'containerd',
  };

  const initContainers = pod.spec?.initContainers ?? [];
  const initStatuses = convertContainerStatuses({
    ...common,
    previous: old.initContainerStatuses,
    containers: initContainers,
    isInit: true,
    initDone: false,
  });
  const containerStatuses = convertContainerStatuses({
    ...common,
    previous: old.containerStatuses,
    containers: pod.spec?.containers ?? [],
    isInit: false,
    initDone: initStatuses.every((s) => s.ready),
  });

  // phase, never back from a terminal one
  let phase: string = getPhase(pod, [...containerStatuses, ...initStatuses], input.podIsTerminal ?? false);
  if (!isPhaseTerminal(phase)) {
    if (isPhaseTerminal(old.phase)) phase = old.phase;
    else if (isPhaseTerminal(apiStatus.phase)) phase = apiStatus.phase;
  }
  const status: V1PodStatus = { phase };
  if (phase === old.phase) {
    // the reason and message go with the phase
    const reason = old.reason || apiStatus.reason;
    const message = old.message || apiStatus.message;
    if (reason) status.reason = reason;
    if (message) status.message = message;
  }
  if (isPhaseTerminal(apiStatus.phase) && status.phase !== apiStatus.phase) status.phase = apiStatus.phase;
  const finalPhase = status.phase ?? phase;

  // conditions: others' kept, DisruptionTarget carried, the kubelet's generated
  const conditions: V1PodCondition[] = [];
  for (const c of apiStatus.conditions ?? []) {
    if (!isKubeletCondition(c.type)) conditions.push(structuredClone(c));
  }
  const disruption = old.conditions?.find((c) => c.type === DisruptionTarget);
  if (disruption) {
    const i = conditions.findIndex((c) => c.type === DisruptionTarget);
    if (i >= 0) conditions[i] = structuredClone(disruption);
    else conditions.push(structuredClone(disruption));
  }
  const all: V1ContainerStatus[] = [...initStatuses, ...containerStatuses];
  conditions.push(generatePodInitializedCondition(pod, all, finalPhase));
  conditions.push(generatePodReadyCondition(pod, conditions, all, finalPhase));
  conditions.push(generateContainersReadyCondition(pod, all, finalPhase));
  conditions.push({ type: PodScheduled, status: 'True' });
  status.conditions = conditions;
  for (const type of KUBELET_CONDITIONS) updateLastTransitionTime(status, old, type, now);

  if (input.hostIP) {
    status.hostIP = input.hostIP;
    status.hostIPs = [{ ip: input.hostIP }];
  }
  const ips = podIPsFor(input, old);
  if (ips.length > 0) {
    status.podIP = ips[0]!;
    status.podIPs = ips.map((ip): V1PodIP => ({ ip }));
  }
  const startTime = old.startTime ?? apiStatus.startTime;
  status.startTime = startTime ? new Date(startTime.getTime()) : now;
  if (initContainers.length > 0) status.initContainerStatuses = initStatuses;
  status.containerStatuses = containerStatuses;
  status.qosClass = apiStatus.qosClass || old.qosClass || getPodQOSClass(pod);
  return status;
}
