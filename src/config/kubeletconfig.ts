// KubeletConfiguration (kubelet.config.k8s.io/v1beta1): the kubelet's config file format, plus
// the command-line flags that override it, merged into one validated, defaulted object.
//
// Field names, defaults and duration formats are upstream's. Fields upstream has but nodelet does
// not implement yet are accepted and reported at info level; fields upstream does not have are
// warned about (upstream's strict decoding warns too); a field with a wrong type or value is
// rejected with the file and the field named.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, ValidationError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  /** CRI runtime endpoint, upstream default unix:///run/containerd/containerd.sock. */
  containerRuntimeEndpoint: string;
  /** CRI image endpoint; empty means the runtime endpoint. */
  imageServiceEndpoint: string;
  /** Deadline of runtime calls except long-running ones (pulls, logs, exec, attach). */
  runtimeRequestTimeout: string;
  /** Directory (or file) of static pod manifests; empty = none. */
  staticPodPath: string;
  /** URL of static pod manifests; empty = none. */
  staticPodURL: string;
  /** How often pods are resynced (the kubelet's 1m0s). */
  syncFrequency: string;
  fileCheckFrequency: string;
  httpCheckFrequency: string;
  healthzBindAddress: string;
  healthzPort: number;
  /** Where pod log directories go (upstream /var/log/pods). */
  podLogsDir: string;
  resolvConf: string;
  clusterDNS: string[];
  clusterDomain: string;
  maxPods: number;
  address: string;
  port: number;
  readOnlyPort: number;
  /** Rotate a container's log once it reaches this size (a quantity). */
  containerLogMaxSize: string;
  /** Keep at most this many log files per container (current + rotated). */
  containerLogMaxFiles: number;
  /** Pull one image at a time (upstream default true). */
  serializeImagePulls: boolean;
  /** Cap on parallel pulls when serializeImagePulls is false (unset/0: no cap). */
  maxParallelImagePulls?: number;
  /** Image pulls per second (0: no limit) and the burst above it. */
  registryPullQPS: number;
  registryBurst: number;
  /** An unused image is not garbage collected before it has been known this long. */
  imageMinimumGCAge: string;
  /** An image unused for this long is garbage collected whatever the disk usage ("0s": off). */
  imageMaximumGCAge: string;
  /** Image GC runs above this disk usage (percent) and frees down to the low threshold. */
  imageGCHighThresholdPercent: number;
  imageGCLowThresholdPercent: number;
  /** Hard eviction thresholds, signal -> quantity or percentage (e.g. nodefs.available: 10%). */
  evictionHard: Record<string, string>;
  /** How long a pressure condition stays after its threshold stops being met. */
  evictionPressureTransitionPeriod: string;
  /** Serve the kubelet API on address:port (cluster mode). */
  enableServer: boolean;
  /** Serving certificate and key files; empty: self-signed in --cert-dir (or by CSR with serverTLSBootstrap). */
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  /** Rotate the client certificate by CSR as it nears expiry. */
  rotateCertificates: boolean;
  /** Request the serving certificate by CSR (kubernetes.io/kubelet-serving) instead of a self-signed one. */
  serverTLSBootstrap: boolean;
  /** Who may call the kubelet API on :10250. */
  authentication: KubeletAuthentication;
  authorization: KubeletAuthorization;
  /** Events per second to the API (0: no limit) and the burst above it. */
  eventRecordQPS: number;
  eventBurst: number;
  /** How often the node status is computed, and posted when unchanged. */
  nodeStatusUpdateFrequency: string;
  nodeStatusReportFrequency: string;
  nodeLeaseDurationSeconds: number;
}

export interface KubeletAuthentication {
  x509: { clientCAFile: string };
  webhook: { enabled: boolean; cacheTTL: string };
  anonymous: { enabled: boolean };
}

