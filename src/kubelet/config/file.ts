// The static pod file source (models pkg/kubelet/config/file.go and file_linux.go).
//
// Reads a directory of manifests (or one file) into a SET of pods for the "file" source: at
// start, on fs.watch events (debounced through the Clock) and every checkFrequencyMs (default
// 20 s, the kubelet's fileCheckFrequency). As upstream: names starting with '.' are ignored,
// subdirectories are not recursed into, only regular files (after following symlinks) are read,
// files are read in name order, and a missing path gives an empty SET (so the source counts as
// seen) with a warning.
//
// Differences (choices where upstream is inconsistent or silent):
// - a file may hold several pods (`---`); its valid pods are used even when another fails;
// - a file whose read has errors (unreadable, unparseable, or an invalid pod) keeps the pods of its
//   last error-free read, if it ever had one: a half-written or broken edit never stops a running
//   static pod. Upstream keeps them only on the inotify path and drops them at the next periodic
//   relist. Deleting the file, or the whole path disappearing, removes its pods;
// - a file that was never valid contributes the valid pods of its current read;
// - one bad file never affects pods from other files;
// - the same problem is logged once (warn) until it changes, not on every rescan;
// - files are read synchronously: manifest directories are small and a scan stays atomic;
// - a file whose inode, size, mtime and ctime are those of its last read is not read and decoded
//   again: the rescan of an unchanged directory costs a stat per file (the SET is still emitted);
// - a path that exists but cannot be listed (e.g. EACCES) emits nothing, as upstream, so the
//   source is not "seen" and housekeeping does not remove pods it cannot know about.

