// CRI container log format (models the kubelet's pkg/kubelet/kuberuntime/logs):
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>
// The runtime splits long lines into P (partial) records ended by an F (full) record.

export interface CriLogRecord {
  /** The timestamp as written (RFC 3339 with nanoseconds). */
  timestamp: string;
  stream: 'stdout' | 'stderr';
  /** true for a P (partial) record. */
  partial: boolean;
  content: string;
}

/** Two or four ASCII digits at i as a number, or -1. */
function digits(s: string, i: number, n: 2 | 4): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

interface Rfc3339Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  /** Fraction digits as written ('' when none). */
  frac: string;
  /** Offset from UTC in minutes. */
  offsetMin: number;
  /** Where the zone starts. */
  zoneAt: number;
}

/**
 * Parses RFC 3339 as Go's time.Parse(time.RFC3339Nano, ...) accepts it: date, "T", time with
 * optional fractional seconds (1 to 9 digits), and "Z" or a numeric offset, the fields in range.
 * Hand-written (no regular expression): it runs once per log record.
 */
function parseRfc3339(ts: string): Rfc3339Fields | undefined {
  const len = ts.length;
  if (len < 20 || ts.charCodeAt(4) !== 45 || ts.charCodeAt(7) !== 45 || ts.charCodeAt(10) !== 84 || ts.charCodeAt(13) !== 58 || ts.charCodeAt(16) !== 58) return undefined;
  const year = digits(ts, 0, 4);
  const month = digits(ts, 5, 2);
  const day = digits(ts, 8, 2);
  const hour = digits(ts, 11, 2);
  const min = digits(ts, 14, 2);
  const sec = digits(ts, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day > daysInMonth) return undefined;
  let i = 19;
  let frac = '';
  if (ts.charCodeAt(i) === 46) {
    let j = i + 1;
    while (j < len) {
      const c = ts.charCodeAt(j) - 48;
      if (c < 0 || c > 9) break;
      j++;
    }
    const n = j - i - 1;
    if (n < 1 || n > 9) return undefined;
    frac = ts.slice(i + 1, j);
    i = j;
  }
  const z = ts.charCodeAt(i);
  if (z === 90) return i + 1 === len ? { year, month, day, hour, min, sec, frac, offsetMin: 0, zoneAt: i } : undefined;
  if ((z !== 43 && z !== 45) || i + 6 !== len || ts.charCodeAt(i + 3) !== 58) return undefined;
  const oh = digits(ts, i + 1, 2);
  const om = digits(ts, i + 4, 2);
  if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
  return { year, month, day, hour, min, sec, frac, offsetMin: (z === 45 ? -1 : 1) * (oh * 60 + om), zoneAt: i };
}

/**
 * True for an RFC 3339 timestamp as Go's time.Parse(time.RFC3339Nano, ...) accepts it: date, "T",
 * time with optional fractional seconds (up to nanoseconds), and "Z" or a numeric offset; the
 * fields must be in range (no February 30th, no hour 24).
 */
export function isRfc3339(ts: string): boolean {
  return parseRfc3339(ts) !== undefined;
}

/**
 * Parses one line of a CRI log file; returns undefined for a malformed line (as the kubelet does,
 * that includes a timestamp that is not RFC 3339).
 */
export function parseCriLogLine(line: string): CriLogRecord | undefined {
  const a = line.indexOf(' ');
  if (a <= 0) return undefined;
  if (!isRfc3339(line.slice(0, a))) return undefined;
  const b = line.indexOf(' ', a + 1);
  if (b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const c = line.indexOf(' ', b + 1);
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  if (tag !== 'F' && tag !== 'P' && !tag.startsWith('F:') && !tag.startsWith('P:')) return undefined;
  return { timestamp: line.slice(0, a), stream, partial: tag.startsWith('P'), content: c < 0 ? '' : line.slice(c + 1) };
}

export interface LogLine {
  timestamp: string;
  stream: 'stdout' | 'stderr';
  /** The whole line (partial records joined), without its newline. */
  text: string;
}

/**
 * Joins partial records into whole lines, per stream. A trailing partial record without its F
 * record is returned as a line of its own (the runtime writes a last line without newline as P).
 */
export function joinCriLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  const pending = new Map<string, LogLine>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const r = parseCriLogLine(raw);
    if (!r) continue;
    const p = pending.get(r.stream);
    const line: LogLine = p ? { ...p, text: p.text + r.content } : { timestamp: r.timestamp, stream: r.stream, text: r.content };
    if (r.partial) pending.set(r.stream, line);
    else {
      pending.delete(r.stream);
      out.push(line);
    }
  }
  for (const p of pending.values()) out.push(p);
  return out;
}

/** One CRI log record with its content as bytes (what the log reader streams, byte for byte). */
export interface CriLogRecordBytes {
  timestamp: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  /** The content, without the record's newline. */
  content: Buffer;
}

/**
 * parseCriLogLine on bytes: the header (timestamp, stream, tag) is ASCII, the content is kept as
 * the container wrote it (not decoded, so invalid UTF-8 passes through untouched). `line` excludes
 * its newline. Undefined for a malformed record.
 */
export function parseCriLogRecord(line: Buffer): CriLogRecordBytes | undefined {
  const a = line.indexOf(0x20);
  if (a <= 0 || a > 64) return undefined;
  const timestamp = line.toString('latin1', 0, a);
  if (!isRfc3339(timestamp)) return undefined;
  const b = line.indexOf(0x20, a + 1);
  if (b < 0) return undefined;
  const stream = line.toString('latin1', a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const c = line.indexOf(0x20, b + 1);
  const tag = line.toString('latin1', b + 1, c < 0 ? line.length : c);
  if (tag !== 'F' && tag !== 'P' && !tag.startsWith('F:') && !tag.startsWith('P:')) return undefined;
  return { timestamp, stream, partial: tag.startsWith('P'), content: c < 0 ? Buffer.alloc(0) : line.subarray(c + 1) };
}

/**
 * A record's timestamp as the kubelet prefixes it with `timestamps=true`: Go's
 * time.Format(time.RFC3339Nano) of the parsed time, i.e. trailing zeros of the fraction dropped
 * (no fraction at all when it is zero) and a zero offset written "Z"; other offsets are kept.
 */
export function formatLogTimestamp(ts: string): string {
  const f = parseRfc3339(ts);
  if (!f) return ts;
  let frac = f.frac;
  let k = frac.length;
  while (k > 0 && frac.charCodeAt(k - 1) === 48) k--;
  frac = frac.slice(0, k);
  const zone = f.offsetMin === 0 ? 'Z' : ts.slice(f.zoneAt);
  return `${ts.slice(0, 19)}${frac ? `.${frac}` : ''}${zone}`;
}

/**
 * A record timestamp as [milliseconds since the epoch (integer), nanoseconds within that
 * millisecond], exact to the nanosecond; undefined when it does not parse.
 */
export function logTimestampParts(ts: string): [number, number] | undefined {
  const f = parseRfc3339(ts);
  if (!f) return undefined;
  const base = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.min, f.sec) - f.offsetMin * 60_000;
  const frac = f.frac.padEnd(9, '0');
  return [base + Number(frac.slice(0, 3)), Number(frac.slice(3))];
}

/** True when the record's timestamp is strictly before `ms` (Go's Time.Before; `ms` may have a fraction). */
export function logTimestampBefore(ts: string, ms: number): boolean {
  const p = logTimestampParts(ts);
  if (!p) return false;
  const whole = Math.floor(ms);
  const ns = Math.round((ms - whole) * 1e6);
  return p[0] < whole || (p[0] === whole && p[1] < ns);
}
