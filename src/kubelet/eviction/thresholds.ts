// Eviction thresholds (models pkg/kubelet/eviction/api/types.go and helpers.go: ParseThresholdConfig,
// parseThresholdStatement, parsePercentage, parseGracePeriods, parseMinimumReclaims,
// GetThresholdQuantity; the Linux defaults are defaults_linux.go, kept in src/config).
//
// As upstream: every signal's operator is LessThan; a value is a quantity ("100Mi", > 0) or a
// percentage of capacity ("10%", 0..100; exactly "0%" and "100%" mean "no threshold"); a
// percentage is held as a float32 fraction and applied as trunc(capacity * fraction), so the
// boundary falls where the kubelet's does. A hard threshold has grace period 0; soft thresholds need
// a grace period per signal; minimum reclaims attach to the thresholds of their signal.
//
// Differences: statements are parsed in the map's key order (Go's is random), so the first bad
// entry is the one reported; errors are ValidationErrors naming the field and the signal
// (`KubeletConfiguration: evictionHard[nodefs.available]: ...`); a percentage must be a decimal
// number (Go's ParseFloat also takes hex, "Inf" and "NaN"); a quantity is held as a JS number.

import { parseQuantity } from '../../api/quantity.js';
import { parseDuration } from '../../util/duration.js';
import { ValidationError } from '../../util/errors.js';

export const SignalMemoryAvailable = 'memory.available';
export const SignalNodeFsAvailable = 'nodefs.available';
export const SignalNodeFsInodesFree = 'nodefs.inodesFree';
export const SignalImageFsAvailable = 'imagefs.available';
export const SignalImageFsInodesFree = 'imagefs.inodesFree';
export const SignalContainerFsAvailable = 'containerfs.available';
export const SignalContainerFsInodesFree = 'containerfs.inodesFree';
export const SignalAllocatableMemoryAvailable = 'allocatableMemory.available';
export const SignalPIDAvailable = 'pid.available';

/** The eviction signals upstream accepts (validSignal: the keys of signalToResource). */
export const signals = [
  SignalMemoryAvailable,
  SignalAllocatableMemoryAvailable,
  SignalNodeFsAvailable,
  SignalNodeFsInodesFree,
  SignalImageFsAvailable,
  SignalImageFsInodesFree,
  SignalContainerFsAvailable,
  SignalContainerFsInodesFree,
  SignalPIDAvailable,
] as const;

export type Signal = (typeof signals)[number];

export type NodeConditionType = 'MemoryPressure' | 'DiskPressure' | 'PIDPressure';

/** signalToNodeCondition. */
export const signalToNodeCondition: Readonly<Record<Signal, NodeConditionType>> = {
  'memory.available': 'MemoryPressure',
  'allocatableMemory.available': 'MemoryPressure',
  'nodefs.available': 'DiskPressure',
  'nodefs.inodesFree': 'DiskPressure',
  'imagefs.available': 'DiskPressure',
  'imagefs.inodesFree': 'DiskPressure',
  'containerfs.available': 'DiskPressure',
  'containerfs.inodesFree': 'DiskPressure',
  'pid.available': 'PIDPressure',
};

/** signalToResource: the resource named in "Attempting to reclaim <resource>". */
export const signalToResource: Readonly<Record<Signal, string>> = {
  'memory.available': 'memory',
  'allocatableMemory.available': 'memory',
  'nodefs.available': 'ephemeral-storage',
  'nodefs.inodesFree': 'inodes',
  'imagefs.available': 'ephemeral-storage',
  'imagefs.inodesFree': 'inodes',
  'containerfs.available': 'ephemeral-storage',
  'containerfs.inodesFree': 'inodes',
  'pid.available': 'pids',
};

export function isSignal(s: string): s is Signal {
  return (signals as readonly string[]).includes(s);
}

/** A quantity (bytes, inodes or PIDs) or a fraction of capacity (0.1 for "10%"), as ThresholdValue. */
export type ThresholdValue = { quantity: number } | { percentage: number };

