// The Node object the kubelet registers and the status it posts (models pkg/kubelet/nodestatus/setters.go:
// NodeAddress, MachineInfo, VersionInfo, DaemonEndpoints, Images, MemoryPressureCondition,
// DiskPressureCondition, PIDPressureCondition, ReadyCondition; kubelet_node_status.go: initialNode,
// updateDefaultLabels, reconcileCMADAnnotationWithExistingNode, reconcileHugePageResource,
// nodeStatusHasChanged; cm.GetNodeAllocatableReservation / hardEvictionReservation;
// cadvisor.CapacityFromMachineInfo; k8s.io/kubectl taints.ParseTaints as --register-with-taints uses it).
//
// Every function here is pure: machine facts, runtime state and the clock reading come in as
// arguments; the setters mutate the node they are given (as upstream's do) and return the events
// upstream would record (the caller records them once the status reached the API server).
//
// Differences: quantities are held as JS numbers (exact below 2^53 bytes) and written in the
// canonical form resource.Quantity uses (BinarySI for bytes, DecimalSI for cpu and pods); no
// device-plugin / extended resources, volume limits, podsPerCore, cloud provider or swap fields.
// Condition times carry whole seconds, as metav1.Time does on the wire.

import type { V1ContainerImage, V1Node, V1NodeCondition, V1NodeStatus, V1Taint } from '@kubernetes/client-node';
import { parseQuantity, cpuMillis } from '../../api/quantity.js';
import { ValidationError } from '../../util/errors.js';
import { conditionEventReason } from '../eviction/conditions.js';
import { pressureConditions } from '../eviction/index.js';
import { thresholdQuantity, type NodeConditionType, type Threshold } from '../eviction/thresholds.js';

// Well-known labels and annotations (k8s.io/api/core/v1 well_known_labels.go, kubeletapis).
export const LabelHostname = 'kubernetes.io/hostname';
export const LabelOSStable = 'kubernetes.io/os';
export const LabelArchStable = 'kubernetes.io/arch';
export const LabelOSBeta = 'beta.kubernetes.io/os';
export const LabelArchBeta = 'beta.kubernetes.io/arch';
/** The labels the kubelet owns and reconciles on an existing Node (updateDefaultLabels). */
export const defaultLabels: readonly string[] = [
  LabelHostname,
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
  'beta.kubernetes.io/instance-type',
  LabelOSStable,
  LabelArchStable,
  'node.kubernetes.io/windows-build',
  LabelOSBeta,
  LabelArchBeta,
];
export const ControllerManagedAttachAnnotation = 'volumes.kubernetes.io/controller-managed-attach-detach';
export const TaintNodeUnschedulable = 'node.kubernetes.io/unschedulable';

/** nodeStatusMaxImages default, and the names kept per image (maxNamesPerImageInNodeStatus). */
export const defaultMaxImages = 50;
export const maxNamesPerImageInNodeStatus = 5;

/** What the kubelet learns of its machine (cadvisor's MachineInfo / VersionInfo, RootFsInfo). */
export interface MachineFacts {
  numCores: number;
  /** Bytes (MemTotal). */
  memoryCapacity: number;
  /** Bytes of the filesystem holding the kubelet root dir; undefined if it could not be read. */
  rootFsCapacity?: number;
  hugePages: { pageSizeKiB: number; numPages: number }[];
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  /** GOOS / GOARCH names: linux, amd64, arm64. */
  operatingSystem: string;
  architecture: string;
}

