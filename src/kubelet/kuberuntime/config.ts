// Pod spec -> CRI configs, as the kubelet builds them (kuberuntime_sandbox.go
// generatePodSandboxConfig, kuberuntime_container.go generateContainerConfig,
// kuberuntime_container_linux.go, kubelet_pods.go makeEnvironmentVariables / makeMounts,
// pkg/kubelet/network/dns).
//
// Environment from ConfigMaps and Secrets: the caller reads the objects the container references
// first (fetchEnvSources, through the ConfigMap/Secret managers) and hands them in the EnvContext,
// so makeEnvironment stays synchronous and pure. Messages as upstream: `configmap "x" not found`,
// `couldn't find key K in ConfigMap ns/name`; envFrom keys that are not valid variable names are
// skipped (environmentWarnings gives the InvalidEnvironmentVariableNames event texts).
//
// Differences: no cgroup parent (the kubelet's QoS cgroup hierarchy is not built yet: pods land
// under the runtime's default parent); in standalone mode (no objects handed in) every
// configMap/secret reference is "not found" (upstream: `couldn't get configMap ns/x, no kubeClient
// defined`, even for optional ones); no service environment variables (no Services yet); the
// variables keep their declaration order (upstream emits them in Go map order).

import { extractFieldPathAsString } from '../../api/fieldpath.js';
import { join } from 'node:path';
import type { V1ConfigMap, V1Container, V1EnvVar, V1Pod, V1Secret, V1SecurityContext, V1PodSecurityContext } from '@kubernetes/client-node';
import { expand } from '../../api/expansion.js';
import { getPodQOSClass } from '../../api/qos.js';
import { cpuMillis, memoryBytes } from '../../api/quantity.js';
import { errorMessage } from '../../util/errors.js';
import { ObjectNotFoundError } from '../../util/objectcache.js';
import type { ConfigMapGetter } from '../configmap/index.js';
import type { SecretGetter } from '../secret/index.js';
import type {
  ContainerConfig,
  DNSConfig,
  KeyValue,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  Mount,
  NamespaceOption,
  PodSandboxConfig,
  PortMapping,
  SecurityProfile,
} from '../../runtime/index.js';
import { newContainerAnnotations, newContainerLabels, newPodAnnotations, newPodLabels, nodeNameLabel } from './labels.js';

/** A pod spec the kubelet cannot turn into a container config (CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

export interface NodeContext {
  nodeName: string;
  hostIP: string;
  /** The host's resolv.conf contents, for dnsPolicy Default (and ClusterFirst without cluster DNS). */
  resolvConf: string;
  clusterDNS: string[];
  clusterDomain: string;
  /** Memory capacity of the node in bytes (for Burstable oom_score_adj). */
  memoryCapacity: number;
  /** Allocatable cpu millicores / memory bytes for resourceFieldRef without limits. */
  allocatableCpuMillis: number;
  allocatableMemory: number;
  /** Where Localhost seccomp profiles live (the kubelet's <root-dir>/seccomp). */
  seccompProfileRoot?: string;
}

const defaultSeccompProfileRoot = '/var/lib/kubelet/seccomp';
/** The kubelet's limits on a pod's DNS config (pkg/apis/core/validation). */
const maxDNSNameservers = 3;
const maxDNSSearchPaths = 32;
const maxDNSSearchListChars = 2048;

// ---------------------------------------------------------------- paths

export function podLogsDirectory(root: string, pod: V1Pod): string {
  return join(root, `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`);
}

export function containerLogPath(containerName: string, restartCount: number): string {
  return `${containerName}/${restartCount}.log`;
}

// ---------------------------------------------------------------- DNS

export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (key === 'search') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

