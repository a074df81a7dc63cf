// Pod admission predicates (models pkg/kubelet/lifecycle/predicate.go predicateAdmitHandler.Admit and
// generalFilter as of v1.30, with the scheduler helpers it calls: pkg/scheduler AdmissionCheck,
// plugins/noderesources fit.go (computePodResourceRequest, fitsRequest), pkg/api/v1/resource
// PodRequests, framework.NodeInfo / Resource / HostPortInfo, plugins/nodeports, plugins/nodename,
// component-helpers nodeaffinity (GetRequiredNodeAffinity, LazyErrorNodeSelector) and
// corev1 FindMatchingUntoleratedTaint / Toleration.ToleratesTaint, pkg/kubelet/preemption
// HandleAdmissionFailure's choice of reasons).
//
// As upstream: the OS label/field checks come first; then requests of extended resources the node
// does not advertise are dropped; then every failure is collected in the order resources (pods,
// cpu, memory, ephemeral-storage, scalar resources), NodeAffinity, NodeName, NodePorts,
// TaintToleration (NoExecute taints only, skipped for static pods), and the first one is reported.
// A critical pod (static, mirror or system priority) that fails for a non-resource reason reports
// the first non-resource reason. Messages are v1.30's: "Predicate NodeAffinity failed" (v1.31+
// appends ": <description>").
//
// Differences:
// - No preemption. Upstream admits a critical pod whose only failures are resources by evicting
//   lower-priority pods; nodelet evicts nothing and rejects it with the first resource reason.
// - No device-plugin resource update (pluginResourceUpdateFunc) and no retry with a freshly read
//   Node when only NodeAffinity failed (a later upstream addition).
// - Scalar resources are checked in name order (Go iterates a map: any order).
// - Label-selector keys and values are not syntax-checked (API validation does it); operator
//   arity and the integer value of Gt/Lt are, and a term that fails them matches nothing, as upstream.
// - A quantity that does not parse (the API server would have refused it) rejects the pod with
//   UnexpectedAdmissionError instead of throwing.

import type { V1Container, V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1Pod } from '@kubernetes/client-node';
import { parseQuantityExact } from '../../api/quantity.js';
import { isStaticPod } from '../../api/podutil.js';
import { isCriticalPod } from '../eviction/admission.js';
import { findUntoleratedTaint, toleratesTaint, tolerationsTolerateTaint } from '../../api/taints.js';

// ------------------------------------------------------------------ reasons and messages

export const PodOSSelectorNodeLabelDoesNotMatch = 'PodOSSelectorNodeLabelDoesNotMatch';
export const PodOSNotSupported = 'PodOSNotSupported';
export const UnexpectedAdmissionError = 'UnexpectedAdmissionError';
export const InsufficientResourcePrefix = 'OutOf';
export const OutOfCPU = 'OutOfcpu';
export const OutOfMemory = 'OutOfmemory';
export const OutOfEphemeralStorage = 'OutOfephemeral-storage';
export const OutOfPods = 'OutOfpods';

/** Predicate (plugin) names, which are also the rejection reasons. */
export const NodeAffinityPredicate = 'NodeAffinity';
export const NodeNamePredicate = 'NodeName';
export const NodePortsPredicate = 'NodePorts';
export const TaintTolerationPredicate = 'TaintToleration';

export const podOSSelectorMessage = "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label";
export const podOSNotSupportedMessage = "Failed to admit pod as the OS field doesn't match node OS";

const labelOS = 'kubernetes.io/os';

/** InsufficientResourceError.Error(). */
export function insufficientResourceMessage(resource: string, requested: bigint, used: bigint, capacity: bigint): string {
  return `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`;
}

/** PredicateFailureError.Error() (v1.30). */
export function predicateFailedMessage(predicate: string): string {
  return `Predicate ${predicate} failed`;
}

export type PredicateAdmitResult = { admit: true } | { admit: false; reason: string; message: string };

// ------------------------------------------------------------------ exact resource arithmetic

interface Frac {
  num: bigint;
  den: bigint;
}

function toFrac(q: string | number, field: string): Frac {
  const p = parseQuantityExact(q, field);
  let num = p.mantissa * 2n ** BigInt(p.pow2);
  let den = 1n;
  if (p.pow10 >= 0) num *= 10n ** BigInt(p.pow10);
  else den = 10n ** BigInt(-p.pow10);
  return { num: p.negative ? -num : num, den };
}

