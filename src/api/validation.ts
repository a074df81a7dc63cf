// Pod validation (models pkg/apis/core/validation: ValidatePodCreate / ValidatePodSpec and the
// container, port, env, resource, probe and volume checks that matter on a node).
//
// Differences from upstream:
// - fields that defaulting always fills (restartPolicy, dnsPolicy, imagePullPolicy, port protocol,
//   terminationMessagePolicy, httpGet path, a volume's source) are accepted when absent: the pod
//   may be validated before or after setPodDefaults; a present value must be a valid one;
// - the image must parse as a reference (upstream only checks it is non-empty and unpadded, and
//   the kubelet later fails the pull with InvalidImageName);
// - requests > limits is reported on the keyed field (`resources.requests[cpu]`), not on
//   `resources.requests`;
// - not checked: label/annotation syntax, affinity, topology spread, security contexts, DNS config,
//   volume source contents, ephemeral containers, resize policies, pod-level resources.
// Details are worded like upstream's field.Error strings ("Required value", "Duplicate value: ...").

import type { V1Container, V1ContainerPort, V1LifecycleHandler, V1Pod, V1Probe, V1ResourceRequirements } from '@kubernetes/client-node';
import { ValidationError } from '../util/errors.js';
import { parseImageRef } from '../util/imageref.js';
import { volumeSources } from './defaults.js';
import { compareQuantities, isIntegerQuantity, parseQuantityExact, type ParsedQuantity } from './quantity.js';

export interface FieldError {
  field: string;
  detail: string;
}

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const envVarNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const portNameRe = /^[-a-z0-9]+$/;

