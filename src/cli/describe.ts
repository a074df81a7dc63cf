// `nodelet describe pod NAME`: kubectl describe pod against a running nodelet's local API (GET /pods
// and /events).
//
// The text follows kubectl's describePod (k8s.io/kubectl/pkg/describe/describe.go) line for line:
// the same labels and order, `<none>` for what is empty, times in RFC 1123 with a numeric zone in
// local time, and the alignment of Go's text/tabwriter as kubectl configures it (padding 2), which
// aligns each run of consecutive lines that have a cell in the same column. Events come from
// nodelet's own /events (standalone has no API server to keep them); From is the event's source,
// "kubelet" when it has none.

import { extractFieldPathAsString } from '../api/fieldpath.js';
import type { Command } from 'commander';
import type { V1Container, V1ContainerState, V1ContainerStatus, V1EnvVar, V1Pod, V1Probe, V1Toleration, V1Volume } from '@kubernetes/client-node';
import { getPodQOSClass } from '../api/qos.js';
import { cpuMillis, memoryBytes } from '../api/quantity.js';
import { CommandFailed, defaultNamespace, defaultServer, fetchLocalApi, fetchPods, findPods, notFound, parseResourceArgs, runReporting } from './get.js';
import { toMs, translateTimestampSince } from './podprint.js';

/** An event as /events serves it (RecordedEvent with RFC 3339 times). */
export interface EventItem {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string; fieldPath?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | number;
  lastTimestamp?: string | number;
  source?: { component?: string; host?: string };
  reportingController?: string;
}

// ---- Go's text/tabwriter (minwidth 0, padding 2, pad char ' ', no flags) ----

function cellWidth(s: string): number {
  return Array.from(s).length;
}

/** Aligns tab-separated cells as Go's tabwriter does: a column block is a run of consecutive lines with a cell in that column; a line's last cell is never part of a column. */
export function tabwriterFormat(text: string, padding = 2, minwidth = 0): string {
  const rawLines = text.split('\n');
  const trailingNewline = text.endsWith('\n');
  if (trailingNewline) rawLines.pop();
  const cells = rawLines.map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = cells[i]!;
      let s = '';
      line.forEach((c, j) => {
        s += c;
        if (j < widths.length && j < line.length - 1) s += ' '.repeat(Math.max(0, widths[j]! - cellWidth(c)));
      });
      out.push(s);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= cells[t]!.length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const line = cells[t]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, cellWidth(line[column]!) + padding);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  format(0, cells.length);
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** kubectl's PrefixWriter: each write is prefixed with two spaces per level. */
class PrefixWriter {
  text = '';
  write(level: number, s: string): void {
    this.text += '  '.repeat(level) + s;
  }
}