/** The kubelet's settings that shape its Node. */
export interface NodeSettings {
  nodeName: string;
  /** The hostname label and the Hostname address (--hostname-override or the machine's). */
  hostname: string;
  /** InternalIP address (--node-ip or detected). */
  nodeIP: string;
  /** --node-labels. */
  nodeLabels?: Record<string, string>;
  /** --register-with-taints (parseTaints). */
  registerWithTaints?: V1Taint[];
  /** --register-schedulable (default true); false adds the unschedulable taint and spec.unschedulable. */
  registerSchedulable?: boolean;
  /** Default true: the controller-managed attach-detach annotation. */
  enableControllerAttachDetach?: boolean;
  providerID?: string;
  maxPods: number;
  /** kubeReserved / systemReserved quantities by resource name ("cpu": "100m", "memory": "1Gi", ...). */
  kubeReserved?: Record<string, string>;
  systemReserved?: Record<string, string>;
  /** Hard eviction thresholds (memory.available and nodefs.available reserve capacity). */
  hardEvictionThresholds?: readonly Threshold[];
  /** With localStorageCapacityIsolation (default true) ephemeral-storage is a required capacity. */
  localStorageCapacityIsolation?: boolean;
  kubeletVersion: string;
  kubeletPort: number;
  /** nodeStatusMaxImages (default 50; -1: no limit). */
  maxImages?: number;
}

/** An image as the image manager lists it (runtime Image). */
export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** Everything the status setters read on one pass. */
export interface StatusInputs {
  /** undefined when the machine facts could not be read (upstream's "Error getting machine info"). */
  machine: MachineFacts | undefined;
  /** From the runtime's Version call; undefined when it failed ("<type>://Unknown"). */
  runtime: { name: string; version: string } | undefined;
  /** Runtime type when the version call failed (containerRuntime.Type()). */
  runtimeType?: string;
  images: readonly ImageInfo[];
  /** Pressure conditions now present (EvictionManager.pressure()). */
  pressure: readonly NodeConditionType[];
  /** Why the node is not ready, as leaf messages in upstream order (runtimeErrors, networkErrors, ...). */
  readyErrors: readonly string[];
}

/** An event upstream records on the Node while setting its status. */
export interface NodeStatusEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

// ---------- quantities ----------