/** The pod's DNS config (pkg/kubelet/network/dns GetPodDNS), with the kubelet's limits. */
export function podDNSConfig(pod: V1Pod, node: NodeContext): DNSConfig {
  let policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const host = parseResolvConf(node.resolvConf);
  if ((policy === 'ClusterFirst' && !pod.spec?.hostNetwork) || policy === 'ClusterFirstWithHostNet') {
    // without cluster DNS, ClusterFirst falls back to the node's resolv.conf, as the kubelet does
    policy = node.clusterDNS.length ? 'ClusterFirst' : 'Default';
  } else if (policy === 'ClusterFirst') {
    policy = 'Default'; // host-network pods with ClusterFirst use the node's DNS
  }
  let cfg: DNSConfig;
  if (policy === 'None') cfg = { servers: [], searches: [], options: [] };
  else if (policy === 'Default') cfg = host;
  else {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = node.clusterDomain;
    // without a cluster domain there are no cluster search domains (generateSearchesForDNSClusterFirst)
    const searches = d ? [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches] : [...host.searches];
    cfg = { servers: [...node.clusterDNS], searches, options: ['ndots:5'] };
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    cfg = {
      servers: [...cfg.servers, ...(extra.nameservers ?? [])],
      searches: [...cfg.searches, ...(extra.searches ?? [])],
      options: mergeDNSOptions(cfg.options, (extra.options ?? []).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? '')))),
    };
  }
  cfg.servers = [...new Set(cfg.servers)].slice(0, maxDNSNameservers);
  cfg.searches = dnsSearchFitsLimits([...new Set(cfg.searches)]);
  return cfg;
}

/** Options keyed by name: a pod's option replaces a base option of the same name (mergeDNSOptions). */
function mergeDNSOptions(base: string[], extra: string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...extra]) byName.set(o.split(':')[0]!, o);
  return [...byName.values()];
}

/** At most 32 search domains of at most 253 characters, on a line of at most 2048 (formDNSSearchFitsLimits). */
function dnsSearchFitsLimits(searches: string[]): string[] {
  let out = searches.filter((d) => d.length <= 253).slice(0, maxDNSSearchPaths);
  while (out.length && out.join(' ').length > maxDNSSearchListChars) out = out.slice(0, -1);
  return out;
}

/** Hostname and domain (GeneratePodHostNameAndDomain). */
export function podHostnameAndDomain(pod: V1Pod, clusterDomain: string): { hostname: string; domain: string } {
  const hostname = (pod.spec?.hostname || pod.metadata?.name || '').slice(0, 63).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  const domain = sub ? `${sub}.${pod.metadata?.namespace}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

/** The kubelet-managed /etc/hosts of a pod. */
export function managedHostsFile(pod: V1Pod, podIPs: string[], clusterDomain: string, hostHosts?: string): string {
  let out: string;
  if (pod.spec?.hostNetwork) {
    out = `# Kubernetes-managed hosts file (host network).\n${hostHosts ?? ''}`;
  } else {
    const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
    out = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';
    for (const ip of podIPs) out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  }
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}

// ---------------------------------------------------------------- sandbox

function namespaceOptions(pod: V1Pod): NamespaceOption {
  return {
    network: pod.spec?.hostNetwork ? 'NODE' : 'POD',
    pid: pod.spec?.hostPID ? 'NODE' : pod.spec?.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: pod.spec?.hostIPC ? 'NODE' : 'POD',
  };
}

function seccompProfile(sc: V1SecurityContext | V1PodSecurityContext | undefined, root: string | undefined, fallback?: SecurityProfile): SecurityProfile | undefined {
  const p = sc?.seccompProfile;
  if (!p) return fallback;
  if (p.type === 'Localhost') return { profileType: 'Localhost', localhostRef: join(root ?? defaultSeccompProfileRoot, p.localhostProfile ?? '') };
  if (p.type === 'Unconfined') return { profileType: 'Unconfined' };
  return { profileType: 'RuntimeDefault' };
}

