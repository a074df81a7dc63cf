// Structured logger (models klog's structured logging: a message plus key/value pairs).
//
// Production logs are JSON lines through pino (or logfmt-like text on a TTY with --log-format
// text). Modules receive a Logger in their constructor and add their own context with child().

import { writeSync } from 'node:fs';
import pino from 'pino';

export type LogFields = Record<string, unknown>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'text';
  /** Where to write: a file descriptor (default 2, stderr). */
  fd?: number;
}

class PinoLogger implements Logger {
  constructor(private readonly p: pino.Logger) {}
  debug(msg: string, fields?: LogFields): void {
    if (this.p.isLevelEnabled('debug')) this.p.debug(normalize(fields), msg);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.p.isLevelEnabled('info')) this.p.info(normalize(fields), msg);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.p.isLevelEnabled('warn')) this.p.warn(normalize(fields), msg);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.p.isLevelEnabled('error')) this.p.error(normalize(fields), msg);
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.p.child(normalize(fields)));
  }
}

/**
 * Errors are logged as their message (and code when typed), not as an empty object. A message that
 * already starts with its code (Node's system errors: "ENOENT: no such file or directory, ...") is
 * not prefixed again.
 */
function normalize(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue; // an absent value is not logged
    if (v instanceof Error) {
      const rawCode = (v as { code?: unknown }).code;
      const code = rawCode ? String(rawCode) : '';
      out[k] = code && !v.message.startsWith(`${code}:`) ? `${code}: ${v.message}` : v.message;
    } else {
      out[k] = v;
    }
  }
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const fd = opts.fd ?? 2;
  if (opts.format === 'text') {
    return new TextLogger(level, (line) => writeSync(fd, line));
  }
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd, sync: true }),
  );
  return new PinoLogger(p);
}

/** Wall-clock time in microseconds: Date.now() refined by the high-resolution clock. */
let hrOffsetUs = Number.NEGATIVE_INFINITY;
let lastUs = 0;
function nowMicros(): number {
  const wallMs = Date.now();
  const hrUs = Math.floor(performance.now() * 1000);
  const lo = wallMs * 1000;
  const hi = lo + 999;
  // Stay within the wall clock's millisecond: when the two clocks disagree, re-anchor the
  // high-resolution clock at the nearest end of that millisecond.
  let us = hrUs + hrOffsetUs;
  if (!(us >= lo && us <= hi)) {
    us = us < lo ? lo : hi;
    hrOffsetUs = us - hrUs;
  }
  // Never go backwards within a millisecond (only a wall clock step can make times go back).
  if (us < lastUs && lastUs <= hi) us = lastUs;
  lastUs = us;
  return us;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** klog's header time: `1124 01:50:32.123456` (MMDD hh:mm:ss.uuuuuu, UTC). */
function klogTime(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  const micros = d.getUTCMilliseconds() * 1000 + (us % 1000);
  return `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(micros, 6)}`;
}

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The four level methods over one log(level, msg, fields): the loggers below differ only in where a record goes. */
abstract class LeveledLogger implements Logger {
  protected abstract log(level: LogLevel, msg: string, fields?: LogFields): void;
  abstract child(fields: LogFields): Logger;
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
}

/** Human-readable `I1124 01:50:32.123456] msg key=value` lines, klog style (time in UTC). */
class TextLogger extends LeveledLogger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly ctx: LogFields = {},
  ) {
    super();
  }
  protected log(lvl: LogLevel, msg: string, fields?: LogFields): void {
    if (levelOrder[lvl] < levelOrder[this.level]) return;
    const all = { ...this.ctx, ...normalize(fields) };
    const kv = Object.entries(all)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' ');
    this.write(`${lvl[0]!.toUpperCase()}${klogTime(nowMicros())}] ${msg}${kv ? ' ' + kv : ''}\n`);
  }
  child(fields: LogFields): Logger {
    return new TextLogger(this.level, this.write, { ...this.ctx, ...normalize(fields) });
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return JSON.stringify(v);
}

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** A logger that keeps records in memory, for tests that assert what was logged. */
export class MemoryLogger extends LeveledLogger {
  readonly records: LogRecord[];
  constructor(
    private readonly ctx: LogFields = {},
    records?: LogRecord[],
  ) {
    super();
    this.records = records ?? [];
  }
  protected log(level: LogLevel, msg: string, fields?: LogFields): void {
    this.records.push({ level, msg, fields: { ...this.ctx, ...normalize(fields) } });
  }
  child(fields: LogFields): Logger {
    return new MemoryLogger({ ...this.ctx, ...normalize(fields) }, this.records);
  }
  find(pred: (r: LogRecord) => boolean): LogRecord | undefined {
    return this.records.find(pred);
  }
}

/** Discards everything. */
export const nopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nopLogger,
};