const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const decimalSuffixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** An integer count of bytes as resource.Quantity writes BinarySI: "8148232Ki", "2Mi", "1536"; below 1024 DecimalSI ("0", "1k"). */
export function formatBinarySI(n: number): string {
  n = Math.trunc(n);
  if (n > -1024 && n < 1024) return formatDecimalSI(n);
  let v = n;
  let i = 0;
  while (i < binarySuffixes.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v}${binarySuffixes[i]}`;
}

/** An integer as DecimalSI: "110", "1k", "0". */
export function formatDecimalSI(n: number): string {
  n = Math.trunc(n);
  if (n === 0) return '0';
  let v = n;
  let i = 0;
  while (i < decimalSuffixes.length - 1 && v % 1000 === 0) {
    v /= 1000;
    i++;
  }
  return `${v}${decimalSuffixes[i]}`;
}

/** Milli-units as DecimalSI: 2000 -> "2", 1900 -> "1900m". */
export function formatMilli(milli: number): string {
  milli = Math.trunc(milli);
  return milli % 1000 === 0 ? formatDecimalSI(milli / 1000) : `${milli}m`;
}

export function isHugePageResource(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** A resource value in its base unit (cpu in millicores, others in units). */
function resourceValue(name: string, q: string | number): number {
  return name === 'cpu' ? cpuMillis(q) : Math.ceil(parseQuantity(q, name));
}

function formatResource(name: string, v: number): string {
  if (name === 'cpu') return formatMilli(v);
  if (name === 'pods') return formatDecimalSI(v);
  return formatBinarySI(v);
}

// ---------- taints ----------

const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const errs: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !dns1123SubdomainRe.test(prefix)) {
      errs.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
    }
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!qualifiedNameRe.test(name)) {
    errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  }
  return errs;
}

function parseTaint(spec: string, field: string, source: string): V1Taint {
  const bad = (detail: string): never => {
    throw new ValidationError(source, field, detail);
  };
  const parts = spec.split(':');
  let key = '';
  let value = '';
  let effect = '';
  if (parts.length === 1) {
    key = parts[0]!;
  } else if (parts.length === 2) {
    effect = parts[1]!;
    if (!taintEffects.includes(effect)) bad(`invalid taint effect: ${effect}, unsupported taint effect`);
    const kv = parts[0]!.split('=');
    if (kv.length > 2) bad(`invalid taint spec: ${spec}`);
    key = kv[0]!;
    if (kv.length === 2) {
      value = kv[1]!;
      if (value.length > 63 || !labelValueRe.test(value)) {
        bad(`invalid taint spec: ${spec}, a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)`);
      }
    }
  } else {
    bad(`invalid taint spec: ${spec}`);
  }
  const errs = qualifiedNameErrors(key);
  if (errs.length > 0) bad(`invalid taint spec: ${spec}, ${errs.join('; ')}`);
  return { key, ...(value ? { value } : {}), effect };
}

/**
 * --register-with-taints "key=value:Effect,key2:Effect" (RegisterWithTaintsVar + taints.ParseTaints):
 * every taint needs an effect, <key, effect> pairs are unique, "key-" removal specs are accepted
 * and dropped, "" is no taints. Errors name the flag.
 */
export function parseTaints(flag: string | readonly string[], field = '--register-with-taints', source = 'flag'): V1Taint[] {
  const specs = typeof flag === 'string' ? (flag === '' ? [] : flag.split(',')) : flag;
  const out: V1Taint[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.endsWith('-')) {
      parseTaint(spec.slice(0, -1), field, source);
      continue;
    }
    const t = parseTaint(spec, field, source);
    if (!t.effect) throw new ValidationError(source, field, `invalid taint spec: ${spec}`);
    const k = `${t.effect}\u0000${t.key}`;
    if (seen.has(k)) throw new ValidationError(source, field, `duplicated taints with the same key and effect: ${t.key}${t.value ? '=' + t.value : ''}:${t.effect}`);
    seen.add(k);
    out.push(t);
  }
  return out;
}

// ---------- capacity and allocatable ----------

/** cadvisor.CapacityFromMachineInfo + pods + ephemeral-storage, in base units. */
export function machineCapacity(m: MachineFacts, maxPods: number): Map<string, number> {
  const cap = new Map<string, number>();
  cap.set('cpu', m.numCores * 1000);
  cap.set('memory', m.memoryCapacity);
  for (const hp of m.hugePages) cap.set(`hugepages-${formatBinarySI(hp.pageSizeKiB * 1024)}`, hp.numPages * hp.pageSizeKiB * 1024);
  cap.set('pods', maxPods);
  if (m.rootFsCapacity !== undefined) cap.set('ephemeral-storage', m.rootFsCapacity);
  return cap;
}

/**
 * GetNodeAllocatableReservation: kubeReserved + systemReserved + the hard eviction thresholds
 * (memory.available reserves memory, nodefs.available ephemeral-storage; a percentage is of capacity).
 */
export function allocatableReservation(capacity: ReadonlyMap<string, number>, s: Pick<NodeSettings, 'kubeReserved' | 'systemReserved' | 'hardEvictionThresholds'>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (name: string, v: number): void => {
    out.set(name, (out.get(name) ?? 0) + v);
  };
  for (const reserved of [s.kubeReserved, s.systemReserved]) {
    for (const [name, q] of Object.entries(reserved ?? {})) add(name, resourceValue(name, q));
  }
  for (const t of s.hardEvictionThresholds ?? []) {
    if (t.gracePeriodMs !== 0) continue;
    const resource = t.signal === 'memory.available' ? 'memory' : t.signal === 'nodefs.available' ? 'ephemeral-storage' : undefined;
    if (!resource) continue;
    const cap = capacity.get(resource);
    if (cap === undefined) continue;
    add(resource, thresholdQuantity(t.value, cap));
  }
  return out;
}

/** Allocatable = capacity − reservation (never negative), then memory − hugepages (MachineInfo setter). */
export function computeAllocatable(capacity: ReadonlyMap<string, number>, reservation: ReadonlyMap<string, number>): Map<string, number> {
  const alloc = new Map<string, number>();
  for (const [name, v] of capacity) alloc.set(name, Math.max(0, v - (reservation.get(name) ?? 0)));
  for (const [name, v] of capacity) {
    if (isHugePageResource(name) && alloc.has('memory')) alloc.set('memory', Math.max(0, alloc.get('memory')! - v));
  }
  return alloc;
}

function toResourceList(m: ReadonlyMap<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of m) out[k] = formatResource(k, v);
  return out;
}

// ---------- conditions ----------

/** metav1.Time precision: whole seconds. */
export function metaTime(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function timeSeconds(t: Date | string | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** errors.NewAggregate(errs).Error(): one message as is, several deduplicated in [a, b]. */
export function aggregateMessage(messages: readonly string[]): string {
  const seen: string[] = [];
  for (const m of messages) if (!seen.includes(m)) seen.push(m);
  if (messages.length === 0) return '';
  if (messages.length === 1 || seen.length === 1) return seen[0]!;
  return `[${seen.join(', ')}]`;
}

function nodeStatusEventMessage(nodeName: string, reason: string): string {
  return `Node ${nodeName} status is now: ${reason}`;
}

/** The three pressure condition setters: heartbeat every pass, transition time and event on a change. */
export function setPressureConditions(node: V1Node, pressure: readonly NodeConditionType[], now: number): NodeStatusEvent[] {
  const status = (node.status ??= {});
  const conditions = (status.conditions ??= []);
  const events: NodeStatusEvent[] = [];
  const t = metaTime(now);
  for (const want of pressureConditions(pressure)) {
    let c = conditions.find((x) => x.type === want.type);
    const isNew = !c;
    c ??= { type: want.type, status: 'Unknown' };
    c.lastHeartbeatTime = t;
    if (c.status !== want.status) {
      c.status = want.status;
      c.reason = want.reason;
      c.message = want.message;
      c.lastTransitionTime = t;
      const reason = want.status === 'True' ? conditionEventReason[want.type].true : conditionEventReason[want.type].false;
      events.push({ type: 'Normal', reason, message: nodeStatusEventMessage(node.metadata?.name ?? '', reason) });
    }
    if (isNew) conditions.push(c);
  }
  return events;
}

/** The capacities a Ready node must report (ReadyCondition's requiredCapacities). */
export function requiredCapacities(localStorageCapacityIsolation: boolean): string[] {
  return localStorageCapacityIsolation ? ['cpu', 'memory', 'pods', 'ephemeral-storage'] : ['cpu', 'memory', 'pods'];
}

/** ReadyCondition: KubeletReady, or KubeletNotReady with the aggregated errors; event only when an existing condition flips. */
export function setReadyCondition(node: V1Node, readyErrors: readonly string[], now: number, localStorageCapacityIsolation = true): NodeStatusEvent[] {
  const status = (node.status ??= {});
  const conditions = (status.conditions ??= []);
  const t = metaTime(now);
  const errs = [...readyErrors];
  const missing = requiredCapacities(localStorageCapacityIsolation).filter((r) => status.capacity?.[r] === undefined);
  if (missing.length > 0) errs.push(`missing node capacity for resources: ${missing.join(', ')}`);
  const next: V1NodeCondition =
    errs.length === 0
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: aggregateMessage(errs), lastHeartbeatTime: t };
  const i = conditions.findIndex((c) => c.type === 'Ready');
  const events: NodeStatusEvent[] = [];
  if (i < 0) {
    next.lastTransitionTime = t;
    conditions.push(next);
    return events;
  }
  const old = conditions[i]!;
  if (old.status === next.status) {
    if (old.lastTransitionTime !== undefined) next.lastTransitionTime = old.lastTransitionTime;
  } else {
    next.lastTransitionTime = t;
    const reason = next.status === 'True' ? 'NodeReady' : 'NodeNotReady';
    events.push({ type: 'Normal', reason, message: nodeStatusEventMessage(node.metadata?.name ?? '', reason) });
  }
  conditions[i] = next;
  return events;
}

// ---------- the other setters ----------

/** Images setter: largest first, at most maxImages (-1: all), names = digests then tags, at most 5. */
export function nodeImages(images: readonly ImageInfo[], maxImages = defaultMaxImages): V1ContainerImage[] {
  const sorted = [...images].sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const kept = maxImages > -1 ? sorted.slice(0, maxImages) : sorted;
  return kept.map((img) => ({ names: [...img.repoDigests, ...img.repoTags].slice(0, maxNamesPerImageInNodeStatus), sizeBytes: img.size }));
}

/** MachineInfo setter: nodeInfo ids, capacity, allocatable; a Rebooted warning when the boot id changed. */
export function setMachineInfo(node: V1Node, s: NodeSettings, machine: MachineFacts | undefined): NodeStatusEvent[] {
  const status = (node.status ??= {});
  const events: NodeStatusEvent[] = [];
  const info = (status.nodeInfo ??= emptyNodeInfo());
  let capacity: Map<string, number>;
  if (!machine) {
    capacity = new Map([['cpu', 0], ['memory', 0], ['pods', s.maxPods]]);
    // keep what the node had for the rest (upstream only overwrites these three)
    for (const [k, v] of Object.entries(status.capacity ?? {})) if (!capacity.has(k)) capacity.set(k, resourceValue(k, v));
  } else {
    info.machineID = machine.machineID;
    info.systemUUID = machine.systemUUID;
    if (info.bootID && info.bootID !== machine.bootID) {
      events.push({ type: 'Warning', reason: 'Rebooted', message: `Node ${s.nodeName} has been rebooted, boot id: ${machine.bootID}` });
    }
    info.bootID = machine.bootID;
    capacity = machineCapacity(machine, s.maxPods);
  }
  status.capacity = toResourceList(capacity);
  status.allocatable = toResourceList(computeAllocatable(capacity, allocatableReservation(capacity, s)));
  return events;
}

function emptyNodeInfo(): NonNullable<V1NodeStatus['nodeInfo']> {
  return { architecture: '', bootID: '', containerRuntimeVersion: '', kernelVersion: '', kubeProxyVersion: '', kubeletVersion: '', machineID: '', operatingSystem: '', osImage: '', systemUUID: '' };
}

/** VersionInfo setter (+ GOOS/GOARCH, which upstream sets in initialNode's NodeInfo). */
export function setVersionInfo(node: V1Node, s: NodeSettings, inputs: Pick<StatusInputs, 'machine' | 'runtime' | 'runtimeType'>): void {
  const status = (node.status ??= {});
  const info = (status.nodeInfo ??= emptyNodeInfo());
  if (inputs.machine) {
    info.kernelVersion = inputs.machine.kernelVersion;
    info.osImage = inputs.machine.osImage;
    info.operatingSystem = inputs.machine.operatingSystem;
    info.architecture = inputs.machine.architecture;
  }
  const type = inputs.runtime?.name ?? inputs.runtimeType ?? 'containerd';
  info.containerRuntimeVersion = `${type}://${inputs.runtime?.version ?? 'Unknown'}`;
  info.kubeletVersion = s.kubeletVersion;
  info.kubeProxyVersion = s.kubeletVersion;
}

