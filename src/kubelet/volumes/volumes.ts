// Pod volumes and the kubelet-managed files of a pod (a first slice of pkg/kubelet/volumemanager
// and kubelet_pods.go makeMounts, with the SetUp of the emptyDir, hostPath, configMap, secret,
// downwardAPI and projected plugins): emptyDir and hostPath volumes, the API-backed volumes
// written with the AtomicWriter (atomicwriter.ts; payloads in projected.ts), the managed
// /etc/hosts, and the termination-message file, laid out under <root-dir>/pods/<uid>/ as the
// kubelet does (volumes/kubernetes.io~empty-dir|configmap|secret|downward-api|projected/<name>).
//
// - PodVolumes.setUp runs at every container start (a volume whose files did not change is not
//   rewritten); refresh(pod) re-runs the API-backed volumes already set up (the volume manager's
//   periodic remount: new ConfigMap/Secret contents, refreshed service-account tokens).
// - A failed SetUp of an API-backed volume is a Warning FailedMount event on the pod with
//   upstream's wording (`MountVolume.SetUp failed for volume "v" : ...`) and a MountError; the
//   files already written stay.
// - configMap, secret, downwardAPI and projected volumes are mounted read-only, as their plugins
//   say (GetAttributes().ReadOnly).
//
// Differences: no volume manager loop (volumes are set up when a container starts, and refreshed
// when the kubelet calls refresh); emptyDir medium Memory and the secret/projected volumes are
// plain directories, not tmpfs; in standalone mode (no API) configMap/secret/token sources fail
// with a VolumeError naming the volume, downwardAPI works.

import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { Mount } from '../../runtime/index.js';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import type { EventRecorder, ObjectRef } from '../events/index.js';
import { dataDirName, writeAtomic } from './atomicwriter.js';
import { collectVolumePayload, isProjectedKind, pluginDirName, type VolumeObjectSources } from './projected.js';

export class VolumeError extends Error {}

