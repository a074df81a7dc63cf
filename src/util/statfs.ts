// Filesystem capacity and free space of the filesystem holding a path (what cadvisor's
// GetDirFsInfo gives the kubelet for the image filesystem: capacity and available bytes).
//
// Differs from cadvisor: no device lookup in /proc/self/mountinfo; statfs(2) on the path answers
// for the filesystem the path is on. A path that does not exist (yet) is answered for its nearest
// existing ancestor, which is the filesystem it would be created on.

import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FsStats {
  /** Total size of the filesystem in bytes (blocks * block size). */
  capacityBytes: number;
  /** Bytes an unprivileged user may still write (bavail * block size, as df's "Avail"). */
  availableBytes: number;
  inodes: number;
  inodesFree: number;
}

/** Reads a filesystem's stats; injected so tests use a fake. */
export type StatfsFn = (path: string) => Promise<FsStats>;

/** The raw fields of statfs(2) that FsStats is computed from (node's StatsFs). */
export interface RawStatfs {
  bsize: number;
  blocks: number;
  bavail: number;
  files: number;
  ffree: number;
}

export function fsStatsFromStatfs(s: RawStatfs): FsStats {
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize, inodes: s.files, inodesFree: s.ffree };
}

/** statfs(2) of the filesystem holding path (or its nearest existing ancestor). */
export async function statfsPath(path: string): Promise<FsStats> {
  let p = path;
  for (;;) {
    try {
      return fsStatsFromStatfs(await statfs(p));
    } catch (e) {
      const parent = dirname(p);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === p) throw e;
      p = parent;
    }
  }
}
