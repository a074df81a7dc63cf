// How kubectl prints a pod in `get pods`: the READY / STATUS / RESTARTS / AGE columns (models
// kubernetes pkg/printers/internalversion/printers.go printPod) and apimachinery's
// duration.HumanDuration for ages.
//
// Pure functions over a v1 Pod as the local API serves it. The JSON carries times as RFC 3339
// strings although @kubernetes/client-node types them as Date, so every time goes through toMs().

import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** The config.seen annotation (kubelet types.ConfigFirstSeenAnnotationKey). */
const ConfigSeenAnnotation = 'kubernetes.io/config.seen';
/** pod.status.reason the node lifecycle controller sets on pods of an unreachable node. */
const NodeUnreachablePodReason = 'NodeLost';

/** Milliseconds since the epoch of a JSON time (string or Date), undefined when absent or unparsable. */
export function toMs(t: unknown): number | undefined {
  if (t === undefined || t === null || t === '') return undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' || typeof t === 'number' ? new Date(t).getTime() : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** apimachinery duration.HumanDuration: `45s`, `3m12s`, `15m`, `5h3m`, `20h`, `2d3h`, `30d`, `2y10d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** kubectl's translateTimestampSince: `<unknown>` for a missing time, else the HumanDuration since it. */
export function translateTimestampSince(t: unknown, nowMs: number): string {
  const ms = toMs(t);
  return ms === undefined ? '<unknown>' : humanDuration(nowMs - ms);
}

/** When the pod came to be: creationTimestamp, else status.startTime, else the config.seen annotation. */
export function podCreatedMs(pod: V1Pod): number | undefined {
  return toMs(pod.metadata?.creationTimestamp) ?? toMs(pod.status?.startTime) ?? toMs(pod.metadata?.annotations?.[ConfigSeenAnnotation]);
}

export function podAge(pod: V1Pod, nowMs: number): string {
  const ms = podCreatedMs(pod);
  return ms === undefined ? '<unknown>' : humanDuration(nowMs - ms);
}

function isRestartableInitContainer(c: V1Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(pod: V1Pod, type: string): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export interface PodStatusColumns {
  name: string;
  ready: string;
  status: string;
  restarts: string;
  age: string;
  ip: string;
  node: string;
}

/** The columns of `kubectl get pods [-o wide]` for one pod, as printPod computes them. */
export function podStatusColumns(pod: V1Pod, nowMs: number): PodStatusColumns {
  const spec = pod.spec;
  const status = pod.status ?? {};
  let restarts = 0;
  let restartableInitContainerRestarts = 0;
  let totalContainers = spec?.containers?.length ?? 0;
  let readyContainers = 0;
  let lastRestartDate: number | undefined;
  let lastRestartableInitContainerRestartDate: number | undefined;
  const later = (a: number | undefined, b: number | undefined): number | undefined => (b !== undefined && (a === undefined || b > a) ? b : a);

  const podPhase = status.phase ?? '';
  let reason = status.reason || podPhase;

  // A pod held back by a scheduling gate says so.
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initContainers = new Map<string, V1Container>();
  for (const c of spec?.initContainers ?? []) {
    initContainers.set(c.name, c);
    if (isRestartableInitContainer(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const container = initStatuses[i]!;
    restarts += container.restartCount ?? 0;
    const lastTerminated = container.lastState?.terminated;
    if (lastTerminated) lastRestartDate = later(lastRestartDate, toMs(lastTerminated.finishedAt));
    const restartable = isRestartableInitContainer(initContainers.get(container.name));
    if (restartable) {
      restartableInitContainerRestarts += container.restartCount ?? 0;
      if (lastTerminated) lastRestartableInitContainerRestartDate = later(lastRestartableInitContainerRestartDate, toMs(lastTerminated.finishedAt));
    }
    const terminated = container.state?.terminated;
    const waiting = container.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (restartable && container.started === true) {
      if (container.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      // initialization failed
      if (!terminated.reason) reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`;
      else reason = `Init:${terminated.reason}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${spec?.initContainers?.length ?? 0}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = restartableInitContainerRestarts;
    lastRestartDate = lastRestartableInitContainerRestartDate;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i]!;
      restarts += container.restartCount ?? 0;
      const lastTerminated = container.lastState?.terminated;
      if (lastTerminated) lastRestartDate = later(lastRestartDate, toMs(lastTerminated.finishedAt));
      const waiting = container.state?.waiting;
      const terminated = container.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      else if (container.ready && container.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // Back to "Running" while at least one container still runs.
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null;
  if (deleting && status.reason === NodeUnreachablePodReason) reason = 'Unknown';
  else if (deleting && podPhase !== 'Succeeded' && podPhase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestartDate !== undefined) restartsStr = `${restarts} (${humanDuration(nowMs - lastRestartDate)} ago)`;

  return {
    name: pod.metadata?.name ?? '',
    ready: `${readyContainers}/${totalContainers}`,
    status: reason,
    restarts: restartsStr,
    age: podAge(pod, nowMs),
    ip: status.podIPs?.[0]?.ip || status.podIP || '<none>',
    node: spec?.nodeName || '<none>',
  };
}

/** The NOMINATED NODE column of `-o wide`. */
export function podNominatedNode(pod: V1Pod): string {
  return pod.status?.nominatedNodeName || '<none>';
}

/** The READINESS GATES column of `-o wide`: `<none>`, or true gates / all gates. */
export function podReadinessGates(pod: V1Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  let trueConditions = 0;
  for (const g of gates) {
    const c = (pod.status?.conditions ?? []).find((x) => x.type === g.conditionType);
    if (c?.status === 'True') trueConditions++;
  }
  return `${trueConditions}/${gates.length}`;
}