/**
 * setNodeStatus: every setter in upstream's order (addresses, machine info, version info, daemon
 * endpoints, images, memory/disk/PID pressure, ready). Mutates node; returns the events to record.
 */
export function setNodeStatus(node: V1Node, s: NodeSettings, inputs: StatusInputs, now: number): NodeStatusEvent[] {
  const status = (node.status ??= {});
  status.addresses = [
    { type: 'InternalIP', address: s.nodeIP },
    { type: 'Hostname', address: s.hostname },
  ];
  const events = setMachineInfo(node, s, inputs.machine);
  setVersionInfo(node, s, inputs);
  status.daemonEndpoints = { kubeletEndpoint: { Port: s.kubeletPort } };
  status.images = nodeImages(inputs.images, s.maxImages ?? defaultMaxImages);
  events.push(...setPressureConditions(node, inputs.pressure, now));
  events.push(...setReadyCondition(node, inputs.readyErrors, now, s.localStorageCapacityIsolation ?? true));
  return events;
}

/** initialNode: labels, taints, annotation, then the status setters. */
export function initialNode(s: NodeSettings, inputs: StatusInputs, now: number): { node: V1Node; events: NodeStatusEvent[] } {
  const os = inputs.machine?.operatingSystem ?? 'linux';
  const arch = inputs.machine?.architecture ?? '';
  const labels: Record<string, string> = {
    [LabelHostname]: s.hostname,
    [LabelOSStable]: os,
    [LabelArchStable]: arch,
    [LabelOSBeta]: os,
    [LabelArchBeta]: arch,
    ...(s.nodeLabels ?? {}),
  };
  const taints = [...(s.registerWithTaints ?? [])];
  const schedulable = s.registerSchedulable ?? true;
  if (!schedulable && !taints.some((t) => t.key === TaintNodeUnschedulable && t.effect === 'NoSchedule')) {
    taints.push({ key: TaintNodeUnschedulable, effect: 'NoSchedule' });
  }
  const node: V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.nodeName,
      labels,
      ...((s.enableControllerAttachDetach ?? true) ? { annotations: { [ControllerManagedAttachAnnotation]: 'true' } } : {}),
    },
    spec: {
      ...(schedulable ? {} : { unschedulable: true }),
      ...(taints.length > 0 ? { taints } : {}),
      ...(s.providerID ? { providerID: s.providerID } : {}),
    },
    status: {},
  };
  const events = setNodeStatus(node, s, inputs, now);
  return { node, events };
}

