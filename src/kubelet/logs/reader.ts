// Reading a container's CRI log file for `kubectl logs` (models the kubelet's
// pkg/kubelet/kuberuntime/logs/logs.go ReadLogs).
//
// - Records are parsed byte for byte (parseCriLogRecord); malformed lines are skipped.
// - Partial (P) records are joined with the F record that ends their line, per stream, so stdout
//   and stderr interleaved in one output never cut each other's lines. A line is written when it
//   is complete; partial records still waiting for their F are written as they are (no newline)
//   when the reader reaches the end of the file (and would wait) or past 1 MiB, as the kubelet
//   writes a P record at once.
// - tailLines: the last N lines (not records: a line split into P records counts once), found by
//   reading the file backwards in 64 KiB blocks.
// - sinceTime: lines stamped before it are skipped (a line carries the time of its first record).
// - timestamps: each line is prefixed with its time as Go's RFC3339Nano prints it, and a space.
// - limitBytes: output stops after that many bytes, cutting the last line.
// - follow: at the end of the file, wait for more (fs.watch on the directory, plus a check every
//   second on the Clock, upstream's logForceCheckPeriod); when the file at `path` is a new one (log
//   rotation renamed the old one away and the runtime reopened its log), finish the old file and go
//   on in the new one from its start; stop when the signal aborts, when the output closes, or when
//   containerDone() says the container exited and the file has been read to its end.
// As upstream, only the file at `path` is read: rotated files (`<path>.<timestamp>`, `.gz`) are
// not, so tailLines counts lines of the current file only.

import { watch, type FSWatcher } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { formatLogTimestamp, logTimestampBefore, parseCriLogRecord } from './crilog.js';

export interface LogOptions {
  /** Keep reading what the container writes after the current end of the log. */
  follow?: boolean;
  /** Only the last N lines (undefined or negative: all). */
  tailLines?: number;
  /** Only lines stamped at or after this time (ms since the epoch). */
  sinceTime?: number;
  /** Stop after this many bytes of output (undefined or negative: no limit). */
  limitBytes?: number;
  /** Prefix each line with its RFC3339Nano timestamp. */
  timestamps?: boolean;
  /** Which streams to return (both when neither is given). */
  stdout?: boolean;
  stderr?: boolean;
}

/** Where the lines go: one callback per stream (a returned promise is awaited: backpressure). */
export interface LogSink {
  stdout(chunk: Buffer): void | Promise<void>;
  stderr(chunk: Buffer): void | Promise<void>;
}

/** A sink, or one writable stream that gets both streams in file order (an HTTP response). */
export type LogOutput = LogSink | Writable;

export interface ReadLogsContext {
  clock: Clock;
  /** Ends a follow (and any read) when aborted. */
  signal?: AbortSignal;
  /** For follow: true once the container has exited; the reader then drains the file and returns. */
  containerDone?: () => boolean | Promise<boolean>;
  logger?: Logger;
  /** How often a follow looks for new data without a file event (upstream's logForceCheckPeriod, 1 s). */
  pollIntervalMs?: number;
  /** fs.watch the log's directory while following (default true). */
  watch?: boolean;
}

export const logForceCheckPeriodMs = 1000;
const blockSize = 64 * 1024;
/** Partial records of one line kept before they are written without waiting for the F record. */
const maxPendingBytes = 1 << 20;
/** How far tail looks further back for the beginning of lines already counted. */
const maxBackscanBytes = 1 << 20;

type StreamName = 'stdout' | 'stderr';

/** Reads the container log at `path` into `out` as the kubelet serves `/containerLogs`. */
export async function readLogs(path: string, opts: LogOptions, out: LogOutput, ctx: ReadLogsContext): Promise<void> {
  let resolved: string;
  try {
    resolved = await realpath(path);
  } catch (e) {
    throw new Error(`failed to try resolving symlinks in path "${path}": ${fsErrorText(e, path)}`);
  }
  let fh: FileHandle;
  try {
    fh = await open(resolved, 'r');
  } catch (e) {
    throw new Error(`failed to open log file "${path}": ${fsErrorText(e, resolved)}`);
  }
  const reader = new LogFileReader(resolved, fh, opts, out, ctx);
  try {
    await reader.run();
  } finally {
    await reader.close();
  }
}