/** Empty when `v` is a DNS-1123 label (<= 63 chars), else the reason. */
export function isDNS1123Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!dns1123LabelRe.test(v)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Empty when `v` is a DNS-1123 subdomain (<= 253 chars), else the reason. */
export function isDNS1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!dns1123SubdomainRe.test(v)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** IANA_SVC_NAME: <= 15 chars, lowercase alphanumerics and '-', at least one letter, no '--', no leading/trailing '-'. */
export function isValidPortName(v: string): string | undefined {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!portNameRe.test(v)) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
  if (v.includes('--')) return 'must not contain consecutive hyphens';
  if (!/[a-z]/.test(v)) return 'must contain at least one letter (a-z)';
  if (v.startsWith('-') || v.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

function isValidPortNum(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

const restartPolicies = ['Always', 'OnFailure', 'Never'];
const pullPolicies = ['Always', 'IfNotPresent', 'Never'];
const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const protocols = ['TCP', 'UDP', 'SCTP'];
const terminationMessagePolicies = ['File', 'FallbackToLogsOnError'];
const uriSchemes = ['HTTP', 'HTTPS'];
const envFieldPaths = new Set([
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
]);
const envResourceFields = new Set([
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
]);
const standardContainerResources = new Set(['cpu', 'memory', 'ephemeral-storage']);

const q = (v: unknown): string => JSON.stringify(v);
const supported = (list: string[]): string => `supported values: ${list.map((x) => q(x)).join(', ')}`;

class Errors {
  readonly list: FieldError[] = [];
  add(field: string, detail: string): void {
    this.list.push({ field, detail });
  }
  required(field: string, detail = ''): void {
    this.add(field, detail ? `Required value: ${detail}` : 'Required value');
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.add(field, `Invalid value: ${q(value)}: ${detail}`);
  }
  duplicate(field: string, value: unknown): void {
    this.add(field, `Duplicate value: ${q(value)}`);
  }
  notSupported(field: string, value: unknown, list: string[]): void {
    this.add(field, `Unsupported value: ${q(value)}: ${supported(list)}`);
  }
  forbidden(field: string, detail: string): void {
    this.add(field, `Forbidden: ${detail}`);
  }
  notFound(field: string, value: unknown): void {
    this.add(field, `Not found: ${q(value)}`);
  }
}

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Validates a pod as the API server would on create; returns every error found (empty when valid). */
export function validatePod(pod: V1Pod): FieldError[] {
  const e = new Errors();
  const meta = pod.metadata ?? {};
  if (!meta.name) e.required('metadata.name', 'name or generateName is required');
  else {
    const why = isDNS1123Subdomain(meta.name);
    if (why) e.invalid('metadata.name', meta.name, why);
  }
  if (meta.namespace) {
    const why = isDNS1123Label(meta.namespace);
    if (why) e.invalid('metadata.namespace', meta.namespace, why);
  }

  const spec = pod.spec;
  if (!spec) {
    e.required('spec');
    return e.list;
  }
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const path = `spec.volumes[${i}]`;
    if (!v.name) e.required(`${path}.name`);
    else {
      const why = isDNS1123Label(v.name);
      if (why) e.invalid(`${path}.name`, v.name, why);
      else if (volumeNames.has(v.name)) e.duplicate(`${path}.name`, v.name);
      volumeNames.add(v.name);
    }
    const sources = volumeSources(v);
    if (sources.length > 1) e.forbidden(`${path}.${sources[1]}`, 'may not specify more than 1 volume type');
  });

  const containers = spec.containers ?? [];
  const initContainers = spec.initContainers ?? [];
  if (containers.length === 0) e.required('spec.containers');
  const names = new Set<string>();
  initContainers.forEach((c, i) => validateContainer(e, c, `spec.initContainers[${i}]`, { init: true, names, volumeNames }));
  containers.forEach((c, i) => validateContainer(e, c, `spec.containers[${i}]`, { init: false, names, volumeNames }));

  // Host ports are unique per hostIP/protocol/port among the regular containers (they run together);
  // init containers run one at a time, so each is checked on its own.
  checkHostPorts(e, containers, 'spec.containers');
  initContainers.forEach((c, i) => checkHostPorts(e, [c], `spec.initContainers[${i}]`, true));

  if (isSet(spec.restartPolicy) && !restartPolicies.includes(spec.restartPolicy!)) {
    e.notSupported('spec.restartPolicy', spec.restartPolicy, restartPolicies);
  }
  if (isSet(spec.dnsPolicy) && !dnsPolicies.includes(spec.dnsPolicy!)) e.notSupported('spec.dnsPolicy', spec.dnsPolicy, dnsPolicies);
  nonNegative(e, 'spec.terminationGracePeriodSeconds', spec.terminationGracePeriodSeconds);
  if (isSet(spec.activeDeadlineSeconds) && !(Number.isInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds! > 0)) {
    e.invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive');
  }
  if (spec.hostNetwork) {
    for (const [list, name] of [[containers, 'containers'], [initContainers, 'initContainers']] as const) {
      list.forEach((c, i) =>
        (c.ports ?? []).forEach((p, j) => {
          if (isSet(p.hostPort) && p.hostPort !== 0 && p.hostPort !== p.containerPort) {
            e.invalid(`spec.${name}[${i}].ports[${j}].hostPort`, p.hostPort, 'must match `containerPort` when `hostNetwork` is true');
          }
        }),
      );
    }
  }
  return e.list;
}

function nonNegative(e: Errors, field: string, v: unknown): void {
  if (!isSet(v)) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) e.invalid(field, v, 'must be an integer');
  else if (v < 0) e.invalid(field, v, 'must be greater than or equal to 0');
}

interface ContainerCtx {
  init: boolean;
  names: Set<string>;
  volumeNames: Set<string>;
}

