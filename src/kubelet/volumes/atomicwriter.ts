// The kubelet's AtomicWriter (models pkg/volume/util/atomic_writer.go): the files of a
// configMap, secret, downwardAPI or projected volume are written into a fresh timestamped
// directory `..<UTC timestamp>.<random>`; a symlink `..data_tmp` to it is renamed over `..data`
// (one atomic switch for every file at once); the user-visible names are symlinks through
// `..data` (`token -> ..data/token`, `dir -> ..data/dir` for nested paths); names no longer in the
// payload are removed and the previous timestamped directory deleted. Nothing is written when
// every file already has the same content and mode (and nothing is to be removed).
//
// Differences: the whole write is synchronous (one event-loop turn: two writes of one volume can
// never interleave); a mode change alone also rewrites (upstream compares contents only; modes come
// from the immutable pod spec, so this only matters for a rewrite after a crash); no FsUser chown.

import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { Clock } from '../../util/clock.js';

/** One file of a volume's payload (volumeutil.FileProjection). */
export interface FileProjection {
  data: Buffer;
  /** Permission bits, e.g. 0o644 (420). */
  mode: number;
}

export const dataDirName = '..data';
export const newDataDirName = '..data_tmp';
const maxFileNameLength = 255;
const maxPathLength = 4096;

export class AtomicWriteError extends Error {}

/** validatePath: relative, no `..` element, not starting with `..`, within the length limits. */
export function validatePayloadPath(p: string): void {
  if (p === '') throw new AtomicWriteError(`invalid path: must not be empty: "${p}"`);
  if (posix.isAbsolute(p)) throw new AtomicWriteError(`invalid path: must be relative path: ${p}`);
  if (p.length > maxPathLength) throw new AtomicWriteError(`invalid path: must be less than or equal to ${maxPathLength} characters`);
  const items = p.split('/');
  for (const item of items) {
    if (item === '..') throw new AtomicWriteError(`invalid path: must not contain '..': ${p}`);
    if (item.length > maxFileNameLength) throw new AtomicWriteError(`invalid path: filenames must be less than or equal to ${maxFileNameLength} characters`);
  }
  if (items[0]!.startsWith('..') && items[0]!.length > 2) throw new AtomicWriteError(`invalid path: must not start with '..': ${p}`);
}

/** validatePayload: every path valid, cleaned (path.Clean). */
export function cleanPayload(payload: Map<string, FileProjection>): Map<string, FileProjection> {
  const out = new Map<string, FileProjection>();
  for (const [k, v] of payload) {
    validatePayloadPath(k);
    out.set(posix.normalize(k).replace(/\/+$/, ''), v);
  }
  return out;
}

/** `..2006_01_02_15_04_05.` of the clock's UTC time (the timestamped directory's prefix). */
export function timestampDirPrefix(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`;
}

/** Relative paths of every file and directory under dir. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(join(dir, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r);
    if (e.isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

/** The current timestamped directory (the target of ..data), if any. */
function currentTsDir(targetDir: string): string | undefined {
  try {
    return readlinkSync(join(targetDir, dataDirName));
  } catch {
    return undefined;
  }
}

/** shouldWritePayload: some file is missing or differs in content or mode. */
function payloadDiffers(payload: Map<string, FileProjection>, tsPath: string): boolean {
  for (const [p, f] of payload) {
    const full = join(tsPath, p);
    try {
      const st = statSync(full);
      if (!st.isFile() || (st.mode & 0o7777) !== (f.mode & 0o7777)) return true;
      if (!readFileSync(full).equals(f.data)) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Write: makes targetDir hold exactly the payload, switching atomically. Returns whether anything
 * was written. Throws AtomicWriteError for an invalid path.
 */
export function writeAtomic(targetDir: string, payload: Map<string, FileProjection>, clock: Clock): { changed: boolean } {
  const files = cleanPayload(payload);
  mkdirSync(targetDir, { recursive: true, mode: 0o755 });

  const oldTsDir = currentTsDir(targetDir);
  const oldTsPath = oldTsDir ? join(targetDir, oldTsDir) : undefined;
  const oldExists = oldTsPath !== undefined && existsSync(oldTsPath);

  // pathsToRemove: what the old directory holds that the new payload (and its parent dirs) does not
  const keep = new Set<string>();
  for (const p of files.keys()) for (let s = p; s !== '.' && s !== ''; s = posix.dirname(s)) keep.add(s);
  const toRemove = oldExists ? walk(oldTsPath).filter((p) => !keep.has(p)) : [];

  if (oldExists && toRemove.length === 0 && !payloadDiffers(files, oldTsPath)) return { changed: false };

  // the new timestamped directory with every file
  const tsPath = mkdtempSync(join(targetDir, timestampDirPrefix(clock.now())));
  chmodSync(tsPath, 0o755);
  const tsName = posix.basename(tsPath);
  try {
    for (const [p, f] of files) {
      const full = join(tsPath, p);
      mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
      writeFileSync(full, f.data, { mode: f.mode });
      chmodSync(full, f.mode);
    }
    // ..data_tmp -> ts dir, renamed over ..data
    const tmpLink = join(targetDir, newDataDirName);
    rmSync(tmpLink, { force: true });
    symlinkSync(tsName, tmpLink);
    renameSync(tmpLink, join(targetDir, dataDirName));
  } catch (e) {
    rmSync(tsPath, { recursive: true, force: true });
    throw e;
  }

  // user-visible names: the first element of each path, through ..data
  for (const p of files.keys()) {
    const top = p.split('/')[0]!;
    const visible = join(targetDir, top);
    let present = false;
    try {
      lstatSync(visible);
      present = true;
    } catch {
      present = false;
    }
    if (!present) symlinkSync(posix.join(dataDirName, top), visible);
  }
  for (const p of toRemove) if (!p.includes('/')) rmSync(join(targetDir, p), { force: true, recursive: true });
  if (oldTsDir && oldTsDir !== tsName) rmSync(join(targetDir, oldTsDir), { recursive: true, force: true });
  return { changed: true };
}
