// resource.Quantity parsing (models k8s.io/apimachinery/pkg/api/resource: ParseQuantity, Value,
// MilliValue, Cmp).
//
// Differences: a Quantity is parsed into an exact rational (mantissa x 10^e x 2^b) only to answer
// the questions the kubelet asks (a number, milli-CPU, bytes, comparisons and sums); there is no
// canonical re-formatting except the milli form used by defaults. Like upstream, Value() and
// MilliValue() round away from zero; unlike upstream, huge values are not clamped to int64 and a
// decimal exponent beyond +-1000 is rejected.

import { ValidationError } from '../util/errors.js';

/** An exact quantity: value = sign * mantissa * 10^pow10 * 2^pow2. */
export interface ParsedQuantity {
  negative: boolean;
  mantissa: bigint;
  pow10: number;
  pow2: number;
}

const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const numberRe = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/;
const exponentRe = /^[eE]([+-]?\d+)$/;
const maxExponent = 1000;

/** The message upstream gives for a malformed quantity. */
const formatHint = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Parses a quantity exactly; throws ValidationError naming `field`. Numbers (as YAML gives them) are accepted. */
export function parseQuantityExact(q: string | number, field = 'quantity'): ParsedQuantity {
  const s = typeof q === 'number' ? numberToString(q, field) : q;
  if (typeof s !== 'string') throw new ValidationError('quantity', field, `${formatHint}, got ${JSON.stringify(s)}`);
  const m = numberRe.exec(s);
  if (!m) throw new ValidationError('quantity', field, `${formatHint}, got "${s}"`);
  const [, sign, num, suffix] = m as unknown as [string, string, string, string];
  let pow10: number;
  let pow2 = 0;
  if (suffix in binarySuffixes) {
    pow10 = 0;
    pow2 = binarySuffixes[suffix]!;
  } else if (suffix in decimalSuffixes) {
    pow10 = decimalSuffixes[suffix]!;
  } else {
    const e = exponentRe.exec(suffix);
    if (!e) throw new ValidationError('quantity', field, `${formatHint}, got "${s}" (unknown suffix "${suffix}")`);
    pow10 = Number(e[1]);
    if (Math.abs(pow10) > maxExponent) throw new ValidationError('quantity', field, `exponent out of range in "${s}"`);
  }
  const dot = num.indexOf('.');
  const intPart = dot < 0 ? num : num.slice(0, dot);
  const fracPart = dot < 0 ? '' : num.slice(dot + 1);
  const mantissa = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0');
  return { negative: sign === '-' && mantissa !== 0n, mantissa, pow10: pow10 - fracPart.length, pow2 };
}

function numberToString(n: number, field: string): string {
  if (!Number.isFinite(n)) throw new ValidationError('quantity', field, `${formatHint}, got ${n}`);
  return String(n);
}

/** The quantity as a JavaScript number (exact when representable): "100m" -> 0.1, "1Ki" -> 1024. */
export function parseQuantity(q: string | number, field = 'quantity'): number {
  const p = parseQuantityExact(q, field);
  const v = Number(`${p.negative ? '-' : ''}${p.mantissa}e${p.pow10}`) * 2 ** p.pow2;
  if (!Number.isFinite(v)) throw new ValidationError('quantity', field, `value out of range: "${String(q)}"`);
  return v;
}

/** value * 10^scale, rounded away from zero (upstream ScaledValue). */
function scaledValue(p: ParsedQuantity, scale: number): bigint {
  const e = p.pow10 + scale;
  let num = p.mantissa * 2n ** BigInt(p.pow2);
  let den = 1n;
  if (e >= 0) num *= 10n ** BigInt(e);
  else den = 10n ** BigInt(-e);
  let v = num / den;
  if (v * den !== num) v += 1n;
  return p.negative ? -v : v;
}

/** Milli-units rounded up (upstream MilliValue): "100m" -> 100, "1" -> 1000, "0.5" -> 500, "1n" -> 1. */
export function cpuMillis(q: string | number): number {
  return Number(scaledValue(parseQuantityExact(q, 'cpu'), 3));
}

/** Whole units rounded up (upstream Value): "1Ki" -> 1024, "1.5" -> 2, "100m" -> 1. */
export function memoryBytes(q: string | number): number {
  return Number(scaledValue(parseQuantityExact(q, 'memory'), 0));
}

/** An exact fraction num / den (den > 0). */
interface Fraction {
  num: bigint;
  den: bigint;
}

function toFraction(p: ParsedQuantity): Fraction {
  let num = p.mantissa * 2n ** BigInt(p.pow2);
  let den = 1n;
  if (p.pow10 >= 0) num *= 10n ** BigInt(p.pow10);
  else den = 10n ** BigInt(-p.pow10);
  return { num: p.negative ? -num : num, den };
}

/** Compares two quantities exactly (upstream Quantity.Cmp): -1, 0 or 1. */
export function compareQuantities(a: string | number, b: string | number): -1 | 0 | 1 {
  return compareFractions(toFraction(parseQuantityExact(a)), toFraction(parseQuantityExact(b)));
}

function compareFractions(x: Fraction, y: Fraction): -1 | 0 | 1 {
  const l = x.num * y.den;
  const r = y.num * x.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** An exact running sum of quantities (upstream Quantity.Add), for QoS and resource totals. */
export class QuantitySum {
  private f: Fraction = { num: 0n, den: 1n };

  add(q: string | number): this {
    const g = toFraction(parseQuantityExact(q));
    this.f = { num: this.f.num * g.den + g.num * this.f.den, den: this.f.den * g.den };
    return this;
  }

  cmp(other: QuantitySum): -1 | 0 | 1 {
    return compareFractions(this.f, other.f);
  }

  toNumber(): number {
    return Number(this.f.num) / Number(this.f.den);
  }
}

/** True if the quantity is a whole number ("2", "1.5Ki"; not "1.5" or "100m"). */
export function isIntegerQuantity(q: string | number | ParsedQuantity): boolean {
  const f = toFraction(typeof q === 'object' ? q : parseQuantityExact(q));
  return f.num % f.den === 0n;
}

/** True if the quantity is > 0. */
export function isPositiveQuantity(q: string | number): boolean {
  const p = parseQuantityExact(q);
  return !p.negative && p.mantissa !== 0n;
}

/**
 * Rounds a quantity up to milli precision (upstream SetDefaults_ResourceList's RoundUp(-3)).
 * Returns the input unchanged when it has no sub-milli digits, else the canonical `<n>m` form.
 */
export function roundUpToMilli(q: string | number): string | number {
  const p = parseQuantityExact(q);
  const f = toFraction(p);
  if ((f.num * 1000n) % f.den === 0n) return q;
  const millis = scaledValue(p, 3);
  return millis % 1000n === 0n ? String(millis / 1000n) : `${millis}m`;
}