function validateContainer(e: Errors, c: V1Container, path: string, ctx: ContainerCtx): void {
  if (!c.name) e.required(`${path}.name`);
  else {
    const why = isDNS1123Label(c.name);
    if (why) e.invalid(`${path}.name`, c.name, why);
    else if (ctx.names.has(c.name)) e.duplicate(`${path}.name`, c.name);
    ctx.names.add(c.name);
  }

  if (!c.image) e.required(`${path}.image`);
  else if (c.image.trim() !== c.image) e.invalid(`${path}.image`, c.image, 'must not have leading or trailing whitespace');
  else {
    try {
      parseImageRef(c.image);
    } catch (err) {
      e.invalid(`${path}.image`, c.image, err instanceof ValidationError ? err.detail : String(err));
    }
  }
  if (isSet(c.imagePullPolicy) && !pullPolicies.includes(c.imagePullPolicy!)) e.notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, pullPolicies);
  if (isSet(c.terminationMessagePolicy) && !terminationMessagePolicies.includes(c.terminationMessagePolicy!)) {
    e.notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, terminationMessagePolicies);
  }

  // Container restart policy: only "Always" on init containers (sidecars), never on regular ones.
  const sidecar = ctx.init && c.restartPolicy === 'Always';
  if (isSet(c.restartPolicy)) {
    if (!ctx.init) e.forbidden(`${path}.restartPolicy`, 'may not be set for non-init containers');
    else if (c.restartPolicy !== 'Always') e.notSupported(`${path}.restartPolicy`, c.restartPolicy, ['Always']);
  }
  if (ctx.init && !sidecar) {
    for (const k of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (isSet(c[k])) e.forbidden(`${path}.${k}`, 'may not be set for init containers without restartPolicy=Always');
    }
  } else {
    if (c.livenessProbe) validateProbe(e, c.livenessProbe, `${path}.livenessProbe`, true);
    if (c.readinessProbe) validateProbe(e, c.readinessProbe, `${path}.readinessProbe`, false);
    if (c.startupProbe) validateProbe(e, c.startupProbe, `${path}.startupProbe`, true);
    if (c.lifecycle?.postStart) validateLifecycleHandler(e, c.lifecycle.postStart, `${path}.lifecycle.postStart`);
    if (c.lifecycle?.preStop) validateLifecycleHandler(e, c.lifecycle.preStop, `${path}.lifecycle.preStop`);
  }

  validatePorts(e, c.ports ?? [], `${path}.ports`);
  validateEnv(e, c, path);
  if (c.resources) validateResources(e, c.resources, `${path}.resources`);

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const mp = `${path}.volumeMounts[${i}]`;
    if (!m.name) e.required(`${mp}.name`);
    else if (!ctx.volumeNames.has(m.name)) e.notFound(`${mp}.name`, m.name);
    if (!m.mountPath) e.required(`${mp}.mountPath`);
    else if (mountPaths.has(m.mountPath)) e.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique');
    else mountPaths.add(m.mountPath);
    if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
      e.invalid(`${mp}.subPath`, m.subPath, "must be a relative path without '..'");
    }
  });
}

function validatePorts(e: Errors, ports: V1ContainerPort[], path: string): void {
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `${path}[${i}]`;
    if (p.name) {
      const why = isValidPortName(p.name);
      if (why) e.invalid(`${pp}.name`, p.name, why);
      else if (names.has(p.name)) e.duplicate(`${pp}.name`, p.name);
      names.add(p.name);
    }
    if (!isSet(p.containerPort) || p.containerPort === 0) e.required(`${pp}.containerPort`);
    else if (!isValidPortNum(p.containerPort)) e.invalid(`${pp}.containerPort`, p.containerPort, 'must be between 1 and 65535, inclusive');
    if (isSet(p.hostPort) && p.hostPort !== 0 && !isValidPortNum(p.hostPort)) {
      e.invalid(`${pp}.hostPort`, p.hostPort, 'must be between 1 and 65535, inclusive');
    }
    if (isSet(p.protocol) && !protocols.includes(p.protocol!)) e.notSupported(`${pp}.protocol`, p.protocol, protocols);
  });
}

function checkHostPorts(e: Errors, containers: V1Container[], path: string, single = false): void {
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    (c.ports ?? []).forEach((p, pi) => {
      if (!p.hostPort) return;
      const key = `${p.hostIP ?? ''}/${p.protocol || 'TCP'}/${p.hostPort}`;
      const field = single ? `${path}.ports[${pi}].hostPort` : `${path}[${ci}].ports[${pi}].hostPort`;
      if (seen.has(key)) e.duplicate(field, key);
      seen.add(key);
    });
  });
}