// ---- formatting helpers ----

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Go's time.RFC1123Z in local time (`Mon, 24 Nov 2026 02:07:25 +0000`); a missing time is Go's zero time. */
export function formatRFC1123Z(t: unknown): string {
  const ms = toMs(t);
  if (ms === undefined) return 'Mon, 01 Jan 0001 00:00:00 +0000';
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${days[d.getDay()]}, ${pad2(d.getDate())} ${months[d.getMonth()]} ${d.getFullYear()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${sign}${pad2(Math.floor(a / 60))}${pad2(a % 60)}`;
}

const printBool = (b: boolean | undefined): string => (b ? 'True' : 'False');
const stringOrNone = (s: string): string => (s === '' ? '<none>' : s);
const maxAnnotationLen = 140;
const skipAnnotations = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

function shorten(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) + '...' : s;
}

function printLabelsMultiline(w: PrefixWriter, title: string, labels: Record<string, string> | undefined): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return void w.write(0, '<none>\n');
  keys.forEach((k, i) => {
    if (i !== 0) w.write(0, '\t');
    w.write(0, `${k}=${labels![k]}\n`);
  });
}

function printAnnotationsMultiline(w: PrefixWriter, title: string, annotations: Record<string, string> | undefined): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(annotations ?? {})
    .filter((k) => !skipAnnotations.has(k))
    .sort();
  if (keys.length === 0) return void w.write(0, '<none>\n');
  const indent = '\t';
  keys.forEach((k, i) => {
    if (i !== 0) w.write(0, indent);
    const value = String(annotations![k]).replace(/\n$/, '');
    if (value.length + k.length + 2 > maxAnnotationLen || value.includes('\n')) {
      w.write(0, `${k}:\n`);
      for (const s of value.split('\n')) w.write(0, `${indent}  ${shorten(s, maxAnnotationLen - 2)}\n`);
    } else {
      w.write(0, `${k}: ${value}\n`);
    }
  });
}

function printTolerationsMultiline(w: PrefixWriter, title: string, tolerations: V1Toleration[] | undefined): void {
  w.write(0, `${title}:\t`);
  const list = [...(tolerations ?? [])].sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0));
  if (list.length === 0) return void w.write(0, '<none>\n');
  list.forEach((t, i) => {
    if (i !== 0) w.write(0, '\t');
    let s = t.key ?? '';
    if (t.value) s += `=${t.value}`;
    if (t.effect) s += `:${t.effect}`;
    if (t.operator === 'Exists' && !t.value) s += t.key || t.effect ? ' op=Exists' : 'op=Exists';
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) s += ` for ${t.tolerationSeconds}s`;
    w.write(0, s + '\n');
  });
}

// ---- containers ----

function describeStatus(w: PrefixWriter, stateName: string, state: V1ContainerState | undefined): void {
  if (state?.running) {
    w.write(2, `${stateName}:\tRunning\n`);
    w.write(3, `Started:\t${formatRFC1123Z(state.running.startedAt)}\n`);
  } else if (state?.waiting) {
    w.write(2, `${stateName}:\tWaiting\n`);
    if (state.waiting.reason) w.write(3, `Reason:\t${state.waiting.reason}\n`);
  } else if (state?.terminated) {
    const t = state.terminated;
    w.write(2, `${stateName}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${t.reason}\n`);
    if (t.message) w.write(3, `Message:\t${t.message}\n`);
    w.write(3, `Exit Code:\t${t.exitCode ?? 0}\n`);
    if (t.signal && t.signal > 0) w.write(3, `Signal:\t${t.signal}\n`);
    w.write(3, `Started:\t${formatRFC1123Z(t.startedAt)}\n`);
    w.write(3, `Finished:\t${formatRFC1123Z(t.finishedAt)}\n`);
  } else {
    w.write(2, `${stateName}:\tWaiting\n`);
  }
}

/** kubectl's DescribeProbe, with the API server's defaults for fields a pod left out. */
export function describeProbe(p: V1Probe): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? 'HTTP').toLowerCase();
    const host = p.httpGet.host ?? '';
    const port = p.httpGet.port === undefined || p.httpGet.port === null ? '' : String(p.httpGet.port);
    const hostPort = port ? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) : host;
    const path = p.httpGet.path ?? '';
    return `http-get ${scheme}://${hostPort}${path && !path.startsWith('/') ? '/' + path : path} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${String(p.tcpSocket.port)} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

/** kubectl's EnvValueRetriever: only metadata fields resolve (fieldpath.ExtractFieldPathAsString). */
function resolveFieldRef(pod: V1Pod, fieldPath: string): string {
  return extractFieldPathAsString(pod, fieldPath) ?? '';
}

/** resourcehelper.ExtractContainerResourceValue: the limit or request divided by the divisor, rounded up. */
function containerResourceValue(c: V1Container, resource: string, divisor: unknown): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  const list = kind === 'limits' ? c.resources?.limits : kind === 'requests' ? c.resources?.requests : undefined;
  const q = name ? list?.[name] : undefined;
  try {
    if (name === 'cpu') {
      const d = divisor === undefined || divisor === null || divisor === '' ? 1000 : cpuMillis(String(divisor));
      return String(Math.ceil((q === undefined ? 0 : cpuMillis(String(q))) / (d || 1000)));
    }
    const d = divisor === undefined || divisor === null || divisor === '' ? 1 : memoryBytes(String(divisor));
    return String(Math.ceil((q === undefined ? 0 : memoryBytes(String(q))) / (d || 1)));
  } catch {
    return '';
  }
}

function describeEnvVar(w: PrefixWriter, pod: V1Pod, c: V1Container, e: V1EnvVar): void {
  const vf = e.valueFrom;
  if (!vf) {
    (e.value ?? '').split('\n').forEach((s, i) => w.write(3, i === 0 ? `${e.name}:\t${s}\n` : `\t${s}\n`));
    return;
  }
  if (vf.fieldRef) {
    w.write(3, `${e.name}:\t${resolveFieldRef(pod, vf.fieldRef.fieldPath)} (${vf.fieldRef.apiVersion ?? 'v1'}:${vf.fieldRef.fieldPath})\n`);
  } else if (vf.resourceFieldRef) {
    const resource = vf.resourceFieldRef.resource;
    let v = containerResourceValue(c, resource, vf.resourceFieldRef.divisor);
    if (v === '0' && (resource === 'limits.cpu' || resource === 'limits.memory')) v = 'node allocatable';
    w.write(3, `${e.name}:\t${v} (${resource})\n`);
  } else if (vf.secretKeyRef) {
    w.write(3, `${e.name}:\t<set to the key '${vf.secretKeyRef.key}' in secret '${vf.secretKeyRef.name ?? ''}'>\tOptional: ${vf.secretKeyRef.optional === true}\n`);
  } else if (vf.configMapKeyRef) {
    w.write(3, `${e.name}:\t<set to the key '${vf.configMapKeyRef.key}' of config map '${vf.configMapKeyRef.name ?? ''}'>\tOptional: ${vf.configMapKeyRef.optional === true}\n`);
  }
}

function describeContainers(w: PrefixWriter, pod: V1Pod, label: string, containers: V1Container[], statuses: V1ContainerStatus[]): void {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  w.write(0, `${label}:${containers.length === 0 ? ' <none>' : ''}\n`);
  for (const c of containers) {
    const st = byName.get(c.name);
    w.write(1, `${c.name}:\n`);
    if (st) w.write(2, `Container ID:\t${st.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image ?? ''}\n`);
    if (st) w.write(2, `Image ID:\t${st.imageID ?? ''}\n`);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ');
    w.write(2, ports.includes(',') ? `Ports:\t${ports}\n` : `Port:\t${stringOrNone(ports)}\n`);
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', ');
    w.write(2, hostPorts.includes(',') ? `Host Ports:\t${hostPorts}\n` : `Host Port:\t${stringOrNone(hostPorts)}\n`);
    if (c.securityContext?.seccompProfile) {
      w.write(2, `SeccompProfile:\t${c.securityContext.seccompProfile.type}\n`);
      if (c.securityContext.seccompProfile.type === 'Localhost') w.write(3, `LocalhostProfile:\t${c.securityContext.seccompProfile.localhostProfile ?? ''}\n`);
    }
    if (c.command?.length) {
      w.write(2, 'Command:\n');
      for (const s of c.command.flatMap((x) => x.split('\n'))) w.write(3, `${s}\n`);
    }
    if (c.args?.length) {
      w.write(2, 'Args:\n');
      for (const s of c.args.flatMap((x) => x.split('\n'))) w.write(3, `${s}\n`);
    }
    if (st) {
      describeStatus(w, 'State', st.state);
      if (st.lastState?.terminated) describeStatus(w, 'Last State', st.lastState);
      w.write(2, `Ready:\t${printBool(st.ready)}\n`);
      w.write(2, `Restart Count:\t${st.restartCount ?? 0}\n`);
    }
    for (const [title, list] of [
      ['Limits', c.resources?.limits],
      ['Requests', c.resources?.requests],
    ] as const) {
      const names = Object.keys(list ?? {}).sort();
      if (names.length) w.write(2, `${title}:\n`);
      for (const n of names) w.write(3, `${n}:\t${String(list![n])}\n`);
    }
    if (c.livenessProbe) w.write(2, `Liveness:\t${describeProbe(c.livenessProbe)}\n`);
    if (c.readinessProbe) w.write(2, `Readiness:\t${describeProbe(c.readinessProbe)}\n`);
    if (c.startupProbe) w.write(2, `Startup:\t${describeProbe(c.startupProbe)}\n`);
    if (c.envFrom?.length) {
      w.write(2, 'Environment Variables from:\n');
      for (const e of c.envFrom) {
        const from = e.configMapRef ? 'ConfigMap' : e.secretRef ? 'Secret' : '';
        const name = e.configMapRef?.name ?? e.secretRef?.name ?? '';
        const optional = (e.configMapRef?.optional ?? e.secretRef?.optional) === true;
        w.write(3, e.prefix ? `${name}\t${from} with prefix '${e.prefix}'\tOptional: ${optional}\n` : `${name}\t${from}\tOptional: ${optional}\n`);
      }
    }
    w.write(2, `Environment:${c.env?.length ? '' : '\t<none>'}\n`);
    for (const e of c.env ?? []) describeEnvVar(w, pod, c, e);
    const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => (a.mountPath < b.mountPath ? -1 : a.mountPath > b.mountPath ? 1 : 0));
    w.write(2, `Mounts:${mounts.length ? '' : '\t<none>'}\n`);
    for (const m of mounts) {
      const flags = [m.readOnly ? 'ro' : 'rw'];
      if (m.subPath) flags.push(`path=${JSON.stringify(m.subPath)}`);
      w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
    }
    if (c.volumeDevices?.length) {
      w.write(2, 'Devices:\n');
      for (const d of [...c.volumeDevices].sort((a, b) => (a.devicePath < b.devicePath ? -1 : 1))) w.write(3, `${d.devicePath} from ${d.name}\n`);
    }
  }
}