export interface KubeletAuthorization {
  mode: 'Webhook' | 'AlwaysAllow';
  webhook: { cacheAuthorizedTTL: string; cacheUnauthorizedTTL: string };
}

export const defaultRuntimeEndpoint = 'unix:///run/containerd/containerd.sock';

/** The kubelet's Linux evictionHard defaults (pkg/kubelet/eviction/defaults_linux.go). */
export const defaultEvictionHard: Readonly<Record<string, string>> = {
  'memory.available': '100Mi',
  'nodefs.available': '10%',
  'nodefs.inodesFree': '5%',
  'imagefs.available': '15%',
  'imagefs.inodesFree': '5%',
};

export function defaultKubeletConfiguration(): KubeletConfiguration {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    containerRuntimeEndpoint: defaultRuntimeEndpoint,
    imageServiceEndpoint: '',
    runtimeRequestTimeout: '2m0s',
    staticPodPath: '',
    staticPodURL: '',
    syncFrequency: '1m0s',
    fileCheckFrequency: '20s',
    httpCheckFrequency: '20s',
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    podLogsDir: '/var/log/pods',
    resolvConf: '/etc/resolv.conf',
    clusterDNS: [],
    clusterDomain: '',
    maxPods: 110,
    address: '0.0.0.0',
    port: 10250,
    readOnlyPort: 0,
    containerLogMaxSize: '10Mi',
    containerLogMaxFiles: 5,
    serializeImagePulls: true,
    registryPullQPS: 5,
    registryBurst: 10,
    imageMinimumGCAge: '2m0s',
    imageMaximumGCAge: '0s',
    imageGCHighThresholdPercent: 85,
    imageGCLowThresholdPercent: 80,
    evictionHard: { ...defaultEvictionHard },
    evictionPressureTransitionPeriod: '5m0s',
    enableServer: true,
    tlsCertFile: '',
    tlsPrivateKeyFile: '',
    rotateCertificates: false,
    serverTLSBootstrap: false,
    authentication: { x509: { clientCAFile: '' }, webhook: { enabled: true, cacheTTL: '2m0s' }, anonymous: { enabled: false } },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '5m0s', cacheUnauthorizedTTL: '30s' } },
    eventRecordQPS: 50,
    eventBurst: 100,
    nodeStatusUpdateFrequency: '10s',
    nodeStatusReportFrequency: '5m0s',
    nodeLeaseDurationSeconds: 40,
  };
}

type FieldKind = 'string' | 'duration' | 'port' | 'int' | 'stringList' | 'bool' | 'percent' | 'stringMap' | { oneOf: string[] } | { [sub: string]: FieldKind };
const fieldKinds: Record<Exclude<keyof KubeletConfiguration, 'apiVersion' | 'kind'>, FieldKind> = {
  containerRuntimeEndpoint: 'string',
  imageServiceEndpoint: 'string',
  runtimeRequestTimeout: 'duration',
  staticPodPath: 'string',
  staticPodURL: 'string',
  syncFrequency: 'duration',
  fileCheckFrequency: 'duration',
  httpCheckFrequency: 'duration',
  healthzBindAddress: 'string',
  healthzPort: 'port',
  podLogsDir: 'string',
  resolvConf: 'string',
  clusterDNS: 'stringList',
  clusterDomain: 'string',
  maxPods: 'int',
  address: 'string',
  port: 'port',
  readOnlyPort: 'port',
  containerLogMaxSize: 'string',
  containerLogMaxFiles: 'int',
  serializeImagePulls: 'bool',
  maxParallelImagePulls: 'int',
  registryPullQPS: 'int',
  registryBurst: 'int',
  imageMinimumGCAge: 'duration',
  imageMaximumGCAge: 'duration',
  imageGCHighThresholdPercent: 'percent',
  imageGCLowThresholdPercent: 'percent',
  evictionHard: 'stringMap',
  evictionPressureTransitionPeriod: 'duration',
  enableServer: 'bool',
  tlsCertFile: 'string',
  tlsPrivateKeyFile: 'string',
  rotateCertificates: 'bool',
  serverTLSBootstrap: 'bool',
  authentication: { x509: { clientCAFile: 'string' }, webhook: { enabled: 'bool', cacheTTL: 'duration' }, anonymous: { enabled: 'bool' } },
  authorization: { mode: { oneOf: ['Webhook', 'AlwaysAllow'] }, webhook: { cacheAuthorizedTTL: 'duration', cacheUnauthorizedTTL: 'duration' } },
  eventRecordQPS: 'int',
  eventBurst: 'int',
  nodeStatusUpdateFrequency: 'duration',
  nodeStatusReportFrequency: 'duration',
  nodeLeaseDurationSeconds: 'int',
};