export function generatePodSandboxConfig(pod: V1Pod, attempt: number, node: NodeContext, podLogsRoot: string): PodSandboxConfig {
  const psc = pod.spec?.securityContext;
  const portMappings: PortMapping[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      portMappings.push({ protocol: (p.protocol ?? 'TCP') as PortMapping['protocol'], containerPort: p.containerPort, hostPort: p.hostPort ?? 0, hostIp: p.hostIP ?? '' });
    }
  }
  const { hostname } = podHostnameAndDomain(pod, node.clusterDomain);
  const privileged = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.securityContext?.privileged);
  const sysctls: Record<string, string> = {};
  for (const s of psc?.sysctls ?? []) sysctls[s.name] = s.value;
  const sc: NonNullable<NonNullable<PodSandboxConfig['linux']>['securityContext']> = {
    namespaceOptions: namespaceOptions(pod),
    privileged,
    supplementalGroups: [...(psc?.supplementalGroups ?? []), ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : [])],
  };
  if (psc?.runAsUser !== undefined) sc.runAsUser = { value: psc.runAsUser };
  if (psc?.runAsGroup !== undefined) sc.runAsGroup = { value: psc.runAsGroup };
  const seccomp = seccompProfile(psc, node.seccompProfileRoot);
  if (seccomp) sc.seccomp = seccomp;
  return {
    metadata: { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '', attempt },
    // runc cannot set a hostname without a UTS namespace of its own: host-network pods get none
    hostname: pod.spec?.hostNetwork ? '' : hostname,
    logDirectory: podLogsDirectory(podLogsRoot, pod),
    dnsConfig: podDNSConfig(pod, node),
    portMappings,
    labels: { ...newPodLabels(pod), [nodeNameLabel]: node.nodeName },
    annotations: newPodAnnotations(pod),
    linux: { cgroupParent: '', securityContext: sc, sysctls },
  };
}

// ---------------------------------------------------------------- environment

/**
 * An object a container's environment references, as read from the API: the object, `null` when
 * the API says it does not exist, or the error reading it failed with.
 */
export type EnvSource<T> = T | null | Error;

export interface EnvContext {
  pod: V1Pod;
  podIPs: string[];
  node: NodeContext;
  /** ConfigMaps the container references, by name (fetchEnvSources). Absent (standalone): none exists. */
  configMaps?: ReadonlyMap<string, EnvSource<V1ConfigMap>>;
  /** Secrets the container references, by name. Absent (standalone): none exists. */
  secrets?: ReadonlyMap<string, EnvSource<V1Secret>>;
}

/** Names of the ConfigMaps and Secrets a container's env and envFrom reference. */
export function envReferences(c: V1Container): { configMaps: string[]; secrets: string[] } {
  const cms = new Set<string>();
  const secrets = new Set<string>();
  for (const f of c.envFrom ?? []) {
    if (f.configMapRef?.name) cms.add(f.configMapRef.name);
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) cms.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps: [...cms], secrets: [...secrets] };
}

async function readEnvSource<T>(get: () => Promise<T>): Promise<EnvSource<T>> {
  try {
    return await get();
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return null;
    return e instanceof Error ? e : new Error(errorMessage(e));
  }
}

/**
 * Reads (through the managers) every ConfigMap and Secret the container's environment references,
 * for EnvContext. Without a getter (standalone mode) the map is left out: nothing exists.
 */
export async function fetchEnvSources(
  pod: V1Pod,
  c: V1Container,
  getters: { configMaps?: ConfigMapGetter | undefined; secrets?: SecretGetter | undefined },
): Promise<Pick<EnvContext, 'configMaps' | 'secrets'>> {
  const ns = pod.metadata?.namespace ?? '';
  const refs = envReferences(c);
  const out: Pick<EnvContext, 'configMaps' | 'secrets'> = {};
  const { configMaps, secrets } = getters;
  if (configMaps && refs.configMaps.length) {
    out.configMaps = new Map(await Promise.all(refs.configMaps.map(async (n) => [n, await readEnvSource(() => configMaps.getConfigMap(ns, n))] as const)));
  }
  if (secrets && refs.secrets.length) {
    out.secrets = new Map(await Promise.all(refs.secrets.map(async (n) => [n, await readEnvSource(() => secrets.getSecret(ns, n))] as const)));
  }
  return out;
}

/** IsEnvVarName (k8s.io/apimachinery validation): C identifiers plus `-` and `.`, not starting with a digit. */
const envVarNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The object named, or undefined when it does not exist; throws the read error as a ContainerConfigError. */
function envObject<T>(m: ReadonlyMap<string, EnvSource<T>> | undefined, name: string): T | undefined {
  const v = m?.get(name);
  if (v instanceof Error) throw new ContainerConfigError(v.message);
  return v ?? undefined;
}