const addFrac = (a: Frac, b: Frac): Frac => ({ num: a.num * b.den + b.num * a.den, den: a.den * b.den });
const lessFrac = (a: Frac, b: Frac): boolean => a.num * b.den < b.num * a.den;

/** value * 10^scale rounded away from zero (Quantity.ScaledValue: MilliValue with 3, Value with 0). */
function scaled(f: Frac, scale: number): bigint {
  const num = (f.num < 0n ? -f.num : f.num) * 10n ** BigInt(scale);
  let v = num / f.den;
  if (v * f.den !== num) v += 1n;
  return f.num < 0n ? -v : v;
}

/** An exact ResourceList (v1.ResourceList with Quantity.Add / max semantics). */
type ExactList = Map<string, Frac>;

function addList(into: ExactList, list: Record<string, string | number> | undefined, field: string): void {
  for (const [name, q] of Object.entries(list ?? {})) {
    const f = toFrac(q, `${field}[${name}]`);
    const cur = into.get(name);
    into.set(name, cur ? addFrac(cur, f) : f);
  }
}

function addExact(into: ExactList, list: ExactList): void {
  for (const [name, f] of list) {
    const cur = into.get(name);
    into.set(name, cur ? addFrac(cur, f) : f);
  }
}

function maxExact(into: ExactList, list: ExactList): void {
  for (const [name, f] of list) {
    const cur = into.get(name);
    if (!cur || lessFrac(cur, f)) into.set(name, f);
  }
}

type RequestsOf = (c: V1Container) => Record<string, string | number> | undefined;
const containerRequests: RequestsOf = (c) => c.resources?.requests;

/**
 * resource.PodRequests: sum of containers; each restartable (sidecar) init container adds to that
 * sum; max with every init container (plus the sidecars started before it); plus overhead.
 */
function podRequestList(pod: V1Pod, requestsOf: RequestsOf = containerRequests): ExactList {
  const name = pod.metadata?.name ?? '';
  const reqs: ExactList = new Map();
  for (const c of pod.spec?.containers ?? []) addList(reqs, requestsOf(c), `pod ${name} container ${c.name} requests`);
  const sidecars: ExactList = new Map();
  const initMax: ExactList = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const own: ExactList = new Map();
    addList(own, requestsOf(c), `pod ${name} init container ${c.name} requests`);
    let use: ExactList;
    if (c.restartPolicy === 'Always') {
      addExact(reqs, own);
      addExact(sidecars, own);
      use = sidecars;
    } else {
      use = new Map(own);
      addExact(use, sidecars);
    }
    maxExact(initMax, use);
  }
  maxExact(reqs, initMax);
  if (pod.spec?.overhead) addList(reqs, pod.spec.overhead, `pod ${name} spec.overhead`);
  return reqs;
}

// ------------------------------------------------------------------ resource names

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function isQualifiedName(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0 || prefix.length > 253 || !dns1123Subdomain.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && qualifiedNamePart.test(name);
}

/** v1helper.IsNativeResource: no domain, or in the kubernetes.io/ namespace. */
function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

/** v1helper.IsExtendedResourceName: a domain-prefixed name outside kubernetes.io. */
export function isExtendedResourceName(name: string): boolean {
  if (isNativeResource(name) || name.startsWith('requests.')) return false;
  return isQualifiedName(`requests.${name}`);
}

/** schedutil.IsScalarResourceName: extended, hugepages-*, kubernetes.io/-prefixed, attachable-volumes-*. */
function isScalarResourceName(name: string): boolean {
  return isExtendedResourceName(name) || name.startsWith('hugepages-') || name.includes('kubernetes.io/') || name.startsWith('attachable-volumes-');
}

// ------------------------------------------------------------------ framework.Resource

/** framework.Resource: cpu in millicores, the rest in whole units (rounded up, as Quantity.Value). */
export interface ResourceAmounts {
  milliCPU: bigint;
  memory: bigint;
  ephemeralStorage: bigint;
  /** Extended resources, hugepages-*, kubernetes.io/* and attachable-volumes-*; other names are ignored. */
  scalar: Record<string, bigint>;
}