/** Upstream v1beta1 fields nodelet accepts but does not act on yet. */
export const notYetImplementedFields = new Set([
  'staticPodURLHeader', 'tlsCipherSuites', 'tlsMinVersion',
  'enableDebuggingHandlers', 'enableContentionProfiling', 'oomScoreAdj', 'streamingConnectionIdleTimeout',
  'volumeStatsAggPeriod', 'kubeletCgroups', 'systemCgroups', 'cgroupRoot', 'cgroupsPerQOS', 'cgroupDriver',
  'cpuManagerPolicy', 'cpuManagerPolicyOptions', 'cpuManagerReconcilePeriod', 'memoryManagerPolicy', 'topologyManagerPolicy',
  'topologyManagerScope', 'topologyManagerPolicyOptions', 'qosReserved', 'hairpinMode', 'podCIDR', 'podPidsLimit', 'cpuCFSQuota',
  'cpuCFSQuotaPeriod', 'nodeStatusMaxImages', 'maxOpenFiles', 'contentType', 'kubeAPIQPS', 'kubeAPIBurst', 'evictionSoft', 'evictionSoftGracePeriod', 'evictionMaxPodGracePeriod', 'evictionMinimumReclaim', 'podsPerCore', 'enableControllerAttachDetach', 'protectKernelDefaults',
  'makeIPTablesUtilChains', 'iptablesMasqueradeBit', 'iptablesDropBit', 'featureGates', 'failSwapOn', 'memorySwap',
  'containerLogMaxWorkers', 'containerLogMonitorInterval', 'configMapAndSecretChangeDetectionStrategy',
  'systemReserved', 'kubeReserved', 'reservedSystemCPUs', 'showHiddenMetricsForVersion', 'systemReservedCgroup', 'kubeReservedCgroup',
  'enforceNodeAllocatable', 'allowedUnsafeSysctls', 'volumePluginDir', 'providerID', 'kernelMemcgNotification', 'logging',
  'enableSystemLogHandler', 'enableSystemLogQuery', 'shutdownGracePeriod', 'shutdownGracePeriodCriticalPods', 'shutdownGracePeriodByPodPriority',
  'reservedMemory', 'enableProfilingHandler', 'enableDebugFlagsHandler', 'seccompDefault', 'memoryThrottlingFactor',
  'registerWithTaints', 'registerNode', 'tracing', 'localStorageCapacityIsolation', 'failCgroupV1',
  'crashLoopBackOff', 'singleProcessOOMKill', 'userNamespaces', 'mergeDefaultEvictionSettings', 'imagePullCredentialsVerificationPolicy',
  'preloadedImagesVerificationAllowlist',
]);

export interface ConfigNotice {
  level: 'info' | 'warn';
  field: string;
  message: string;
}

/**
 * Checks a field's value; a nested object (authentication, authorization) is checked field by
 * field and returned merged over its defaults, so a file may set only what it changes.
 */