function secretValue(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

interface EnvFromEntries {
  /** What the source contributes (prefix applied, invalid names left out). */
  entries: [string, string][];
  /** Prefixed keys left out for being invalid variable names, sorted. */
  invalid: string[];
  kind: 'configMap' | 'secret';
  name: string;
}

/** envFrom sources in order; a missing required source is a ContainerConfigError; an optional one is skipped. */
function envFromEntries(c: V1Container, ctx: EnvContext): EnvFromEntries[] {
  const out: EnvFromEntries[] = [];
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: [string, string][];
    let kind: 'configMap' | 'secret';
    let name: string;
    if (from.configMapRef) {
      kind = 'configMap';
      name = from.configMapRef.name ?? '';
      const cm = envObject(ctx.configMaps, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      data = Object.entries(cm.data ?? {});
    } else if (from.secretRef) {
      kind = 'secret';
      name = from.secretRef.name ?? '';
      const s = envObject(ctx.secrets, name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      data = Object.entries(s.data ?? {}).map(([k, v]) => [k, secretValue(v)]);
    } else {
      continue;
    }
    const entries: [string, string][] = [];
    const invalid: string[] = [];
    for (const [k, v] of data) {
      const key = prefix + k;
      if (envVarNameRe.test(key)) entries.push([key, v]);
      else invalid.push(key);
    }
    out.push({ entries, invalid: invalid.sort(), kind, name });
  }
  return out;
}

/**
 * The InvalidEnvironmentVariableNames warnings (one per envFrom source with skipped keys), as the
 * kubelet words them. Call after makeEnvironment succeeded, with the same context.
 */
export function environmentWarnings(c: V1Container, ctx: EnvContext): string[] {
  const ns = ctx.pod.metadata?.namespace ?? '';
  return envFromEntries(c, ctx)
    .filter((e) => e.invalid.length > 0)
    .map((e) => `Keys [${e.invalid.join(', ')}] from the EnvFrom ${e.kind} ${ns}/${e.name} were skipped since they are considered invalid environment variable names.`);
}

/** podFieldSelectorRuntimeValue: the fields only the kubelet knows, then the pod's metadata. */
function fieldRefValue(path: string, ctx: EnvContext): string {
  switch (path) {
    case 'spec.nodeName':
      return ctx.pod.spec?.nodeName ?? ctx.node.nodeName;
    case 'spec.serviceAccountName':
      return ctx.pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx.node.hostIP;
    case 'status.hostIPs':
      return ctx.node.hostIP;
    case 'status.podIP':
      return ctx.podIPs[0] ?? '';
    case 'status.podIPs':
      return ctx.podIPs.join(',');
  }
  const v = extractFieldPathAsString(ctx.pod, path);
  if (v === undefined) throw new ContainerConfigError(`unsupported fieldRef fieldPath "${path}"`);
  return v;
}

function resourceFieldValue(c: V1Container, resource: string, divisor: string | undefined, ctx: EnvContext): string {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  // whole millicores and bytes, as convertResourceCPUToString / convertResourceMemoryToString divide
  const cpuDivisor = Math.max(1, cpuMillis(divisor ?? '1'));
  const memDivisor = Math.max(1, memoryBytes(divisor ?? '1'));
  switch (resource) {
    case 'limits.cpu':
      return String(Math.ceil((limits['cpu'] !== undefined ? cpuMillis(String(limits['cpu'])) : ctx.node.allocatableCpuMillis) / cpuDivisor));
    case 'requests.cpu':
      return String(Math.ceil((requests['cpu'] !== undefined ? cpuMillis(String(requests['cpu'])) : 0) / cpuDivisor));
    case 'limits.memory':
      return String(Math.ceil((limits['memory'] !== undefined ? memoryBytes(String(limits['memory'])) : ctx.node.allocatableMemory) / memDivisor));
    case 'requests.memory':
      return String(Math.ceil((requests['memory'] !== undefined ? memoryBytes(String(requests['memory'])) : 0) / memDivisor));
    default:
      throw new ContainerConfigError(`unsupported resourceFieldRef resource "${resource}"`);
  }
}

/**
 * The container's environment (makeEnvironmentVariables): envFrom sources first, in order, then
 * env, which overrides them; `$(VAR)` in values expands variables defined before (envFrom ones
 * included).
 */
export function makeEnvironment(c: V1Container, ctx: EnvContext): KeyValue[] {
  const out = new Map<string, string>();
  for (const src of envFromEntries(c, ctx)) for (const [k, v] of src.entries) out.set(k, v);
  const ns = ctx.pod.metadata?.namespace ?? '';
  const lookup = (name: string): string | undefined => out.get(name);
  for (const e of c.env ?? ([] as V1EnvVar[])) {
    let value: string;
    if (e.value) {
      value = expand(e.value, lookup);
    } else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldRefValue(vf.fieldRef.fieldPath, ctx);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName ? (ctx.pod.spec?.containers ?? []).find((x) => x.name === vf.resourceFieldRef!.containerName) ?? c : c;
        value = resourceFieldValue(target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | undefined, ctx);
      } else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const name = ref.name ?? '';
        const cm = envObject(ctx.configMaps, name);
        if (!cm) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`configmap "${name}" not found`);
        }
        const v = cm.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${name}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const name = ref.name ?? '';
        const sec = envObject(ctx.secrets, name);
        if (!sec) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`secret "${name}" not found`);
        }
        const v = sec.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${name}`);
        }
        value = secretValue(v);
      } else value = '';
    } else {
      value = '';
    }
    out.set(e.name, value);
  }
  return [...out].map(([key, value]) => ({ key, value }));
}

// ---------------------------------------------------------------- resources and security

/** cpu shares from requests (MilliCPUToShares), quota/period from limits, memory limit, oom_score_adj by QoS. */
export function containerResources(pod: V1Pod, c: V1Container, memoryCapacity: number): LinuxContainerResources {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const out: LinuxContainerResources = {};
  // a zero (or absent) request with a limit uses the limit (calculateLinuxResources)
  let reqCpu = req['cpu'] !== undefined ? cpuMillis(String(req['cpu'])) : 0;
  if (reqCpu === 0 && lim['cpu'] !== undefined) reqCpu = cpuMillis(String(lim['cpu']));
  // MilliCPUToShares: min 2, max 262144
  out.cpuShares = reqCpu === 0 ? 2 : Math.min(262_144, Math.max(2, Math.floor((reqCpu * 1024) / 1000)));
  if (lim['cpu'] !== undefined) {
    const period = 100_000;
    out.cpuPeriod = period;
    out.cpuQuota = Math.max(1000, Math.floor((cpuMillis(String(lim['cpu'])) * period) / 1000));
  }
  if (lim['memory'] !== undefined) out.memoryLimitInBytes = memoryBytes(String(lim['memory']));
  out.oomScoreAdj = oomScoreAdj(pod, req['memory'] !== undefined ? memoryBytes(String(req['memory'])) : 0, memoryCapacity);
  return out;
}

const guaranteedOOMScoreAdj = -997;
const besteffortOOMScoreAdj = 1000;

/** Node-critical pods: static (or mirror) pods, or priority >= 2e9, with priorityClassName system-node-critical. */
function isNodeCriticalPod(pod: V1Pod): boolean {
  const source = pod.metadata?.annotations?.['kubernetes.io/config.source'];
  const critical = (source !== undefined && source !== 'api') || (pod.spec?.priority ?? 0) >= 2_000_000_000;
  return critical && pod.spec?.priorityClassName === 'system-node-critical';
}

/** oom_score_adj by QoS (pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust). */
export function oomScoreAdj(pod: V1Pod, memoryRequest: number, memoryCapacity: number): number {
  if (isNodeCriticalPod(pod)) return guaranteedOOMScoreAdj;
  const qos = getPodQOSClass(pod);
  if (qos === 'Guaranteed') return guaranteedOOMScoreAdj;
  if (qos === 'BestEffort') return besteffortOOMScoreAdj;
  let adj = 1000 - Math.floor((1000 * memoryRequest) / Math.max(1, memoryCapacity));
  if (adj < 1000 + guaranteedOOMScoreAdj) adj = 1000 + guaranteedOOMScoreAdj;
  if (adj === besteffortOOMScoreAdj) adj--;
  return adj;
}

const defaultMaskedPaths = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
const defaultReadonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function containerSecurityContext(pod: V1Pod, c: V1Container, seccompProfileRoot?: string): LinuxContainerSecurityContext {
  const psc = pod.spec?.securityContext;
  const sc = c.securityContext;
  const out: LinuxContainerSecurityContext = { namespaceOptions: namespaceOptions(pod) };
  const privileged = sc?.privileged === true;
  out.privileged = privileged;
  if (sc?.capabilities) out.capabilities = { addCapabilities: sc.capabilities.add ?? [], dropCapabilities: sc.capabilities.drop ?? [] };
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  if (runAsUser !== undefined) out.runAsUser = { value: runAsUser };
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
  if (runAsGroup !== undefined) out.runAsGroup = { value: runAsGroup };
  out.readonlyRootfs = sc?.readOnlyRootFilesystem === true;
  out.noNewPrivs = sc?.allowPrivilegeEscalation === false;
  const groups = [...(psc?.supplementalGroups ?? []), ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : [])];
  if (groups.length) out.supplementalGroups = groups;
  const seccomp = seccompProfile(sc, seccompProfileRoot, seccompProfile(psc, seccompProfileRoot));
  if (seccomp) out.seccomp = seccomp;
  const unmasked = sc?.procMount === 'Unmasked';
  out.maskedPaths = privileged || unmasked ? [] : defaultMaskedPaths;
  out.readonlyPaths = privileged || unmasked ? [] : defaultReadonlyPaths;
  return out;
}

/**
 * runAsNonRoot (verifyRunAsNonRoot): the user the container will run as must not be root.
 * imageUser: the image's configured user (uid or name), '' when it sets none (root).
 */
export function verifyRunAsNonRoot(pod: V1Pod, c: V1Container, imageUser: { uid?: number; username: string }): void {
  const psc = pod.spec?.securityContext;
  const sc = c.securityContext;
  const runAsNonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot;
  if (!runAsNonRoot) return;
  const podRef = `pod: "${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})", container: ${c.name}`;
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  if (runAsUser !== undefined) {
    if (runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy (${podRef})`);
    return;
  }
  if (imageUser.uid !== undefined) {
    if (imageUser.uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (${podRef})`);
    return;
  }
  const name = imageUser.username;
  if (name === '' || name === 'root' || name === '0') throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (${podRef})`);
  if (!/^\d+$/.test(name)) throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${name}), cannot verify user is non-root (${podRef})`);
}

// ---------------------------------------------------------------- container

export interface ContainerConfigInput {
  pod: V1Pod;
  container: V1Container;
  type: 'containers' | 'init-containers';
  restartCount: number;
  hash: string;
  /** The image to run: the image ID the pull resolved to. */
  imageRef: string;
  podIPs: string[];
  node: NodeContext;
  /** Host-side mounts prepared by the caller (volumes, /etc/hosts, termination log). */
  mounts: Mount[];
  /** The ConfigMaps and Secrets the environment references (fetchEnvSources); absent in standalone mode. */
  envSources?: Pick<EnvContext, 'configMaps' | 'secrets'>;
}

export function generateContainerConfig(input: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = input;
  const envs = makeEnvironment(c, { pod, podIPs: input.podIPs, node: input.node, ...input.envSources });
  const env = new Map(envs.map((e) => [e.key, e.value]));
  const lookup = (n: string): string | undefined => env.get(n);
  return {
    metadata: { name: c.name, attempt: input.restartCount },
    image: { image: input.imageRef, userSpecifiedImage: c.image ?? '' },
    command: (c.command ?? []).map((x) => expand(x, lookup)),
    args: (c.args ?? []).map((x) => expand(x, lookup)),
    workingDir: c.workingDir ?? '',
    envs,
    mounts: input.mounts,
    labels: { ...newContainerLabels(c, pod, input.type), [nodeNameLabel]: input.node.nodeName },
    annotations: newContainerAnnotations(c, pod, input.restartCount, input.hash),
    logPath: containerLogPath(c.name, input.restartCount),
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    tty: c.tty === true,
    linux: { resources: containerResources(pod, c, input.node.memoryCapacity), securityContext: containerSecurityContext(pod, c, input.node.seccompProfileRoot) },
  };
}