function toResource(list: ExactList): ResourceAmounts {
  const r: ResourceAmounts = { milliCPU: 0n, memory: 0n, ephemeralStorage: 0n, scalar: {} };
  for (const [name, f] of list) {
    if (name === 'cpu') r.milliCPU += scaled(f, 3);
    else if (name === 'memory') r.memory += scaled(f, 0);
    else if (name === 'ephemeral-storage') r.ephemeralStorage += scaled(f, 0);
    else if (isScalarResourceName(name)) r.scalar[name] = (r.scalar[name] ?? 0n) + scaled(f, 0);
  }
  return r;
}

/**
 * The pod's effective requests as the scheduler and the kubelet's admission compute them
 * (computePodResourceRequest): max(sum of containers + sidecars, each init container + the
 * sidecars before it) + overhead. Throws ValidationError on a malformed quantity.
 */
export function podRequests(pod: V1Pod): ResourceAmounts {
  return toResource(podRequestList(pod));
}

// ------------------------------------------------------------------ NodePorts

const bindAll = '0.0.0.0';

/** framework.HostPortInfo: host IP -> set of "<protocol>/<port>". */
type HostPortInfo = Map<string, Set<string>>;

function sanitize(ip: string | undefined, protocol: string | undefined, port: number): [string, string] {
  return [ip || bindAll, `${protocol || 'TCP'}/${port}`];
}

function usedHostPorts(pods: readonly V1Pod[]): HostPortInfo {
  const used: HostPortInfo = new Map();
  for (const p of pods) {
    for (const c of p.spec?.containers ?? []) {
      for (const cp of c.ports ?? []) {
        const port = cp.hostPort ?? 0;
        if (port <= 0) continue;
        const [ip, pp] = sanitize(cp.hostIP, cp.protocol, port);
        if (!used.has(ip)) used.set(ip, new Set());
        used.get(ip)!.add(pp);
      }
    }
  }
  return used;
}

/** HostPortInfo.CheckConflict: 0.0.0.0 conflicts with any IP; another IP with itself and 0.0.0.0. */
function checkConflict(used: HostPortInfo, hostIP: string | undefined, protocol: string | undefined, port: number): boolean {
  if (port <= 0) return false;
  const [ip, pp] = sanitize(hostIP, protocol, port);
  if (ip === bindAll) {
    for (const set of used.values()) if (set.has(pp)) return true;
    return false;
  }
  return (used.get(bindAll)?.has(pp) ?? false) || (used.get(ip)?.has(pp) ?? false);
}

/**
 * nodeports.Fits negated: true when a host port of the pod's containers (not init containers) is
 * already taken by one of `otherPods` for the same protocol (default TCP) on the same host IP,
 * where an empty host IP or 0.0.0.0 means every IP. Ports repeated within the pod are not checked.
 */
export function hostPortsConflict(pod: V1Pod, otherPods: readonly V1Pod[]): boolean {
  const used = usedHostPorts(otherPods);
  for (const c of pod.spec?.containers ?? []) {
    for (const cp of c.ports ?? []) {
      if (checkConflict(used, cp.hostIP, cp.protocol, cp.hostPort ?? 0)) return true;
    }
  }
  return false;
}

// ------------------------------------------------------------------ taints and tolerations

export { toleratesTaint, tolerationsTolerateTaint, findUntoleratedTaint };

// ------------------------------------------------------------------ node affinity

const int64Re = /^[+-]?\d+$/;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64), or undefined. */
function parseInt64(s: string): bigint | undefined {
  if (!int64Re.test(s)) return undefined;
  const v = BigInt(s);
  return v < int64Min || v > int64Max ? undefined : v;
}

type Matcher = (values: Readonly<Record<string, string>>) => boolean;

/** labels.NewRequirement + Requirement.Matches; undefined when the requirement is invalid. */
function labelRequirement(r: V1NodeSelectorRequirement): Matcher | undefined {
  const key = r.key;
  const values = r.values ?? [];
  const has = (ls: Readonly<Record<string, string>>): boolean => Object.prototype.hasOwnProperty.call(ls, key);
  switch (r.operator) {
    case 'In':
      if (values.length === 0) return undefined;
      return (ls) => has(ls) && values.includes(ls[key]!);
    case 'NotIn':
      if (values.length === 0) return undefined;
      return (ls) => !has(ls) || !values.includes(ls[key]!);
    case 'Exists':
      if (values.length !== 0) return undefined;
      return has;
    case 'DoesNotExist':
      if (values.length !== 0) return undefined;
      return (ls) => !has(ls);
    case 'Gt':
    case 'Lt': {
      const want = values.length === 1 ? parseInt64(values[0]!) : undefined;
      if (want === undefined) return undefined;
      const gt = r.operator === 'Gt';
      return (ls) => {
        if (!has(ls)) return false;
        const v = parseInt64(ls[key]!);
        if (v === undefined) return false;
        return gt ? v > want : v < want;
      };
    }
    default:
      return undefined;
  }
}