/** Go's wording for the usual file errors ("open /x: no such file or directory"). */
function fsErrorText(e: unknown, path: string): string {
  const code = (e as { code?: string })?.code;
  if (code === 'ENOENT') return `lstat ${path}: no such file or directory`;
  if (code === 'EACCES') return `open ${path}: permission denied`;
  return e instanceof Error ? e.message : String(e);
}

function isWritable(o: LogOutput): o is Writable {
  return typeof (o as Writable).write === 'function' && typeof (o as Writable).on === 'function';
}

/** Writes to a Writable, waiting for 'drain' when it asks; false once it is closed. */
async function writeStream(w: Writable, buf: Buffer, signal: AbortSignal | undefined): Promise<boolean> {
  if (w.destroyed || w.writableEnded) return false;
  if (w.write(buf)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
    signal?.addEventListener('abort', done, { once: true });
  });
  return !w.destroyed;
}

interface PendingLine {
  ts: string;
  parts: Buffer[];
  size: number;
  lastOffset: number;
}

class LogFileReader {
  private ino = 0;
  private dev = 0;
  private readonly pending = new Map<StreamName, PendingLine>();
  /** Lines partly written (their P records flushed): the rest goes without prefix, or is skipped too. */
  private readonly continued = new Map<StreamName, { skip: boolean }>();
  /** Lines ending at an earlier offset are not written (tail). */
  private emitFrom = 0;
  private remain: number | undefined;
  /** The byte limit is reached. */
  private stopped = false;
  /** The output is gone. */
  private closed = false;
  private watcher: FSWatcher | undefined;
  private watchFailed = false;
  private dirty = false;
  private wake: (() => void) | undefined;
  private readonly write: (stream: StreamName, buf: Buffer) => Promise<boolean>;
  /** Output gathered until the end of a block (one write per block, not per line). */
  private batch: { stream: StreamName; buf: Buffer }[] = [];
  private readonly oneOutput: boolean;

  constructor(
    private readonly path: string,
    private fh: FileHandle,
    private readonly opts: LogOptions,
    out: LogOutput,
    private readonly ctx: ReadLogsContext,
  ) {
    this.remain = opts.limitBytes !== undefined && opts.limitBytes >= 0 ? opts.limitBytes : undefined;
    this.oneOutput = isWritable(out);
    if (isWritable(out)) this.write = (_s, buf) => writeStream(out, buf, ctx.signal);
    else
      this.write = async (s, buf) => {
        await out[s](buf);
        return true;
      };
  }

  private selected(s: StreamName): boolean {
    const { stdout, stderr } = this.opts;
    if (!stdout && !stderr) return true;
    return s === 'stdout' ? !!stdout : !!stderr;
  }

  private get done(): boolean {
    return this.stopped || this.closed || !!this.ctx.signal?.aborted;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    await this.fh.close().catch(() => undefined);
  }

  async run(): Promise<void> {
    try {
      await this.readAll();
    } finally {
      await this.flushBatch();
    }
  }

  /** Writes the gathered output: one write per run of the same stream (one in all for a single output). */
  private async flushBatch(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    let i = 0;
    while (i < batch.length && !this.closed) {
      const stream = batch[i]!.stream;
      let j = i + 1;
      while (j < batch.length && (this.oneOutput || batch[j]!.stream === stream)) j++;
      const buf = j - i === 1 ? batch[i]!.buf : Buffer.concat(batch.slice(i, j).map((b) => b.buf));
      if (!(await this.write(stream, buf))) this.closed = true;
      i = j;
    }
  }