// ---------- reconciling an existing Node (tryRegisterWithAPIServer) ----------

/**
 * The metadata changes that reconcile an existing Node with the initial one: the kubelet-owned
 * default labels (set when the initial node has them, removed when set to "") and the
 * controller-managed attach-detach annotation. Other labels (a user's, --node-labels) are kept.
 * Returns a JSON merge patch of metadata, or undefined when nothing changes.
 */
export function reconcileMetadata(initial: V1Node, existing: V1Node): { labels?: Record<string, string | null>; annotations?: Record<string, string | null> } | undefined {
  const labels: Record<string, string | null> = {};
  const have = existing.metadata?.labels ?? {};
  const want = initial.metadata?.labels ?? {};
  for (const l of defaultLabels) {
    if (!(l in want)) continue;
    const v = want[l]!;
    if (have[l] !== v) labels[l] = v === '' ? null : v;
    else if (v === '' && l in have) labels[l] = null;
  }
  const annotations: Record<string, string | null> = {};
  const wantCMAD = initial.metadata?.annotations?.[ControllerManagedAttachAnnotation] === 'true';
  const hasCMAD = existing.metadata?.annotations?.[ControllerManagedAttachAnnotation] === 'true';
  if (wantCMAD && !hasCMAD) annotations[ControllerManagedAttachAnnotation] = 'true';
  if (!wantCMAD && existing.metadata?.annotations?.[ControllerManagedAttachAnnotation] !== undefined) annotations[ControllerManagedAttachAnnotation] = null;
  const out: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> } = {};
  if (Object.keys(labels).length > 0) out.labels = labels;
  if (Object.keys(annotations).length > 0) out.annotations = annotations;
  return out.labels || out.annotations ? out : undefined;
}