/** nodeSelectorRequirementsAsFieldSelector: one value, In or NotIn, matched against metadata.name. */
function fieldRequirement(r: V1NodeSelectorRequirement): Matcher | undefined {
  const values = r.values ?? [];
  if (values.length !== 1) return undefined;
  const want = values[0]!;
  if (r.operator === 'In') return (fs) => (fs[r.key] ?? '') === want;
  if (r.operator === 'NotIn') return (fs) => (fs[r.key] ?? '') !== want;
  return undefined;
}

/** One parsed term; undefined when empty (matches nothing) or invalid (a parse error: matches nothing). */
function parseTerm(term: V1NodeSelectorTerm): ((labels: Readonly<Record<string, string>>, fields: Readonly<Record<string, string>>) => boolean) | undefined {
  const exprs = term.matchExpressions ?? [];
  const flds = term.matchFields ?? [];
  if (exprs.length === 0 && flds.length === 0) return undefined;
  const labelMatchers = exprs.map(labelRequirement);
  const fieldMatchers = flds.map(fieldRequirement);
  if (labelMatchers.includes(undefined) || fieldMatchers.includes(undefined)) return undefined;
  return (labels, fields) => {
    if (!labelMatchers.every((m) => m!(labels))) return false;
    // as upstream: field requirements are ignored when the node has no name
    if (fieldMatchers.length > 0 && Object.keys(fields).length > 0 && !fieldMatchers.every((m) => m!(fields))) return false;
    return true;
  };
}

/**
 * LazyErrorNodeSelector.Match: the terms are ORed; within a term matchExpressions (on labels) and
 * matchFields (metadata.name only) are ANDed; an empty or invalid term matches nothing.
 */
export function nodeMatchesNodeSelectorTerms(node: V1Node, terms: readonly V1NodeSelectorTerm[]): boolean {
  const labels = node.metadata?.labels ?? {};
  const name = node.metadata?.name ?? '';
  const fields: Record<string, string> = name ? { 'metadata.name': name } : {};
  return terms.some((t) => parseTerm(t)?.(labels, fields) ?? false);
}

/** GetRequiredNodeAffinity(pod).Match(node): spec.nodeSelector (all equal) and the required node affinity. */
export function podMatchesNodeAffinity(pod: V1Pod, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return nodeMatchesNodeSelectorTerms(node, required.nodeSelectorTerms ?? []);
  return true;
}

// ------------------------------------------------------------------ admission

type Failure = { kind: 'resource'; resource: string; requested: bigint; used: bigint; capacity: bigint } | { kind: 'predicate'; predicate: string };

/** removeMissingExtendedResources: drop requests of extended resources the node does not list. */
function withoutMissingExtendedResources(allocatable: ResourceAmounts): RequestsOf {
  return (c) => {
    const reqs = c.resources?.requests;
    if (!reqs) return reqs;
    const out: Record<string, string | number> = {};
    for (const [name, q] of Object.entries(reqs)) {
      if (isExtendedResourceName(name) && !(name in allocatable.scalar)) continue;
      out[name] = q as string | number;
    }
    return out;
  };
}

/** fitsRequest: pod count first, then cpu, memory, ephemeral-storage and scalar resources. */
function fitsRequest(want: ResourceAmounts, otherPods: readonly V1Pod[], allocatable: ResourceAmounts, allowedPods: bigint): Failure[] {
  const out: Failure[] = [];
  const podCount = BigInt(otherPods.length);
  if (podCount + 1n > allowedPods) out.push({ kind: 'resource', resource: 'pods', requested: 1n, used: podCount, capacity: allowedPods });
  const used: ResourceAmounts = { milliCPU: 0n, memory: 0n, ephemeralStorage: 0n, scalar: {} };
  for (const p of otherPods) {
    const r = podRequests(p);
    used.milliCPU += r.milliCPU;
    used.memory += r.memory;
    used.ephemeralStorage += r.ephemeralStorage;
    for (const [n, v] of Object.entries(r.scalar)) used.scalar[n] = (used.scalar[n] ?? 0n) + v;
  }
  const check = (resource: string, req: bigint, u: bigint, cap: bigint): void => {
    if (req > 0n && req > cap - u) out.push({ kind: 'resource', resource, requested: req, used: u, capacity: cap });
  };
  check('cpu', want.milliCPU, used.milliCPU, allocatable.milliCPU);
  check('memory', want.memory, used.memory, allocatable.memory);
  check('ephemeral-storage', want.ephemeralStorage, used.ephemeralStorage, allocatable.ephemeralStorage);
  for (const name of Object.keys(want.scalar).sort()) {
    check(name, want.scalar[name]!, used.scalar[name] ?? 0n, allocatable.scalar[name] ?? 0n);
  }
  return out;
}