import { readdirSync, readFileSync, statSync, watch as fsWatch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { ValidationError, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { decodeStaticPods } from './static.js';

export interface Watcher {
  close(): void;
}

/** Watches a directory; calls onEvent with the changed entry's name (or null) and onError on failure. */
export type WatchFn = (dir: string, onEvent: (filename: string | null) => void, onError: (err: Error) => void) => Watcher;

export interface FileSourceOptions {
  /** A directory of manifests, or one manifest file. */
  path: string;
  nodeName: string;
  clock: Clock;
  logger: Logger;
  /** Full rescan period (kubelet fileCheckFrequency), default 20 s. */
  checkFrequencyMs?: number;
  /** Delay between a watch event and the rescan it causes, default 100 ms. */
  watchDebounceMs?: number;
  /** Receives every scan's result: all pods from the path, and the errors of this scan. */
  onSet: (pods: V1Pod[], errors: ValidationError[]) => void;
  /** Replaces fs.watch (tests). */
  watch?: WatchFn;
}

interface FileState {
  /** The stat signature of the read this state came from: an unchanged file is not read again. */
  stamp: string;
  /** This read's errors (returned again while the file is unchanged). */
  errors: ValidationError[];
  pods: V1Pod[];
  /** True once a read of this file had no errors: pods are then that read's. */
  good: boolean;
  /** The errors last logged for this file (to log each problem once). */
  loggedErrors: string;
}

const defaultWatch: WatchFn = (dir, onEvent, onError) => {
  const w = fsWatch(dir, { persistent: false }, (_event, filename) => onEvent(filename === null ? null : String(filename)));
  w.on('error', onError);
  return w;
};

function errCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

export class FileSource {
  private readonly path: string;
  private readonly nodeName: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly checkFrequencyMs: number;
  private readonly debounceMs: number;
  private readonly onSet: FileSourceOptions['onSet'];
  private readonly watchFn: WatchFn;
  private files = new Map<string, FileState>();
  private ticker: Timer | undefined;
  private debounce: Timer | undefined;
  private watcher: Watcher | undefined;
  private watchedIno: number | undefined;
  private pathProblem: string | undefined;
  private running = false;

  constructor(opts: FileSourceOptions) {
    this.path = opts.path;
    this.nodeName = opts.nodeName;
    this.clock = opts.clock;
    this.log = opts.logger.child({ source: 'file', path: opts.path });
    this.checkFrequencyMs = opts.checkFrequencyMs ?? 20_000;
    this.debounceMs = opts.watchDebounceMs ?? 100;
    this.onSet = opts.onSet;
    this.watchFn = opts.watch ?? defaultWatch;
  }

  /** Reads the path now (emitting the first SET before returning), then watches and rescans periodically. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scan();
    this.ticker = this.clock.setInterval(() => this.scan(), this.checkFrequencyMs);
  }

  stop(): void {
    this.running = false;
    this.ticker?.stop();
    this.ticker = undefined;
    this.debounce?.stop();
    this.debounce = undefined;
    this.closeWatcher();
  }

  /** One full read of the path; emits a SET unless the path exists but cannot be listed. */
  scan(): void {
    let st;
    try {
      st = statSync(this.path);
    } catch (err) {
      if (errCode(err) === 'ENOENT') {
        this.notePathProblem('missing', 'Static pod path does not exist, no static pods', {});
        this.closeWatcher();
        this.files.clear();
        this.onSet([], []);
      } else {
        this.notePathProblem(`stat:${errCode(err)}`, 'Unable to read static pod path', { error: errorMessage(err) });
      }
      return;
    }
    let names: string[];
    if (st.isDirectory()) {
      try {
        names = readdirSync(this.path)
          .filter((n) => !n.startsWith('.'))
          .sort()
          .map((n) => join(this.path, n));
      } catch (err) {
        this.notePathProblem(`list:${errCode(err)}`, 'Unable to list static pod directory', { error: errorMessage(err) });
        return;
      }
    } else if (st.isFile()) {
      names = [this.path];
    } else {
      this.notePathProblem('mode', 'Static pod path is not a directory or regular file', {});
      return;
    }
    if (this.pathProblem !== undefined) this.log.info('Static pod path is readable again');
    this.pathProblem = undefined;
    this.ensureWatch(st.isDirectory() ? this.path : dirname(this.path), st.isDirectory() ? st.ino : undefined);

    const next = new Map<string, FileState>();
    const errors: ValidationError[] = [];
    for (const file of names) {
      const r = this.readFile(file, file !== this.path);
      if (r === 'skip') continue;
      next.set(file, r.state);
      errors.push(...r.errors);
    }
    for (const gone of this.files.keys()) {
      if (!next.has(gone)) this.log.debug('Manifest file gone, its pods are removed', { file: gone });
    }
    this.files = next;
    this.onSet([...next.values()].flatMap((s) => s.pods), errors);
  }

  private readFile(file: string, inDir: boolean): 'skip' | { state: FileState; errors: ValidationError[] } {
    const prev = this.files.get(file);
    let text: string;
    let stamp: string;
    try {
      const st = statSync(file); // follows symlinks, as upstream's os.Stat
      if (inDir) {
        if (st.isDirectory()) {
          this.log.debug('Not recursing into a directory in the static pod path', { file });
          return 'skip';
        }
        if (!st.isFile()) {
          this.log.debug('Ignoring a manifest path that is not a regular file', { file });
          return 'skip';
        }
      }
      // the same inode, size, mtime and ctime: the same content, its last decode stands
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      if (prev?.stamp === stamp) return { state: prev, errors: prev.errors };
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (errCode(err) === 'ENOENT') return 'skip'; // removed since the listing
      return this.withErrors(file, '', prev, [], [new ValidationError(file, 'file', `cannot read: ${errorMessage(err)}`)]);
    }
    const { pods, errors } = decodeStaticPods(text, { source: file, kind: 'file', nodeName: this.nodeName });
    return this.withErrors(file, stamp, prev, pods, errors);
  }

  private withErrors(file: string, stamp: string, prev: FileState | undefined, pods: V1Pod[], errors: ValidationError[]): { state: FileState; errors: ValidationError[] } {
    const sig = errors.map((e) => e.message).join('\n');
    const changed = sig !== (prev?.loggedErrors ?? '');
    if (errors.length === 0) {
      if (changed) this.log.info('Manifest file is valid again', { file });
      return { state: { stamp, errors, pods, good: true, loggedErrors: '' }, errors };
    }
    const keep = prev?.good === true;
    if (changed) {
      for (const e of errors) {
        this.log.warn(keep ? 'Invalid manifest file, keeping the pods of its last valid version' : 'Invalid manifest file', {
          file,
          field: e.field,
          error: e.message,
          ...(keep ? { kept: prev.pods.length } : { valid: pods.length }),
        });
      }
    }
    if (keep) return { state: { stamp, errors, pods: prev.pods, good: true, loggedErrors: sig }, errors };
    return { state: { stamp, errors, pods, good: false, loggedErrors: sig }, errors };
  }

  private notePathProblem(kind: string, msg: string, fields: Record<string, unknown>): void {
    if (this.pathProblem === kind) this.log.debug(msg, fields);
    else this.log.warn(msg, fields);
    this.pathProblem = kind;
  }

  private ensureWatch(dir: string, ino: number | undefined): void {
    if (!this.running) return;
    // A directory replaced by another one (same path, new inode) needs a new watch.
    if (this.watcher && this.watchedIno === ino) return;
    this.closeWatcher();
    const target = this.path === dir ? undefined : basename(this.path);
    try {
      this.watcher = this.watchFn(
        dir,
        (name) => {
          if (name !== null && (name.startsWith('.') || (target !== undefined && name !== target))) return;
          this.schedule();
        },
        (err) => {
          this.log.debug('Watch failed, relying on periodic rescans', { error: errorMessage(err) });
          this.closeWatcher();
        },
      );
      this.watchedIno = ino;
    } catch (err) {
      this.log.debug('Cannot watch the static pod path, relying on periodic rescans', { error: errorMessage(err) });
    }
  }

  private closeWatcher(): void {
    try {
      this.watcher?.close();
    } catch {
      // already closed
    }
    this.watcher = undefined;
    this.watchedIno = undefined;
  }

  private schedule(): void {
    if (!this.running || this.debounce) return;
    this.debounce = this.clock.setTimeout(() => {
      this.debounce = undefined;
      if (this.running) this.scan();
    }, this.debounceMs);
  }
}