// ---- volumes ----

function describeVolume(w: PrefixWriter, v: V1Volume): void {
  if (v.hostPath) {
    w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${v.hostPath.path}\n    HostPathType:\t${v.hostPath.type || '<none>'}\n`);
  } else if (v.emptyDir) {
    const limit = v.emptyDir.sizeLimit !== undefined && v.emptyDir.sizeLimit !== null && String(v.emptyDir.sizeLimit) !== '0' ? String(v.emptyDir.sizeLimit) : '<unset>';
    w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${v.emptyDir.medium ?? ''}\n    SizeLimit:\t${limit}\n`);
  } else if (v.secret) {
    w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${v.secret.secretName ?? ''}\n    Optional:\t${v.secret.optional === true}\n`);
  } else if (v.configMap) {
    w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${v.configMap.name ?? ''}\n    Optional:\t${v.configMap.optional === true}\n`);
  } else if (v.persistentVolumeClaim) {
    w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${v.persistentVolumeClaim.claimName}\n    ReadOnly:\t${v.persistentVolumeClaim.readOnly === true}\n`);
  } else if (v.downwardAPI) {
    w.write(2, 'Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n');
    for (const item of v.downwardAPI.items ?? []) {
      if (item.fieldRef) w.write(3, `${item.fieldRef.fieldPath} -> ${item.path}\n`);
      if (item.resourceFieldRef) w.write(3, `${item.resourceFieldRef.resource} -> ${item.path}\n`);
    }
  } else if (v.projected) {
    w.write(2, 'Type:\tProjected (a volume that contains injected data from multiple sources)\n');
    for (const s of v.projected.sources ?? []) {
      if (s.secret) w.write(2, `SecretName:\t${s.secret.name ?? ''}\n    Optional:\t${s.secret.optional === true}\n`);
      else if (s.downwardAPI) w.write(2, 'DownwardAPI:\ttrue\n');
      else if (s.configMap) w.write(2, `ConfigMapName:\t${s.configMap.name ?? ''}\n    Optional:\t${s.configMap.optional === true}\n`);
      else if (s.serviceAccountToken) w.write(2, `TokenExpirationSeconds:\t${s.serviceAccountToken.expirationSeconds ?? 3600}\n`);
    }
  } else if (v.nfs) {
    w.write(2, `Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t${v.nfs.server}\n    Path:\t${v.nfs.path}\n    ReadOnly:\t${v.nfs.readOnly === true}\n`);
  } else {
    w.write(1, '<unknown>\n');
  }
}

// ---- events ----

function eventSortTime(e: EventItem): number {
  return toMs(e.lastTimestamp) ?? toMs(e.firstTimestamp) ?? 0;
}

function describeEvents(w: PrefixWriter, events: EventItem[], nowMs: number): void {
  if (events.length === 0) return void w.write(0, 'Events:\t<none>\n');
  const sorted = [...events].sort((a, b) => eventSortTime(a) - eventSortTime(b));
  w.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of sorted) {
    const first = translateTimestampSince(e.firstTimestamp, nowMs);
    const interval = (e.count ?? 1) > 1 ? `${translateTimestampSince(e.lastTimestamp, nowMs)} (x${e.count} over ${first})` : first;
    const source = e.source?.component || e.reportingController || 'kubelet';
    w.write(1, `${e.type ?? ''}\t${e.reason ?? ''}\t${interval}\t${source}\t${(e.message ?? '').trim()}\n`);
  }
}

// ---- the pod ----

/** The text of `kubectl describe pod` for one pod; events undefined leaves the Events section out (kubectl --show-events=false). */
export function describePod(pod: V1Pod, events: EventItem[] | undefined, nowMs: number): string {
  const w = new PrefixWriter();
  const spec = pod.spec;
  const status = pod.status ?? {};
  const meta = pod.metadata ?? {};
  w.write(0, `Name:\t${meta.name ?? ''}\n`);
  w.write(0, `Namespace:\t${meta.namespace ?? ''}\n`);
  if (spec?.priority !== undefined && spec.priority !== null) w.write(0, `Priority:\t${spec.priority}\n`);
  if (spec?.priorityClassName) w.write(0, `Priority Class Name:\t${spec.priorityClassName}\n`);
  if (spec?.runtimeClassName) w.write(0, `Runtime Class Name:\t${spec.runtimeClassName}\n`);
  if (spec?.serviceAccountName) w.write(0, `Service Account:\t${spec.serviceAccountName}\n`);
  w.write(0, spec?.nodeName ? `Node:\t${spec.nodeName}/${status.hostIP ?? ''}\n` : 'Node:\t<none>\n');
  if (toMs(status.startTime) !== undefined) w.write(0, `Start Time:\t${formatRFC1123Z(status.startTime)}\n`);
  printLabelsMultiline(w, 'Labels', meta.labels);
  printAnnotationsMultiline(w, 'Annotations', meta.annotations);
  if (meta.deletionTimestamp && status.phase !== 'Failed' && status.phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${translateTimestampSince(meta.deletionTimestamp, nowMs)})\n`);
    if (meta.deletionGracePeriodSeconds !== undefined && meta.deletionGracePeriodSeconds !== null) w.write(0, `Termination Grace Period:\t${meta.deletionGracePeriodSeconds}s\n`);
  } else {
    w.write(0, `Status:\t${status.phase ?? ''}\n`);
  }
  if (status.reason) w.write(0, `Reason:\t${status.reason}\n`);
  if (status.message) w.write(0, `Message:\t${status.message}\n`);
  const seccomp = spec?.securityContext?.seccompProfile;
  if (seccomp) {
    w.write(0, `SeccompProfile:\t${seccomp.type}\n`);
    if (seccomp.type === 'Localhost') w.write(0, `LocalhostProfile:\t${seccomp.localhostProfile ?? ''}\n`);
  }
  w.write(0, `IP:\t${status.podIP ?? ''}\n`);
  if (!status.podIPs?.length) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of status.podIPs) w.write(1, `IP:\t${ip.ip}\n`);
  }
  const controller = meta.ownerReferences?.find((r) => r.controller);
  if (controller) w.write(0, `Controlled By:\t${controller.kind}/${controller.name}\n`);
  if (status.nominatedNodeName) w.write(0, `NominatedNodeName:\t${status.nominatedNodeName}\n`);
  if (spec?.initContainers?.length) describeContainers(w, pod, 'Init Containers', spec.initContainers, status.initContainerStatuses ?? []);
  describeContainers(w, pod, 'Containers', spec?.containers ?? [], status.containerStatuses ?? []);
  if (spec?.readinessGates?.length) {
    w.write(0, 'Readiness Gates:\n  Type\tStatus\n');
    for (const g of spec.readinessGates) {
      const c = status.conditions?.find((x) => x.type === g.conditionType);
      w.write(1, `${g.conditionType} \t${c ? c.status : '<none>'} \n`);
    }
  }
  if (status.conditions?.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of status.conditions) w.write(1, `${c.type} \t${c.status} \n`);
  }
  const volumes = spec?.volumes ?? [];
  if (volumes.length === 0) w.write(0, 'Volumes:\t<none>\n');
  else {
    w.write(0, 'Volumes:\n');
    for (const v of volumes) {
      w.write(1, `${v.name}:\n`);
      describeVolume(w, v);
    }
  }
  w.write(0, `QoS Class:\t${getPodQOSClass(pod)}\n`);
  printLabelsMultiline(w, 'Node-Selectors', spec?.nodeSelector);
  printTolerationsMultiline(w, 'Tolerations', spec?.tolerations);
  if (events) describeEvents(w, events, nowMs);
  return tabwriterFormat(w.text);
}