function generalFilter(pod: V1Pod, node: V1Node, otherPods: readonly V1Pod[]): Failure[] {
  const allocList: ExactList = new Map();
  addList(allocList, node.status?.allocatable, `node ${node.metadata?.name ?? ''} status.allocatable`);
  const allocatable = toResource(allocList);
  const podsQ = allocList.get('pods');
  const allowedPods = podsQ ? scaled(podsQ, 0) : 0n;

  const want = toResource(podRequestList(pod, withoutMissingExtendedResources(allocatable)));
  const failures = fitsRequest(want, otherPods, allocatable, allowedPods);
  if (!podMatchesNodeAffinity(pod, node)) failures.push({ kind: 'predicate', predicate: NodeAffinityPredicate });
  const nodeName = pod.spec?.nodeName;
  if (nodeName && nodeName !== node.metadata?.name) failures.push({ kind: 'predicate', predicate: NodeNamePredicate });
  if (hostPortsConflict(pod, otherPods)) failures.push({ kind: 'predicate', predicate: NodePortsPredicate });
  if (!isStaticPod(pod) && findUntoleratedTaint(node.spec?.taints, pod.spec?.tolerations, (t) => t.effect === 'NoExecute')) {
    failures.push({ kind: 'predicate', predicate: TaintTolerationPredicate });
  }
  return failures;
}

export interface AdmitPodInput {
  pod: V1Pod;
  /** The kubelet's Node: metadata.name and labels, spec.taints, status.allocatable (including `pods`). */
  node: V1Node;
  /** The admitted pods still running or able to run on the node (upstream: the active pods), not `pod` itself. */
  otherPods: readonly V1Pod[];
  /** Upstream's IsCriticalPod by default (static, mirror, priority >= 2e9). */
  isCritical?: (pod: V1Pod) => boolean;
  /** The node's OS (runtime.GOOS); 'linux'. */
  os?: string;
}

/** predicateAdmitHandler.Admit: whether the kubelet may run `pod` on `node` beside `otherPods`. */
export function admitPod(input: AdmitPodInput): PredicateAdmitResult {
  const { pod, node, otherPods } = input;
  const os = input.os ?? 'linux';
  // checks preemption would not help come first
  const osLabel = pod.metadata?.labels?.[labelOS];
  if (osLabel !== undefined && osLabel !== os) return { admit: false, reason: PodOSSelectorNodeLabelDoesNotMatch, message: podOSSelectorMessage };
  if (pod.spec?.os && (pod.spec.os.name ?? '') !== os) return { admit: false, reason: PodOSNotSupported, message: podOSNotSupportedMessage };

  let failures: Failure[];
  try {
    failures = generalFilter(pod, node, otherPods);
  } catch (e) {
    return { admit: false, reason: UnexpectedAdmissionError, message: `Failed to compute the pod's resource requests: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (failures.length === 0) return { admit: true };
  // HandleAdmissionFailure: a critical pod cannot fail for resources; its non-resource reasons
  // win. Upstream would preempt when only resources fail; nodelet does not (header comment).
  if ((input.isCritical ?? isCriticalPod)(pod)) {
    const nonResource = failures.filter((f) => f.kind === 'predicate');
    if (nonResource.length > 0) failures = nonResource;
  }
  const first = failures[0]!;
  if (first.kind === 'predicate') return { admit: false, reason: first.predicate, message: predicateFailedMessage(first.predicate) };
  return {
    admit: false,
    reason: `${InsufficientResourcePrefix}${first.resource}`,
    message: insufficientResourceMessage(first.resource, first.requested, first.used, first.capacity),
  };
}
