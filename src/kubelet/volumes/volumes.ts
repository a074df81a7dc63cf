// Pod volumes and the kubelet-managed files of a pod (a first slice of pkg/kubelet/volumemanager
// and kubelet_pods.go makeMounts): emptyDir and hostPath volumes, the managed /etc/hosts, and the
// termination-message file, laid out under <root-dir>/pods/<uid>/ as the kubelet does.
//
// Differences: no volume manager loop yet (volumes are set up when a container starts), emptyDir
// medium Memory is a plain directory, and configMap/secret/projected/downwardAPI volumes are
// refused with a message naming the volume until cluster mode lands.

import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Mount } from '../../runtime/index.js';

export class VolumeError extends Error {}

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, 'pods', uid);
}

function emptyDirPath(rootDir: string, uid: string, name: string): string {
  return join(podDir(rootDir, uid), 'volumes', 'kubernetes.io~empty-dir', name);
}

/** Host paths of the pod's volumes, creating what must exist. */
export function setUpPodVolumes(pod: V1Pod, rootDir: string): Map<string, string> {
  const uid = pod.metadata?.uid ?? '';
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.emptyDir) {
      const p = emptyDirPath(rootDir, uid, v.name);
      mkdirSync(p, { recursive: true });
      chmodSync(p, 0o777);
      out.set(v.name, p);
    } else if (v.hostPath) {
      const p = v.hostPath.path;
      const type = v.hostPath.type ?? '';
      const exists = existsSync(p);
      if (type === 'DirectoryOrCreate' && !exists) mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (type === 'FileOrCreate' && !exists) writeFileSync(p, '', { mode: 0o644 });
      else if (type === 'Directory' && (!exists || !statSync(p).isDirectory())) throw new VolumeError(`hostPath type check failed: ${p} is not a directory (volume "${v.name}")`);
      else if (type === 'File' && (!exists || !statSync(p).isFile())) throw new VolumeError(`hostPath type check failed: ${p} is not a file (volume "${v.name}")`);
      out.set(v.name, p);
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(`volume "${v.name}": ${kind} volumes need an API server; standalone nodelet supports emptyDir and hostPath`);
    }
  }
  return out;
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
export function makeMounts(c: V1Container, volumes: Map<string, string>, etcHosts: string | undefined, terminationLog: string | undefined): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const host = volumes.get(vm.name);
    if (host === undefined) throw new VolumeError(`container "${c.name}": volumeMount "${vm.name}" names no volume of the pod`);
    mounts.push({
      containerPath: vm.mountPath,
      hostPath: vm.subPath ? join(host, vm.subPath) : host,
      readonly: vm.readOnly === true,
      propagation: vm.mountPropagation === 'Bidirectional' ? 'PROPAGATION_BIDIRECTIONAL' : vm.mountPropagation === 'HostToContainer' ? 'PROPAGATION_HOST_TO_CONTAINER' : 'PROPAGATION_PRIVATE',
    });
    if (vm.subPath) mkdirSync(join(host, vm.subPath), { recursive: true });
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
