// Pod spec -> CRI configs, as the kubelet builds them (kuberuntime_sandbox.go
// generatePodSandboxConfig, kuberuntime_container.go generateContainerConfig,
// kuberuntime_container_linux.go, kubelet_pods.go makeEnvironmentVariables / makeMounts,
// pkg/kubelet/network/dns).
//
// Differences: no cgroup parent (the kubelet's QoS cgroup hierarchy is not built yet: pods land
// under the runtime's default parent); configMap/secret env sources fail with
// CreateContainerConfigError until cluster mode brings an API to read them from.

import { join } from 'node:path';
import type { V1Container, V1EnvVar, V1Pod, V1SecurityContext, V1PodSecurityContext } from '@kubernetes/client-node';
import { expand } from '../../api/expansion.js';
import { getPodQOSClass } from '../../api/qos.js';
import { cpuMillis, memoryBytes } from '../../api/quantity.js';
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

export interface EnvContext {
  pod: V1Pod;
  podIPs: string[];
  node: NodeContext;
}

function fieldRefValue(path: string, ctx: EnvContext): string {
  const md = ctx.pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
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
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath "${path}"`);
  }
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

/** The container's environment (makeEnvironmentVariables), with $(VAR) expansion of earlier variables. */
export function makeEnvironment(c: V1Container, ctx: EnvContext): KeyValue[] {
  const out = new Map<string, string>();
  for (const from of c.envFrom ?? []) {
    const kind = from.configMapRef ? 'configmap' : from.secretRef ? 'secret' : undefined;
    const ref = from.configMapRef ?? from.secretRef;
    if (!kind || !ref) continue;
    if (ref.optional) continue;
    throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
  }
  const lookup = (name: string): string | undefined => out.get(name);
  for (const e of c.env ?? ([] as V1EnvVar[])) {
    let value: string;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldRefValue(vf.fieldRef.fieldPath, ctx);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName ? (ctx.pod.spec?.containers ?? []).find((x) => x.name === vf.resourceFieldRef!.containerName) ?? c : c;
        value = resourceFieldValue(target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | undefined, ctx);
      } else if (vf.configMapKeyRef) {
        if (vf.configMapKeyRef.optional) continue;
        throw new ContainerConfigError(`configmap "${vf.configMapKeyRef.name}" not found`);
      } else if (vf.secretKeyRef) {
        if (vf.secretKeyRef.optional) continue;
        throw new ContainerConfigError(`secret "${vf.secretKeyRef.name}" not found`);
      } else value = '';
    } else {
      value = expand(e.value ?? '', lookup);
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
}

export function generateContainerConfig(input: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = input;
  const envs = makeEnvironment(c, { pod, podIPs: input.podIPs, node: input.node });
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
