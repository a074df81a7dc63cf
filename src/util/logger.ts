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
    this.p.debug(normalize(fields), msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.p.info(normalize(fields), msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.p.warn(normalize(fields), msg);
  }
  error(msg: string, fields?: LogFields): void {
    this.p.error(normalize(fields), msg);
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.p.child(normalize(fields)));
  }
}

/** Errors are logged as their message (and code when typed), not as an empty object. */
function normalize(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) {
      out[k] = (v as { code?: unknown }).code ? `${String((v as { code?: unknown }).code)}: ${v.message}` : v.message;
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


const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Human-readable `I1124 01:50:32.123] msg key=value` lines, klog style. */
class TextLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly ctx: LogFields = {},
  ) {}
  private log(lvl: LogLevel, msg: string, fields?: LogFields): void {
    if (levelOrder[lvl] < levelOrder[this.level]) return;
    const all = { ...this.ctx, ...normalize(fields) };
    const kv = Object.entries(all)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' ');
    const t = new Date().toISOString().slice(11, 23);
    this.write(`${lvl[0]!.toUpperCase()} ${t}] ${msg}${kv ? ' ' + kv : ''}\n`);
  }
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
export class MemoryLogger implements Logger {
  readonly records: LogRecord[];
  constructor(
    private readonly ctx: LogFields = {},
    records?: LogRecord[],
  ) {
    this.records = records ?? [];
  }
  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    this.records.push({ level, msg, fields: { ...this.ctx, ...normalize(fields) } });
  }
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