export interface Threshold {
  signal: Signal;
  operator: 'LessThan';
  value: ThresholdValue;
  /** 0 for a hard threshold. */
  gracePeriodMs: number;
  minReclaim?: ThresholdValue;
  /** The statement as written ("10%", "100Mi"), for logs. */
  text: string;
}

export interface ThresholdConfig {
  evictionHard?: Record<string, string>;
  evictionSoft?: Record<string, string>;
  evictionSoftGracePeriod?: Record<string, string>;
  evictionMinimumReclaim?: Record<string, string>;
}

/**
 * Parses the eviction settings into thresholds (upstream ParseThresholdConfig without the
 * allocatable thresholds, which need enforceNodeAllocatable). `source` names the object in errors.
 */
export function parseThresholdConfig(cfg: ThresholdConfig, source = 'KubeletConfiguration'): Threshold[] {
  const hard = parseThresholdStatements(cfg.evictionHard, 'evictionHard', source);
  const soft = parseThresholdStatements(cfg.evictionSoft, 'evictionSoft', source);
  const grace = parseGracePeriods(cfg.evictionSoftGracePeriod, source);
  const minReclaims = parseMinimumReclaims(cfg.evictionMinimumReclaim, source);
  for (const t of soft) {
    const period = grace.get(t.signal);
    if (period === undefined) {
      throw new ValidationError(source, `evictionSoftGracePeriod[${t.signal}]`, `grace period must be specified for the soft eviction threshold ${t.signal}`);
    }
    t.gracePeriodMs = period;
  }
  const results = [...hard, ...soft];
  for (const t of results) {
    const mr = minReclaims.get(t.signal);
    if (mr) t.minReclaim = mr;
  }
  return results;
}

function entries(statements: Record<string, string> | undefined): [string, string][] {
  return statements ? Object.entries(statements) : [];
}

function checkSignal(signal: string, field: string, source: string): Signal {
  if (!isSignal(signal)) {
    throw new ValidationError(source, `${field}[${signal}]`, `unsupported eviction signal ${signal} (supported: ${signals.join(', ')})`);
  }
  return signal;
}

function parseThresholdStatements(statements: Record<string, string> | undefined, field: string, source: string): Threshold[] {
  const out: Threshold[] = [];
  for (const [signal, val] of entries(statements)) {
    const t = parseThresholdStatement(checkSignal(signal, field, source), val, `${field}[${signal}]`, source);
    if (t) out.push(t);
  }
  return out;
}

/** One statement; undefined for a statement upstream ignores ("0%", "100%"). */
function parseThresholdStatement(signal: Signal, val: string, field: string, source: string): Threshold | undefined {
  const bad = (detail: string): never => {
    throw new ValidationError(source, field, detail);
  };
  if (typeof val !== 'string') bad(`must be a quantity such as "100Mi" or a percentage such as "10%", got ${JSON.stringify(val)}`);
  if (val.endsWith('%')) {
    if (val === '0%' || val === '100%') return undefined;
    const percentage = parsePercentage(val, field, source);
    if (percentage < 0) bad(`eviction percentage threshold ${signal} must be >= 0%, got "${val}"`);
    if (percentage > 1) bad(`eviction percentage threshold ${signal} must be <= 100%, got "${val}"`);
    return { signal, operator: 'LessThan', value: { percentage }, gracePeriodMs: 0, text: val };
  }
  const quantity = quantityOf(val, field, source);
  if (!(quantity > 0)) bad(`eviction threshold ${signal} must be positive, got "${val}"`);
  return { signal, operator: 'LessThan', value: { quantity }, gracePeriodMs: 0, text: val };
}

function quantityOf(val: string, field: string, source: string): number {
  try {
    return parseQuantity(val, field);
  } catch (e) {
    const detail = e instanceof ValidationError ? e.detail : String(e);
    throw new ValidationError(source, field, `must be a quantity such as "100Mi" or a percentage such as "10%": ${detail}`);
  }
}

const decimalRe = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * "10%" -> 0.1 as upstream parsePercentage computes it: the number parsed as a float32, divided by
 * 100 in float32 (so 10% is 0.100000001490116...). Trailing '%' are all trimmed, as TrimRight does.
 */