  private async readAll(): Promise<void> {
    const st = await this.fh.stat();
    this.ino = st.ino;
    this.dev = st.dev;
    if (this.remain === 0) return;
    let pos = 0;
    let end = Infinity;
    const tail = this.opts.tailLines;
    if (tail !== undefined && tail >= 0) {
      const t = await findTailStart(this.fh, st.size, tail, (s) => this.selected(s));
      pos = t.start;
      this.emitFrom = t.emitFrom;
      // upstream's limitedMode: without follow, exactly the last N lines, nothing written after
      if (!this.opts.follow) end = t.end;
    }
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = pos;
    let finishing = false;
    for (;;) {
      if (this.done) return;
      const want = Math.min(blockSize, end - pos);
      if (want <= 0) {
        this.flushPending();
        return;
      }
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, pos);
      if (bytesRead > 0) {
        const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        let from = 0;
        for (;;) {
          const nl = data.indexOf(0x0a, from);
          if (nl < 0) break;
          this.record(data.subarray(from, nl), carryOffset + from);
          if (this.done) return;
          from = nl + 1;
        }
        carry = data.subarray(from);
        carryOffset += from;
        pos += bytesRead;
        await this.flushBatch();
        continue;
      }
      // end of file
      if (!this.opts.follow) {
        // a last line without its newline is still written, as upstream does
        if (carry.length) this.record(carry, carryOffset);
        this.flushPending();
        return;
      }
      if (finishing) {
        this.flushPending();
        return;
      }
      if (await this.reopenIfRotated()) {
        // the rest of the old file has been read; an unterminated record there is dropped
        carry = Buffer.alloc(0);
        pos = 0;
        carryOffset = 0;
        continue;
      }
      if (this.ctx.containerDone && (await this.containerDone())) {
        // the container exited: read what it wrote up to now, then stop
        finishing = true;
        continue;
      }
      if (this.startWatch()) continue; // as upstream: read once more, an event may have been missed
      this.flushPending();
      await this.flushBatch();
      if (this.done) return;
      await this.waitForChange();
    }
  }

  private async containerDone(): Promise<boolean> {
    try {
      return await this.ctx.containerDone!();
    } catch (e) {
      this.ctx.logger?.debug('container state check failed, ending the log stream', { path: this.path, err: e });
      return true;
    }
  }

  /** Starts watching the directory; true when it just started. */
  private startWatch(): boolean {
    if (this.watcher || this.watchFailed || this.ctx.watch === false) return false;
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, () => this.notify());
      this.watcher.on('error', () => {
        // the directory went away: the poll still runs
        this.watcher?.close();
        this.watcher = undefined;
        this.watchFailed = true;
      });
    } catch {
      this.watchFailed = true;
      return false;
    }
    return true;
  }

  private notify(): void {
    if (this.wake) this.wake();
    else this.dirty = true;
  }

  private waitForChange(): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const signal = this.ctx.signal;
      const done = (): void => {
        timer.stop();
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = this.ctx.clock.setTimeout(done, this.ctx.pollIntervalMs ?? logForceCheckPeriodMs);
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** When `path` is now another file (rotation), switches to it; false when it is still ours or absent. */
  private async reopenIfRotated(): Promise<boolean> {
    let st;
    try {
      st = await stat(this.path);
    } catch {
      return false; // renamed away and not created again yet
    }
    if (st.ino === this.ino && st.dev === this.dev) return false;
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return false;
    }
    const nst = await fh.stat();
    await this.fh.close().catch(() => undefined);
    this.fh = fh;
    this.ino = nst.ino;
    this.dev = nst.dev;
    this.ctx.logger?.debug('log file rotated, following the new file', { path: this.path, file: basename(this.path) });
    return true;
  }

  private record(line: Buffer, offset: number): void {
    const rec = parseCriLogRecord(line);
    if (!rec) {
      this.ctx.logger?.debug('failed when parsing line in log file', { path: this.path, offset });
      return;
    }
    if (!this.selected(rec.stream)) return;
    const p = this.pending.get(rec.stream);
    if (rec.partial) {
      if (p) {
        p.parts.push(rec.content);
        p.size += rec.content.length;
        p.lastOffset = offset;
      } else {
        this.pending.set(rec.stream, { ts: rec.timestamp, parts: [rec.content], size: rec.content.length, lastOffset: offset });
      }
      if ((p?.size ?? rec.content.length) > maxPendingBytes) this.flushLine(rec.stream);
      return;
    }
    if (p) this.pending.delete(rec.stream);
    const content = p ? Buffer.concat([...p.parts, rec.content]) : rec.content;
    this.emit(rec.stream, p ? p.ts : rec.timestamp, content, true, offset);
  }

  private flushLine(stream: StreamName): void {
    const p = this.pending.get(stream);
    if (!p) return;
    this.pending.delete(stream);
    this.emit(stream, p.ts, Buffer.concat(p.parts), false, p.lastOffset);
  }

  private flushPending(): void {
    for (const s of [...this.pending.keys()]) {
      if (this.done) return;
      this.flushLine(s);
    }
  }

  private emit(stream: StreamName, ts: string, content: Buffer, newline: boolean, offset: number): void {
    const cont = this.continued.get(stream);
    const skip = cont ? cont.skip : offset < this.emitFrom || (this.opts.sinceTime !== undefined && logTimestampBefore(ts, this.opts.sinceTime));
    if (newline) this.continued.delete(stream);
    else this.continued.set(stream, { skip });
    if (skip) return;
    const parts: Buffer[] = [];
    if (this.opts.timestamps && !cont) parts.push(Buffer.from(`${formatLogTimestamp(ts)} `));
    parts.push(content);
    if (newline) parts.push(Buffer.from('\n'));
    let buf = parts.length === 1 ? content : Buffer.concat(parts);
    if (buf.length === 0) return;
    if (this.remain !== undefined && buf.length > this.remain) buf = buf.subarray(0, this.remain);
    this.batch.push({ stream, buf });
    if (this.remain !== undefined) {
      this.remain -= buf.length;
      if (this.remain <= 0) this.stopped = true;
    }
  }
}

