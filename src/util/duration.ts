// Go-style durations ("1m30s", "2m0s", "500ms", "10s"), as KubeletConfiguration writes them.

/** Nanoseconds per unit, as in Go's time package (both spellings of the micro sign are accepted). */
const unitNs: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const maxNs = (1n << 63n) - 1n;

/**
 * Parses a Go duration into milliseconds; throws on a malformed string.
 *
 * Follows Go's time.ParseDuration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, where each number needs at
 * least one digit, and a bare "0" (optionally signed) is allowed. The value is computed exactly in
 * integer nanoseconds (fraction digits below a nanosecond are truncated, as in Go), so "1.001s" is
 * exactly 1001 ms.
 */
export function parseDuration(s: string): number {
  const str = s.trim();
  const bad = (): Error => new Error(`invalid duration "${s}" (expected e.g. "10s", "2m0s", "500ms")`);
  let body = str;
  let neg = false;
  if (body.startsWith('-') || body.startsWith('+')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (body === '0') return 0;
  if (body === '') throw bad();
  const re = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;
  let total = 0n;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (m === null) throw bad();
    const [, intPart = '', fracPart, unit = ''] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw bad(); // no digits
    const mult = unitNs[unit];
    if (mult === undefined) throw bad();
    let v = BigInt(intPart === '' ? '0' : intPart) * mult;
    if (fracPart) v += (BigInt(fracPart) * mult) / 10n ** BigInt(fracPart.length);
    total += v;
    if (total > maxNs + (neg ? 1n : 0n)) throw bad(); // outside Go's int64 nanoseconds
    pos = re.lastIndex;
  }
  const ms = Number(total) / 1e6;
  return neg && ms !== 0 ? -ms : ms;
}

/**
 * Formats milliseconds the way Go prints a time.Duration: 2m0s, 1.5s, 300ms. Durations under a
 * second are printed in ms to microsecond precision, longer ones to millisecond precision; rounding
 * carries into the larger units (59999.9999 ms is "1m0s", never "60s" or "1000ms").
 */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  const abs = Math.abs(ms);
  const sign = neg ? '-' : '';
  const us = Math.round(abs * 1000);
  if (us === 0) return '0s';
  if (us < 1_000_000) return `${sign}${us / 1000}ms`;
  let rest = Math.round(abs);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${rest / 1000}s`;
  return sign + out;
}