// ---- the command ----

export interface DescribeOptions {
  namespace?: string;
  server: string;
}

/** Events about the pod: by namespace and name, dropping those of an earlier pod of the same name (another UID). */
async function podEvents(server: string, pod: V1Pod): Promise<EventItem[] | undefined> {
  const q = new URLSearchParams({ namespace: pod.metadata?.namespace ?? defaultNamespace, name: pod.metadata?.name ?? '' });
  try {
    const list = await fetchLocalApi<{ items?: EventItem[] }>(server, `/events?${q.toString()}`);
    const uid = pod.metadata?.uid;
    return (list.items ?? []).filter((e) => !uid || !e.involvedObject?.uid || e.involvedObject.uid === uid);
  } catch (e) {
    if (e instanceof CommandFailed) return undefined;
    throw e;
  }
}

export async function describePods(resource: string, nameArg: string | undefined, o: DescribeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { name } = parseResourceArgs(resource, nameArg);
  const namespace = o.namespace || defaultNamespace;
  const all = (await fetchPods(o.server)).sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  let pods: V1Pod[];
  if (name === undefined) pods = all.filter((p) => (p.metadata?.namespace ?? defaultNamespace) === namespace);
  else {
    pods = findPods(all, name, namespace);
    // As kubectl describe: no pod of that name describes every pod whose name starts with it.
    if (pods.length === 0) pods = all.filter((p) => (p.metadata?.namespace ?? defaultNamespace) === namespace && (p.metadata?.name ?? '').startsWith(name));
    if (pods.length === 0) throw notFound(name);
  }
  if (pods.length === 0) {
    process.stderr.write(`No resources found in ${namespace} namespace.\n`);
    return;
  }
  const texts: string[] = [];
  for (const p of pods) texts.push(describePod(p, await podEvents(o.server, p), Date.now()));
  out.write(texts.join('\n\n'));
}

export function registerDescribeCommands(program: Command): void {
  program
    .command('describe')
    .description('show a pod of a running nodelet in detail with its events, like kubectl describe pod (reads /pods and /events)')
    .argument('<resource>', 'pod (also pods, po, or pod/NAME)')
    .argument('[name]', 'pod name or name prefix (all pods of the namespace when left out); a static pod also answers to the name in its manifest, without the "-<node name>" suffix')
    .option('-n, --namespace <ns>', 'namespace', defaultNamespace)
    .option('--server <url>', "the nodelet's local API (http://healthzBindAddress:healthzPort)", defaultServer)
    .addHelpText(
      'after',
      `
Examples:
  nodelet describe pod web-node1
  nodelet describe pod web             # static pod "web" from a manifest, served as "web-<node name>"
  nodelet describe pod/etcd -n kube-system`,
    )
    .action(async (resource: string, name: string | undefined, o: DescribeOptions) => runReporting(() => describePods(resource, name, o)));
}