export function parsePercentage(input: string, field = 'percentage', source = 'KubeletConfiguration'): number {
  const num = input.replace(/%+$/, '');
  if (!decimalRe.test(num)) throw new ValidationError(source, field, `invalid percentage "${input}" (expected a number followed by %, e.g. "10%")`);
  const v = Math.fround(Number(num));
  if (!Number.isFinite(v)) throw new ValidationError(source, field, `percentage out of range: "${input}"`);
  return Math.fround(v / 100);
}

function parseGracePeriods(statements: Record<string, string> | undefined, source: string): Map<Signal, number> {
  const out = new Map<Signal, number>();
  for (const [signal, val] of entries(statements)) {
    const field = `evictionSoftGracePeriod[${signal}]`;
    const s = checkSignal(signal, 'evictionSoftGracePeriod', source);
    let ms: number;
    try {
      ms = parseDuration(val);
    } catch (e) {
      throw new ValidationError(source, field, (e as Error).message);
    }
    if (ms < 0) throw new ValidationError(source, field, `invalid eviction grace period specified: ${val}, must be a positive value`);
    out.set(s, ms);
  }
  return out;
}

function parseMinimumReclaims(statements: Record<string, string> | undefined, source: string): Map<Signal, ThresholdValue> {
  const out = new Map<Signal, ThresholdValue>();
  for (const [signal, val] of entries(statements)) {
    const field = `evictionMinimumReclaim[${signal}]`;
    const s = checkSignal(signal, 'evictionMinimumReclaim', source);
    if (typeof val === 'string' && val.endsWith('%')) {
      const percentage = parsePercentage(val, field, source);
      if (percentage <= 0) throw new ValidationError(source, field, `eviction percentage minimum reclaim ${signal} must be positive, got "${val}"`);
      out.set(s, { percentage });
      continue;
    }
    const quantity = quantityOf(val, field, source);
    if (quantity < 0) throw new ValidationError(source, field, `negative eviction minimum reclaim specified for ${signal}, got "${val}"`);
    out.set(s, { quantity });
  }
  return out;
}

/** GetThresholdQuantity: the quantity itself, or trunc(capacity * percentage). */
export function thresholdQuantity(value: ThresholdValue, capacity: number): number {
  if ('quantity' in value) return value.quantity;
  return Math.trunc(capacity * value.percentage);
}

/** A hard threshold acts at once (isHardEvictionThreshold). */
export function isHardEvictionThreshold(t: Threshold): boolean {
  return t.gracePeriodMs === 0;
}

/** "nodefs.available<10%" (and the grace period of a soft threshold), for logs. */
export function formatThreshold(t: Threshold): string {
  return `${t.signal}<${t.text}${t.gracePeriodMs > 0 ? ` for ${t.gracePeriodMs / 1000}s` : ''}`;
}

/**
 * The thresholds nodelet evaluates, and notices about the others. containerfs.* are dropped:
 * upstream (UpdateContainerFsThresholds) overrides them with the nodefs thresholds (no dedicated
 * image filesystem) or the imagefs ones (a dedicated one), measured on that same filesystem, so
 * they only repeat those; nodelet does not support a container filesystem split from imagefs.
 * allocatableMemory.available is dropped too: it needs node-allocatable enforcement (the pods
 * cgroup), which nodelet does not do.
 */
export function effectiveThresholds(thresholds: Threshold[]): { thresholds: Threshold[]; notices: string[] } {
  const out: Threshold[] = [];
  const notices: string[] = [];
  for (const t of thresholds) {
    if (t.signal === SignalContainerFsAvailable || t.signal === SignalContainerFsInodesFree) {
      notices.push(`eviction threshold ${formatThreshold(t)} ignored: containerfs follows the nodefs/imagefs thresholds (no split container filesystem)`);
    } else if (t.signal === SignalAllocatableMemoryAvailable) {
      notices.push(`eviction threshold ${formatThreshold(t)} ignored: nodelet does not enforce node allocatable`);
    } else {
      out.push(t);
    }
  }
  return { thresholds: out, notices };
}