// ---------- change detection and the status patch ----------

function normalizeConditions(cs: readonly V1NodeCondition[] | undefined): string[] {
  return [...(cs ?? [])]
    .map((c) => JSON.stringify([c.type, c.status, c.reason ?? '', c.message ?? '', timeSeconds(c.lastTransitionTime) ?? null]))
    .sort();
}

function normalizeResources(r: Record<string, string> | undefined): string {
  const out: [string, number][] = Object.entries(r ?? {}).map(([k, v]) => [k, resourceValue(k, v)]);
  return JSON.stringify(out.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** JSON with object keys sorted (the API server and the client order keys differently). */
function plain(v: unknown): string {
  const canon = (x: unknown): unknown => {
    if (x instanceof Date) return x.toISOString();
    if (Array.isArray(x)) return x.map(canon);
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const val = (x as Record<string, unknown>)[k];
        if (val !== undefined) out[k] = canon(val);
      }
      return out;
    }
    return x;
  };
  return JSON.stringify(canon(v ?? null));
}

/**
 * nodeStatusHasChanged: conditions compared without their heartbeat times, everything else as
 * semantic equality (quantities by value). The fields nodelet does not set are compared too.
 */
export function nodeStatusHasChanged(original: V1NodeStatus | undefined, next: V1NodeStatus | undefined): boolean {
  if (!original && !next) return false;
  if (!original || !next) return true;
  const a = normalizeConditions(original.conditions);
  const b = normalizeConditions(next.conditions);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) return true;
  if (normalizeResources(original.capacity) !== normalizeResources(next.capacity)) return true;
  if (normalizeResources(original.allocatable) !== normalizeResources(next.allocatable)) return true;
  const rest = (s: V1NodeStatus): string =>
    plain({ addresses: s.addresses ?? [], nodeInfo: s.nodeInfo ?? null, images: s.images ?? [], daemonEndpoints: s.daemonEndpoints ?? null, volumesInUse: s.volumesInUse ?? [], volumesAttached: s.volumesAttached ?? [], phase: s.phase ?? '' });
  return rest(original) !== rest(next);
}