function validateEnv(e: Errors, c: V1Container, path: string): void {
  (c.env ?? []).forEach((ev, i) => {
    const ep = `${path}.env[${i}]`;
    if (!ev.name) e.required(`${ep}.name`);
    else if (!envVarNameRe.test(ev.name)) {
      e.invalid(`${ep}.name`, ev.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit");
    }
    const vf = ev.valueFrom;
    if (!vf) return;
    const vp = `${ep}.valueFrom`;
    const kinds = (['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'] as const).filter((k) => isSet(vf[k]));
    if (kinds.length === 0) {
      e.invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
      return;
    }
    if (ev.value) e.invalid(vp, '', 'may not be specified when `value` is not empty');
    if (kinds.length > 1) {
      e.invalid(vp, '', 'may not have more than one field specified at a time');
      return;
    }
    if (vf.fieldRef) {
      const fp = vf.fieldRef.fieldPath;
      if (vf.fieldRef.apiVersion && vf.fieldRef.apiVersion !== 'v1') e.notSupported(`${vp}.fieldRef.apiVersion`, vf.fieldRef.apiVersion, ['v1']);
      if (!fp) e.required(`${vp}.fieldRef.fieldPath`);
      else if (!envFieldPaths.has(fp) && !/^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp)) {
        e.notSupported(`${vp}.fieldRef.fieldPath`, fp, [...envFieldPaths, "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']"]);
      }
    }
    if (vf.resourceFieldRef) {
      const r = vf.resourceFieldRef.resource;
      if (!r) e.required(`${vp}.resourceFieldRef.resource`);
      else if (!envResourceFields.has(r) && !/^(limits|requests)\.hugepages-/.test(r)) {
        e.notSupported(`${vp}.resourceFieldRef.resource`, r, [...envResourceFields]);
      }
      if (vf.resourceFieldRef.divisor !== undefined) quantityOrError(e, `${vp}.resourceFieldRef.divisor`, vf.resourceFieldRef.divisor);
    }
    for (const k of ['configMapKeyRef', 'secretKeyRef'] as const) {
      const ref = vf[k];
      if (ref && !ref.key) e.required(`${vp}.${k}.key`);
    }
  });
  (c.envFrom ?? []).forEach((src, i) => {
    const fp = `${path}.envFrom[${i}]`;
    const n = (isSet(src.configMapRef) ? 1 : 0) + (isSet(src.secretRef) ? 1 : 0);
    if (n !== 1) e.invalid(fp, '', 'must specify one of: `configMapRef` or `secretRef`');
    if (src.prefix && !envVarNameRe.test(src.prefix)) e.invalid(`${fp}.prefix`, src.prefix, 'must be a valid environment variable name');
  });
}

function quantityOrError(e: Errors, field: string, v: unknown): ParsedQuantity | undefined {
  try {
    return parseQuantityExact(v as string | number, field);
  } catch (err) {
    e.invalid(field, v, err instanceof ValidationError ? err.detail : String(err));
    return undefined;
  }
}

/** A native resource has no domain, or a kubernetes.io domain. */
function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

function validateResourceName(e: Errors, name: string, field: string): boolean {
  if (standardContainerResources.has(name) || name.startsWith('hugepages-')) return true;
  if (!isNativeResource(name)) return true; // extended resource, e.g. example.com/gpu
  e.invalid(field, name, 'must be a standard resource for containers');
  return false;
}

function validateResources(e: Errors, r: V1ResourceRequirements, path: string): void {
  const parsed: Record<'limits' | 'requests', Map<string, ParsedQuantity>> = { limits: new Map(), requests: new Map() };
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, value] of Object.entries(r[kind] ?? {})) {
      const field = `${path}.${kind}[${name}]`;
      if (!validateResourceName(e, name, field)) continue;
      const p = quantityOrError(e, field, value);
      if (!p) continue;
      if (p.negative) {
        e.invalid(field, value, 'must be greater than or equal to 0');
        continue;
      }
      if (!isNativeResource(name) && !isIntegerQuantity(p)) {
        e.invalid(field, value, 'must be an integer');
        continue;
      }
      parsed[kind].set(name, p);
    }
  }
  for (const [name] of parsed.requests) {
    const req = r.requests![name]!;
    const field = `${path}.requests[${name}]`;
    const overcommit = isNativeResource(name) && !name.startsWith('hugepages-');
    const lim = r.limits?.[name];
    if (lim === undefined || !parsed.limits.has(name)) {
      if (lim === undefined && !overcommit) e.required(`${path}.limits[${name}]`, 'Limit must be set for non overcommitable resources');
      continue;
    }
    const cmp = compareQuantities(req, lim);
    if (!overcommit && cmp !== 0) e.invalid(field, req, `must be equal to ${name} limit of ${lim}`);
    else if (cmp > 0) e.invalid(field, req, `must be less than or equal to ${name} limit of ${lim}`);
  }
}

