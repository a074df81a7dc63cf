// Status checkpoints for standalone mode: the last status of each pod is kept in
// <root-dir>/pods/<uid>/status.json, so that a restarted nodelet picks up where it left off
// (startTime and condition transition times stay, and ready containers are not reported
// not-ready before their first probe). In cluster mode the API server plays this part (the
// kubelet reads the previous status from the pod object); standalone has no API server.

import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from '../../util/logger.js';
import type { PodStatusChange, StatusSink } from './manager.js';

const file = 'status.json';

/** A StatusSink that writes each changed status to the pod's directory (atomically: temp file + rename). */
export class FileStatusSink implements StatusSink {
  constructor(
    private readonly rootDir: string,
    private readonly logger: Logger,
  ) {}

  push(change: PodStatusChange): void {
    const dir = join(this.rootDir, 'pods', change.uid);
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = join(dir, `.${file}.tmp`);
      writeFileSync(tmp, JSON.stringify(change.status));
      renameSync(tmp, join(dir, file));
    } catch (e) {
      this.logger.warn('cannot write the status checkpoint', { podUID: change.uid, err: e });
    }
  }
}

/** Reads every pod's status checkpoint (times come back as Date objects). */
export function loadStatusCheckpoints(rootDir: string, logger: Logger): Map<string, V1PodStatus> {
  const out = new Map<string, V1PodStatus>();
  let uids: string[];
  try {
    uids = readdirSync(join(rootDir, 'pods'));
  } catch {
    return out;
  }
  for (const uid of uids) {
    try {
      const raw = readFileSync(join(rootDir, 'pods', uid, file), 'utf8');
      out.set(uid, JSON.parse(raw, (_k, v: unknown) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? new Date(v) : v)) as V1PodStatus);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn('ignoring an unreadable status checkpoint', { podUID: uid, err: e });
    }
  }
  return out;
}