/** upstream's rule in tryUpdateNodeStatus: patch when changed or when the report frequency has passed. */
export function shouldPatchNodeStatus(changed: boolean, lastReportAt: number | undefined, now: number, reportFrequencyMs: number): boolean {
  return changed || lastReportAt === undefined || now - lastReportAt >= reportFrequencyMs;
}

/** RFC 3339 with whole seconds, as metav1.Time marshals. */
export function rfc3339(t: Date | string | undefined): string | undefined {
  const s = timeSeconds(t);
  return s === undefined ? undefined : new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The strategic merge patch of nodes/<name>/status carrying every field the kubelet owns:
 * conditions and addresses merge by type, images replace, resources merge with removed keys set to
 * null (what a two-way merge patch of the deleted keys does).
 */
export function nodeStatusPatch(original: V1Node, next: V1Node): { status: Record<string, unknown> } {
  const st = next.status ?? {};
  const resources = (prev: Record<string, string> | undefined, cur: Record<string, string> | undefined): Record<string, string | null> => {
    const out: Record<string, string | null> = { ...(cur ?? {}) };
    for (const k of Object.keys(prev ?? {})) if (!(k in out)) out[k] = null;
    return out;
  };
  return {
    status: {
      capacity: resources(original.status?.capacity, st.capacity),
      allocatable: resources(original.status?.allocatable, st.allocatable),
      conditions: (st.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        ...(c.reason !== undefined ? { reason: c.reason } : {}),
        ...(c.message !== undefined ? { message: c.message } : {}),
        lastHeartbeatTime: rfc3339(c.lastHeartbeatTime),
        lastTransitionTime: rfc3339(c.lastTransitionTime),
      })),
      addresses: st.addresses ?? [],
      daemonEndpoints: st.daemonEndpoints ?? {},
      nodeInfo: st.nodeInfo ?? {},
      images: st.images ?? [],
    },
  };
}