/** A volume's SetUp failed (upstream's FailedMount); the message is upstream's event text. */
export class MountError extends VolumeError {
  constructor(
    readonly volume: string,
    readonly detail: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${detail}`);
  }
}

/** A set-up volume: where it is on the host, and whether its plugin mounts it read-only. */
export interface PodVolume {
  hostPath: string;
  readOnly: boolean;
}

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, 'pods', uid);
}

function emptyDirPath(rootDir: string, uid: string, name: string): string {
  return join(podDir(rootDir, uid), 'volumes', 'kubernetes.io~empty-dir', name);
}

/** Where an API-backed volume's files live: pods/<uid>/volumes/kubernetes.io~<plugin>/<name>. */
export function projectedVolumePath(rootDir: string, uid: string, v: V1Volume): string {
  return join(podDir(rootDir, uid), 'volumes', pluginDirName(v), v.name);
}

/** Which API objects a volume needs that standalone mode cannot read (empty: none). */
function apiNeeds(v: V1Volume, src: VolumeObjectSources): string[] {
  const out: string[] = [];
  if (v.configMap && !src.configMaps) out.push('configMap');
  if (v.secret && !src.secrets) out.push('secret');
  for (const s of v.projected?.sources ?? []) {
    if (s.configMap && !src.configMaps) out.push('configMap');
    if (s.secret && !src.secrets) out.push('secret');
    if (s.serviceAccountToken && !src.tokens) out.push('serviceAccountToken');
  }
  return [...new Set(out)];
}

function hostPathVolume(v: V1Volume): string {
  const p = v.hostPath!.path;
  const type = v.hostPath!.type ?? '';
  const exists = existsSync(p);
  if (type === 'DirectoryOrCreate' && !exists) mkdirSync(p, { recursive: true, mode: 0o755 });
  else if (type === 'FileOrCreate' && !exists) writeFileSync(p, '', { mode: 0o644 });
  else if (type === 'Directory' && (!exists || !statSync(p).isDirectory())) throw new VolumeError(`hostPath type check failed: ${p} is not a directory (volume "${v.name}")`);
  else if (type === 'File' && (!exists || !statSync(p).isFile())) throw new VolumeError(`hostPath type check failed: ${p} is not a file (volume "${v.name}")`);
  return p;
}

export interface PodVolumesOptions extends VolumeObjectSources {
  rootDir: string;
  clock: Clock;
  /** FailedMount events go here. */
  recorder?: EventRecorder;
  logger?: Logger;
}

/** Sets up and refreshes a pod's volumes under <rootDir>/pods/<uid>/volumes. */
export class PodVolumes {
  private readonly rootDir: string;
  private readonly clock: Clock;
  private readonly recorder: EventRecorder | undefined;
  private readonly logger: Logger;
  private readonly sources: VolumeObjectSources;

  constructor(opts: PodVolumesOptions) {
    this.rootDir = opts.rootDir;
    this.clock = opts.clock;
    this.recorder = opts.recorder;
    this.logger = opts.logger ?? nopLogger;
    this.sources = { ...(opts.configMaps ? { configMaps: opts.configMaps } : {}), ...(opts.secrets ? { secrets: opts.secrets } : {}), ...(opts.tokens ? { tokens: opts.tokens } : {}) };
  }

  /**
   * Host paths of the pod's volumes, creating (or updating) what must exist. Throws VolumeError
   * for a volume nodelet cannot provide, MountError (after the FailedMount event) for an
   * API-backed volume whose SetUp failed.
   */
  async setUp(pod: V1Pod): Promise<Map<string, PodVolume>> {
    const uid = pod.metadata?.uid ?? '';
    const out = new Map<string, PodVolume>();
    const projected: V1Volume[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      if (v.emptyDir) {
        const p = emptyDirPath(this.rootDir, uid, v.name);
        mkdirSync(p, { recursive: true });
        chmodSync(p, 0o777);
        out.set(v.name, { hostPath: p, readOnly: false });
      } else if (v.hostPath) {
        out.set(v.name, { hostPath: hostPathVolume(v), readOnly: false });
      } else if (isProjectedKind(v)) {
        const missing = apiNeeds(v, this.sources);
        if (missing.length) throw new VolumeError(`volume "${v.name}": ${missing.join(', ')} sources need an API server; standalone nodelet supports emptyDir, hostPath and downwardAPI`);
        projected.push(v);
        out.set(v.name, { hostPath: projectedVolumePath(this.rootDir, uid, v), readOnly: true });
      } else {
        const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
        throw new VolumeError(`volume "${v.name}": ${kind} volumes are not supported by nodelet (emptyDir, hostPath, configMap, secret, downwardAPI and projected are)`);
      }
    }
    const results = await Promise.all(projected.map((v) => this.setUpProjected(pod, v)));
    const failed = results.find((r) => r.error);
    if (failed?.error) throw failed.error;
    return out;
  }

  /**
   * Re-runs the SetUp of the pod's configMap, secret, downwardAPI and projected volumes that were
   * set up before (the volume manager's remount): files are rewritten only when their content
   * changed. Failures give the FailedMount event and keep the old files.
   */
  async refresh(pod: V1Pod): Promise<{ volume: string; changed: boolean; error?: string }[]> {
    const uid = pod.metadata?.uid ?? '';
    const vols = (pod.spec?.volumes ?? []).filter(
      (v) => isProjectedKind(v) && apiNeeds(v, this.sources).length === 0 && existsSync(join(projectedVolumePath(this.rootDir, uid, v), dataDirName)),
    );
    const results = await Promise.all(vols.map((v) => this.setUpProjected(pod, v)));
    return results.map((r) => ({ volume: r.volume, changed: r.changed, ...(r.error ? { error: r.error.detail } : {}) }));
  }

  private async setUpProjected(pod: V1Pod, v: V1Volume): Promise<{ volume: string; changed: boolean; error?: MountError }> {
    const dir = projectedVolumePath(this.rootDir, pod.metadata?.uid ?? '', v);
    try {
      const payload = await collectVolumePayload(pod, v, this.sources);
      const { changed } = writeAtomic(dir, payload, this.clock);
      if (changed) this.logger.debug('volume contents written', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, volume: v.name, files: payload.size });
      return { volume: v.name, changed };
    } catch (e) {
      const err = new MountError(v.name, errorMessage(e));
      const ref: ObjectRef = { kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' };
      this.recorder?.event(ref, 'Warning', 'FailedMount', err.message);
      this.logger.warn('MountVolume.SetUp failed', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, volume: v.name, err: err.detail });
      return { volume: v.name, changed: false, error: err };
    }
  }
}

/** Writes the pod's managed /etc/hosts and returns its path. */
export function writeEtcHosts(rootDir: string, uid: string, content: string): string {
  const dir = podDir(rootDir, uid);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'etc-hosts');
  writeFileSync(p, content, { mode: 0o644 });
  return p;
}

/** Creates the termination-message file of one container instance and returns its path. */
export function terminationMessageFile(rootDir: string, uid: string, containerName: string, instance: string): string {
  const dir = join(podDir(rootDir, uid), 'containers', containerName);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, instance);
  writeFileSync(p, '', { mode: 0o666 });
  chmodSync(p, 0o666);
  return p;
}

/** The container's mounts: its volumeMounts, then /etc/hosts and the termination log unless it mounts them itself. */
export function makeMounts(c: V1Container, volumes: Map<string, PodVolume>, etcHosts: string | undefined, terminationLog: string | undefined): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const vol = volumes.get(vm.name);
    if (vol === undefined) throw new VolumeError(`container "${c.name}": volumeMount "${vm.name}" names no volume of the pod`);
    mounts.push({
      containerPath: vm.mountPath,
      hostPath: vm.subPath ? join(vol.hostPath, vm.subPath) : vol.hostPath,
      readonly: vm.readOnly === true || vol.readOnly,
      propagation: vm.mountPropagation === 'Bidirectional' ? 'PROPAGATION_BIDIRECTIONAL' : vm.mountPropagation === 'HostToContainer' ? 'PROPAGATION_HOST_TO_CONTAINER' : 'PROPAGATION_PRIVATE',
    });
    if (vm.subPath && !vol.readOnly) mkdirSync(join(vol.hostPath, vm.subPath), { recursive: true });
  }
  const mounted = new Set(mounts.map((m) => m.containerPath));
  if (etcHosts && !mounted.has('/etc/hosts')) mounts.push({ containerPath: '/etc/hosts', hostPath: etcHosts });
  const tmp = c.terminationMessagePath ?? '/dev/termination-log';
  if (terminationLog && tmp && !mounted.has(tmp)) mounts.push({ containerPath: tmp, hostPath: terminationLog });
  return mounts;
}

/** Removes everything the kubelet kept for a pod under <root-dir>/pods/<uid>. */
export function cleanupPodDir(rootDir: string, uid: string): void {
  rmSync(podDir(rootDir, uid), { recursive: true, force: true });
}
