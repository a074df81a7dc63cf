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

const rfc3339Re = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * True for an RFC 3339 timestamp as Go's time.Parse(time.RFC3339Nano, ...) accepts it: date, "T",
 * time with optional fractional seconds (up to nanoseconds), and "Z" or a numeric offset; the
 * fields must be in range (no February 30th, no hour 24).
 */
export function isRfc3339(ts: string): boolean {
  const m = rfc3339Re.exec(ts);
  if (!m) return false;
  const [year, month, day, hour, min, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (day > daysInMonth) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
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
