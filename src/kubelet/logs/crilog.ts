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

/** Parses one line of a CRI log file; returns undefined for a malformed line. */
export function parseCriLogLine(line: string): CriLogRecord | undefined {
  const a = line.indexOf(' ');
  if (a <= 0) return undefined;
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
