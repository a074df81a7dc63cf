// Go-style durations ("1m30s", "2m0s", "500ms", "10s"), as KubeletConfiguration writes them.

const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration into milliseconds; throws on a malformed string. */
export function parseDuration(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  const neg = str.startsWith('-');
  const body = neg ? str.slice(1) : str;
  while ((m = re.exec(body)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (body === '' || matched !== body.length) throw new Error(`invalid duration "${s}" (expected e.g. "10s", "2m0s", "500ms")`);
  return neg ? -total : total;
}

/** Formats milliseconds the way Go prints a time.Duration: 2m0s, 1.5s, 300ms. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out = '';
  if (rest < 1000) return `${neg ? '-' : ''}${+rest.toFixed(3)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${+(rest / 1000).toFixed(3)}s`;
  return (neg ? '-' : '') + out;
}