type HandlerKind = 'exec' | 'httpGet' | 'tcpSocket' | 'grpc' | 'sleep';

function validateHandler(e: Errors, h: V1Probe | V1LifecycleHandler, path: string, kinds: HandlerKind[]): void {
  const rec = h as Record<string, unknown>;
  const set = kinds.filter((k) => isSet(rec[k]));
  if (set.length === 0) {
    e.required(path, 'must specify a handler type');
    return;
  }
  if (set.length > 1) {
    e.forbidden(`${path}.${set[1]}`, 'may not specify more than 1 handler type');
    return;
  }
  const exec = (h as V1Probe).exec;
  if (exec && !(exec.command && exec.command.length > 0)) e.required(`${path}.exec.command`);
  const http = h.httpGet;
  if (http) {
    validatePortNumOrName(e, http.port, `${path}.httpGet.port`);
    if (isSet(http.scheme) && http.scheme !== '' && !uriSchemes.includes(http.scheme!)) e.notSupported(`${path}.httpGet.scheme`, http.scheme, uriSchemes);
  }
  if (h.tcpSocket) validatePortNumOrName(e, h.tcpSocket.port, `${path}.tcpSocket.port`);
  const grpc = (h as V1Probe).grpc;
  if (grpc && !isValidPortNum(grpc.port)) e.invalid(`${path}.grpc.port`, grpc.port, 'must be between 1 and 65535, inclusive');
  const sleep = (h as V1LifecycleHandler).sleep;
  if (sleep) nonNegative(e, `${path}.sleep.seconds`, sleep.seconds);
}

function validatePortNumOrName(e: Errors, port: unknown, field: string): void {
  if (typeof port === 'number') {
    if (!isValidPortNum(port)) e.invalid(field, port, 'must be between 1 and 65535, inclusive');
  } else if (typeof port === 'string' && port !== '') {
    if (/^\d+$/.test(port)) {
      if (!isValidPortNum(Number(port))) e.invalid(field, port, 'must be between 1 and 65535, inclusive');
      return;
    }
    const why = isValidPortName(port);
    if (why) e.invalid(field, port, why);
  } else {
    e.required(field);
  }
}

function validateProbe(e: Errors, p: V1Probe, path: string, successMustBeOne: boolean): void {
  validateHandler(e, p, path, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    nonNegative(e, `${path}.${k}`, p[k]);
  }
  if (isSet(p.terminationGracePeriodSeconds) && !(p.terminationGracePeriodSeconds! > 0)) {
    e.invalid(`${path}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0');
  }
  if (successMustBeOne && isSet(p.successThreshold) && p.successThreshold !== 0 && p.successThreshold !== 1) {
    e.invalid(`${path}.successThreshold`, p.successThreshold, 'must be 1');
  }
}

function validateLifecycleHandler(e: Errors, h: V1LifecycleHandler, path: string): void {
  validateHandler(e, h, path, ['exec', 'httpGet', 'tcpSocket', 'sleep']);
}

/**
 * Throws a ValidationError for the first error (naming `object` and the field); the message
 * lists the others too. Returns the pod when it is valid.
 */
export function validatePodOrThrow(pod: V1Pod, object: string): V1Pod {
  const errs = validatePod(pod);
  const first = errs[0];
  if (!first) return pod;
  const more = errs.slice(1).map((x) => `${x.field}: ${x.detail}`);
  const detail = more.length ? `${first.detail} (and ${more.length} more: ${more.join('; ')})` : first.detail;
  throw new ValidationError(object, first.field, detail);
}