function checkField(source: string, field: string, kind: FieldKind, v: unknown, defaults?: unknown): unknown {
  const bad = (what: string): never => {
    throw new ValidationError(source, field, `${what}, got ${JSON.stringify(v)}`);
  };
  if (typeof kind === 'object') {
    if ('oneOf' in kind && Array.isArray(kind.oneOf)) {
      if (typeof v !== 'string' || !kind.oneOf.includes(v)) bad(`must be one of ${kind.oneOf.join(', ')}`);
      return v;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('must be an object');
    const out: Record<string, unknown> = { ...(defaults as Record<string, unknown> | undefined) };
    const sub = kind as Record<string, FieldKind>;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const subKind = sub[k];
      if (!subKind) throw new ValidationError(source, `${field}.${k}`, 'unknown field');
      out[k] = checkField(source, `${field}.${k}`, subKind, x, out[k]);
    }
    return out;
  }
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') bad('must be a string');
      break;
    case 'duration':
      if (typeof v !== 'string') bad('must be a duration string such as "20s"');
      try {
        if (parseDuration(v as string) < 0) bad('must not be negative');
      } catch (e) {
        if (e instanceof ValidationError) throw e;
        bad((e as Error).message);
      }
      break;
    case 'port':
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 65535) bad('must be a port number 0..65535');
      break;
    case 'int':
      if (!Number.isInteger(v) || (v as number) < 0) bad('must be a non-negative integer');
      break;
    case 'stringList':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad('must be a list of strings');
      break;
    case 'bool':
      if (typeof v !== 'boolean') bad('must be true or false');
      break;
    case 'percent':
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 100) bad('must be an integer percentage 0..100');
      break;
    case 'stringMap':
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) bad('must be a map of strings');
      break;
  }
  return v;
}

/**
 * Applies defaults to a decoded config object and validates it. Notices (unknown or not yet
 * implemented fields) are returned for the caller to log.
 */
export function completeKubeletConfiguration(raw: Record<string, unknown>, source = 'KubeletConfiguration', notices: ConfigNotice[] = []): KubeletConfiguration {
  if (raw['apiVersion'] !== undefined && raw['apiVersion'] !== 'kubelet.config.k8s.io/v1beta1') {
    throw new ValidationError(source, 'apiVersion', `must be kubelet.config.k8s.io/v1beta1, got "${String(raw['apiVersion'])}"`);
  }
  if (raw['kind'] !== undefined && raw['kind'] !== 'KubeletConfiguration') {
    throw new ValidationError(source, 'kind', `must be KubeletConfiguration, got "${String(raw['kind'])}"`);
  }
  const cfg = defaultKubeletConfiguration() as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    const kind = (fieldKinds as Record<string, FieldKind | undefined>)[k];
    if (kind) {
      cfg[k] = checkField(source, k, kind, v, cfg[k]);
    } else if (notYetImplementedFields.has(k)) {
      notices.push({ level: 'info', field: k, message: `${source}: field "${k}" is accepted but not implemented by nodelet yet` });
    } else {
      notices.push({ level: 'warn', field: k, message: `${source}: unknown field "${k}"` });
    }
  }
  const out = cfg as unknown as KubeletConfiguration;
  if (out.imageGCLowThresholdPercent >= out.imageGCHighThresholdPercent) {
    throw new ValidationError(source, 'imageGCLowThresholdPercent', `must be less than imageGCHighThresholdPercent (${out.imageGCHighThresholdPercent}), got ${out.imageGCLowThresholdPercent}`);
  }
  if (out.containerRuntimeEndpoint === '') {
    throw new ValidationError(source, 'containerRuntimeEndpoint', 'must be a non-empty endpoint such as unix:///run/containerd/containerd.sock');
  }
  return out;
}

/** Reads a KubeletConfiguration YAML/JSON file. */
export function loadKubeletConfiguration(path: string, notices: ConfigNotice[] = []): KubeletConfiguration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read kubelet config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`kubelet config file ${path} is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`kubelet config file ${path} must hold one KubeletConfiguration object`);
  }
  return completeKubeletConfiguration(raw as Record<string, unknown>, path, notices);
}
