// Output helpers for the CLI: aligned tables, short IDs, ages and sizes as crictl prints them.

export function printTable(header: string[], rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  out.write(formatTable(header, rows));
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

/** The 13-character ID prefix crictl shows. */
export function shortId(id: string): string {
  return id.slice(0, 13);
}

/** "5 seconds ago", "3 minutes ago" from a CRI nanosecond timestamp. */
export function formatAge(ns: number, nowMs: number = Date.now()): string {
  const s = Math.max(0, Math.floor((nowMs - ns / 1e6) / 1000));
  const unit = (n: number, u: string): string => `${n} ${u}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return s < 1 ? 'Less than a second ago' : unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86400), 'day');
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}