/**
 * Where to start reading for the last `n` lines of the selected streams, reading backwards in
 * blocks: `start` is the first record of the oldest of those lines, `emitFrom` the offset of the
 * record that ends it (lines ended before it are older lines of another stream, read but not
 * written), `end` the end of the last complete record.
 */
export async function findTailStart(
  fh: FileHandle,
  size: number,
  n: number,
  selected: (s: StreamName) => boolean = () => true,
): Promise<{ start: number; emitFrom: number; end: number }> {
  let bufStart = size;
  let buf: Buffer = Buffer.alloc(0);
  const readBefore = async (): Promise<void> => {
    const from = Math.max(0, bufStart - blockSize);
    const b = Buffer.alloc(bufStart - from);
    let got = 0;
    while (got < b.length) {
      const { bytesRead } = await fh.read(b, got, b.length - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    buf = buf.length ? Buffer.concat([b, buf]) : b;
    bufStart = from;
  };
  // the end of the last complete record
  let end = 0;
  for (;;) {
    const i = buf.lastIndexOf(0x0a);
    if (i >= 0) {
      end = bufStart + i + 1;
      break;
    }
    if (bufStart === 0) break;
    await readBefore();
  }
  buf = buf.subarray(0, end - bufStart);
  let regionEnd = end;
  let start = end;
  let emitFrom = end;
  let need = n;
  const state = new Map<StreamName, 'open' | 'closed'>();
  let stopBelow: number | undefined;
  while (regionEnd > 0) {
    if (need === 0) {
      if (![...state.values()].includes('open')) break;
      stopBelow ??= regionEnd - maxBackscanBytes;
      if (regionEnd < stopBelow) break;
    }
    // the record ending with the newline at regionEnd - 1
    let lineStart = 0;
    for (;;) {
      const searchTo = regionEnd - 2 - bufStart;
      const i = searchTo >= 0 ? buf.lastIndexOf(0x0a, searchTo) : -1;
      if (i >= 0) {
        lineStart = bufStart + i + 1;
        break;
      }
      if (bufStart === 0) break;
      await readBefore();
    }
    const line = buf.subarray(lineStart - bufStart, regionEnd - 1 - bufStart);
    regionEnd = lineStart;
    const rec = parseCriLogRecord(line);
    buf = buf.subarray(0, regionEnd - bufStart);
    if (!rec || !selected(rec.stream)) continue;
    const st = state.get(rec.stream);
    if (rec.partial && st === 'open') {
      start = lineStart; // an earlier part of a line already counted
      continue;
    }
    if (rec.partial && st === 'closed') continue;
    // a line ends here: an F record, or the last record of its stream is P (a line not finished yet)
    if (need > 0) {
      need--;
      state.set(rec.stream, 'open');
      start = lineStart;
      emitFrom = lineStart;
    } else {
      state.set(rec.stream, 'closed');
    }
  }
  return { start, emitFrom, end };
}
