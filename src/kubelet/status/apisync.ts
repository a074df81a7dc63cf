// The status manager's API half (models pkg/kubelet/status/status_manager.go: syncPod, syncBatch,
// needsUpdate, needsReconcile, canBeDeleted, mergePodStatus, and pkg/util/pod PatchPodStatus /
// preparePatchBytesForPodStatus).
//
// ApiStatusSync is a StatusSink: StatusManager pushes every real change with its version; a sync
// of that pod starts at once (one at a time per pod; changes arriving meanwhile are folded into
// one more sync). A sync GETs the pod, checks it is the same pod (same UID; for a static pod, its
// mirror pod: config.mirror = the static pod's config.hash), merges (mergePodStatus: conditions
// the kubelet does not own are kept, a terminal phase is held back while containers may still
// run) and PATCHes pods/<name>/status with a strategic merge patch of only what differs from the
// API's status (uid included as a precondition, as upstream; containerStatuses and the other
// atomic lists whole), or sends nothing when equal. Every syncPeriod (10 s) syncBatch looks at
// every pod: newer version than the API acknowledged, status differing from the API's (needs
// reconcile), or ready for the final delete. A pod being deleted whose API phase is terminal and
// whose resources are reclaimed (canBeDeleted callback) is deleted with grace 0 and a uid
// precondition, then forgotten.
//
// Differences from upstream: a status moving an API pod out of a terminal phase is never sent
// (upstream relies on the manager's cache); a 409 on the PATCH is retried at once with a fresh GET
// (up to maxConflictRetries) instead of waiting for the next batch; NotFound forgets a regular
// pod's status here (upstream leaves that to RemoveOrphanedStatuses) and keeps a static pod's
// (its mirror pod may come); nominatedNodeName is kept from the API along with
// resourceClaimStatuses; the ready conditions of a terminal phase are generate.ts's business;
// empty strings and empty lists are treated as absent (Go's omitempty) when diffing.

import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod, type V1PodCondition, type V1PodStatus } from '@kubernetes/client-node';
import { ConfigMirrorAnnotationKey, formatTime, isMirrorPod, isStaticPod } from '../../api/podutil.js';
import type { Clock, Timer } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { DisruptionTarget, isKubeletCondition } from './conditions.js';
import type { PodStatusChange, StatusSink } from './manager.js';
import { isPhaseTerminal } from './phase.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObj = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The JSON the API keeps for a value: Dates as RFC 3339 seconds; undefined, null, "" and empty
 * lists dropped (omitempty); keys in a stable order.
 */
export function toWire(v: unknown): Json | undefined {
  if (v instanceof Date) return formatTime(v);
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    return v.map((x) => toWire(x) ?? null);
  }
  if (typeof v === 'object') {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) {
      const x = toWire((v as Record<string, unknown>)[k]);
      if (x !== undefined) out[k] = x;
    }
    return out;
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return undefined;
}

function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Lists of PodStatus merged by key in a strategic merge patch (the patchMergeKey struct tags). */
const statusMergeKeys: Record<string, string> = { conditions: 'type', podIPs: 'ip', hostIPs: 'ip' };

function diffObject(oldV: JsonObject, newV: JsonObject, mergeKeys: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  for (const [k, nv] of Object.entries(newV)) {
    const ov = oldV[k];
    if (ov === undefined) {
      out[k] = nv;
      const key = mergeKeys[k];
      if (key && Array.isArray(nv)) out[`$setElementOrder/${k}`] = nv.map((x) => (isObj(x) ? { [key]: x[key] ?? null } : x));
      continue;
    }
    if (jsonEqual(ov, nv)) continue;
    const key = mergeKeys[k];
    if (key && Array.isArray(ov) && Array.isArray(nv)) {
      const id = (x: Json): Json => (isObj(x) ? (x[key] ?? null) : x);
      const items: Json[] = [];
      for (const n of nv) {
        const o = ov.find((x) => jsonEqual(id(x), id(n)));
        if (o === undefined) items.push(n);
        else if (!jsonEqual(o, n)) items.push(isObj(o) && isObj(n) ? { ...diffObject(o, n, {}), [key]: id(n) } : n);
      }
      for (const o of ov) if (!nv.some((n) => jsonEqual(id(n), id(o)))) items.push({ [key]: id(o), $patch: 'delete' });
      out[`$setElementOrder/${k}`] = nv.map((x) => ({ [key]: id(x) }));
      if (items.length) out[k] = items;
      continue;
    }
    if (isObj(ov) && isObj(nv)) {
      const d = diffObject(ov, nv, {});
      if (Object.keys(d).length) out[k] = d;
      continue;
    }
    out[k] = nv;
  }
  for (const k of Object.keys(oldV)) if (newV[k] === undefined) out[k] = null;
  return out;
}

/**
 * The strategic merge patch taking the API's status to `next` (preparePatchBytesForPodStatus):
 * `{"metadata":{"uid":...},"status":{...}}`; unchanged when the status part is empty.
 */
export function podStatusPatch(uid: string, apiStatus: V1PodStatus | undefined, next: V1PodStatus): { patch: JsonObject; unchanged: boolean } {
  const o = toWire(apiStatus ?? {});
  const n = toWire(next);
  const status = diffObject(isObj(o) ? o : {}, isObj(n) ? n : {}, statusMergeKeys);
  const unchanged = Object.keys(status).length === 0;
  return { patch: { metadata: { uid }, ...(unchanged ? {} : { status }) }, unchanged };
}

export interface MergedStatus {
  status: V1PodStatus;
  /** Set when nothing may be sent: the API's phase is terminal and this status would leave it. */
  refused?: string;
}

/**
 * What to send given the API's status and the kubelet's (mergePodStatus): the kubelet's status
 * with the API's non-kubelet conditions, resourceClaimStatuses and nominatedNodeName; a move to a
 * terminal phase is held back while containers could still run; a DisruptionTarget condition goes
 * only with that terminal move.
 */
export function mergePodStatus(apiStatus: V1PodStatus | undefined, status: V1PodStatus, couldHaveRunningContainers: boolean): MergedStatus {
  const old = apiStatus ?? {};
  if (isPhaseTerminal(old.phase) && status.phase !== old.phase) {
    return { status, refused: `pod may not leave the terminal phase ${old.phase} (new phase ${status.phase ?? ''})` };
  }
  const next: V1PodStatus = structuredClone(status);
  const toTerminal = !isPhaseTerminal(old.phase) && isPhaseTerminal(status.phase);
  const conditions: V1PodCondition[] = (old.conditions ?? []).filter((c) => !isKubeletCondition(c.type));
  for (const c of status.conditions ?? []) {
    if (isKubeletCondition(c.type)) conditions.push(c);
    else if (c.type === DisruptionTarget && toTerminal && !couldHaveRunningContainers) {
      const i = conditions.findIndex((x) => x.type === c.type);
      if (i >= 0) conditions[i] = c;
      else conditions.push(c);
    }
  }
  next.conditions = structuredClone(conditions);
  if (old.resourceClaimStatuses) next.resourceClaimStatuses = structuredClone(old.resourceClaimStatuses);
  else delete next.resourceClaimStatuses;
  if (old.nominatedNodeName) next.nominatedNodeName = old.nominatedNodeName;
  else delete next.nominatedNodeName;
  if (toTerminal && couldHaveRunningContainers) {
    setOrDelete(next, 'phase', old.phase);
    setOrDelete(next, 'reason', old.reason);
    setOrDelete(next, 'message', old.message);
  }
  return { status: next };
}

function setOrDelete<K extends 'phase' | 'reason' | 'message'>(s: V1PodStatus, k: K, v: V1PodStatus[K]): void {
  if (v === undefined) delete s[k];
  else s[k] = v;
}

/** The API pod that carries a pod's status: a regular pod itself; a static pod's mirror pod (same hash). */
export function isStatusTargetOf(apiPod: V1Pod, pod: V1Pod, uid: string): boolean {
  if (isStaticPod(pod)) {
    const hash = pod.metadata?.annotations?.['kubernetes.io/config.hash'] ?? uid;
    return isMirrorPod(apiPod) && apiPod.metadata?.annotations?.[ConfigMirrorAnnotationKey] === hash;
  }
  return apiPod.metadata?.uid === uid;
}

export interface ApiStatusSyncOptions {
  clock: Clock;
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** The reconcile period (default 10 s, status_manager's syncPeriod). */
  syncPeriodMs?: number;
  /** True once the pod's containers are all gone and its volumes cleaned (PodResourcesAreReclaimed). */
  canBeDeleted?: (uid: string) => boolean;
  /** True while the pod's containers could still be running (PodCouldHaveRunningContainers); default false. */
  couldHaveRunningContainers?: (uid: string) => boolean;
  /** The API's pod by API UID as the pod watch last saw it (the source's getPod), for reconciling. */
  lookupApiPod?: (apiUid: string) => V1Pod | undefined;
  /** Immediate retries of a conflicting PATCH, each after a fresh GET (default 5). */
  maxConflictRetries?: number;
}

interface Entry {
  pod: V1Pod;
  status: V1PodStatus;
  version: number;
  /** The version the API has acknowledged (apiStatusVersions). */
  apiVersion: number;
  /** The UID of the API object carrying the status (the mirror pod's for a static pod). */
  apiUid?: string;
  /** The API object as last read or written here. */
  apiPod?: V1Pod;
  running?: Promise<void>;
  again: boolean;
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The StatusSink of cluster mode. start() begins the periodic reconcile; stop() ends it. */
export class ApiStatusSync implements StatusSink {
  private readonly clock: Clock;
  private readonly api: CoreV1Api;
  private readonly log: Logger;
  private readonly syncPeriodMs: number;
  private readonly maxConflictRetries: number;
  private readonly entries = new Map<string, Entry>();
  private timer: Timer | undefined;
  private stopped = false;
  private batch: Promise<void> | undefined;

  constructor(private readonly opts: ApiStatusSyncOptions) {
    this.clock = opts.clock;
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.log = (opts.logger ?? nopLogger).child({ component: 'status-sync' });
    this.syncPeriodMs = opts.syncPeriodMs ?? 10_000;
    this.maxConflictRetries = opts.maxConflictRetries ?? 5;
  }

  start(): void {
    this.stopped = false;
    this.timer ??= this.clock.setInterval(() => {
      if (!this.batch) this.batch = this.syncBatch().finally(() => (this.batch = undefined));
    }, this.syncPeriodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.stop();
    this.timer = undefined;
    await this.flush();
  }

  push(change: PodStatusChange): void {
    const e = this.entries.get(change.uid);
    if (e) {
      if (change.version < e.version) return;
      e.pod = change.pod;
      e.status = change.status;
      e.version = change.version;
    } else {
      this.entries.set(change.uid, { pod: change.pod, status: change.status, version: change.version, apiVersion: 0, again: false });
    }
    this.trigger(change.uid);
  }

  forget(uid: string): void {
    this.entries.delete(uid);
  }

  /** The version of the pod's status the API has, 0 when none (for tests and metrics). */
  apiVersion(uid: string): number {
    return this.entries.get(uid)?.apiVersion ?? 0;
  }

  /** Whether a status is held for the pod. */
  has(uid: string): boolean {
    return this.entries.has(uid);
  }

  /** Resolves when no sync is running. */
  async flush(): Promise<void> {
    for (;;) {
      const running = [...this.entries.values()].map((e) => e.running).filter((p): p is Promise<void> => p !== undefined);
      if (this.batch) running.push(this.batch);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** One reconcile pass over every pod (syncBatch(all=true)); resolves when its syncs are done. */
  async syncBatch(): Promise<void> {
    const due: Promise<void>[] = [];
    for (const [uid, e] of this.entries) {
      if (this.needsUpdate(uid, e) || this.needsReconcile(uid, e)) {
        const p = this.trigger(uid);
        if (p) due.push(p);
      }
    }
    await Promise.all(due);
  }

  private cachedApiPod(e: Entry): V1Pod | undefined {
    const fromWatch = e.apiUid ? this.opts.lookupApiPod?.(e.apiUid) : undefined;
    if (!fromWatch) return e.apiPod;
    if (!e.apiPod) return fromWatch;
    // the newer of the two
    return Number(fromWatch.metadata?.resourceVersion ?? 0) >= Number(e.apiPod.metadata?.resourceVersion ?? 0) ? fromWatch : e.apiPod;
  }

  private needsUpdate(uid: string, e: Entry): boolean {
    if (e.apiVersion < e.version) return true;
    const api = this.cachedApiPod(e);
    return api !== undefined && this.canDelete(uid, api);
  }

  private needsReconcile(uid: string, e: Entry): boolean {
    const api = this.cachedApiPod(e);
    if (!api) return false;
    const merged = mergePodStatus(api.status, e.status, this.opts.couldHaveRunningContainers?.(uid) ?? false);
    if (merged.refused) return false;
    const { unchanged } = podStatusPatch(api.metadata?.uid ?? '', api.status, merged.status);
    if (!unchanged) this.log.info('Pod status is inconsistent with cached status for pod, a reconciliation should be triggered', { podUID: uid });
    return !unchanged;
  }

  private canDelete(uid: string, api: V1Pod): boolean {
    if (!api.metadata?.deletionTimestamp || isMirrorPod(api)) return false;
    if (!isPhaseTerminal(api.status?.phase)) return false;
    return this.opts.canBeDeleted?.(uid) ?? false;
  }

  /**
   * The pod's worker finished (every container stopped, resources released): a pod being deleted
   * can have its final delete now rather than at the next batch.
   */
  podTerminated(uid: string): void {
    void this.trigger(uid);
  }

  /** Runs a sync for uid, or asks the running one to go again. */
  private trigger(uid: string): Promise<void> | undefined {
    const e = this.entries.get(uid);
    if (!e || this.stopped) return undefined;
    if (e.running) {
      e.again = true;
      return e.running;
    }
    const run = async (): Promise<void> => {
      do {
        e.again = false;
        try {
          await this.syncPod(uid, e);
        } catch (err) {
          this.log.error('Status sync failed', { podUID: uid, err: errorMessage(err) });
        }
      } while (e.again && !this.stopped && this.entries.get(uid) === e);
    };
    e.running = run().finally(() => (e.running = undefined));
    return e.running;
  }

  private async syncPod(uid: string, e: Entry): Promise<void> {
    const name = e.pod.metadata?.name ?? '';
    const namespace = e.pod.metadata?.namespace ?? 'default';
    const log = { pod: `${namespace}/${name}`, podUID: uid };
    const isStatic = isStaticPod(e.pod);
    for (let attempt = 0; ; attempt++) {
      const version = e.version;
      const status = e.status;
      let apiPod: V1Pod;
      try {
        apiPod = await this.api.readNamespacedPod({ name, namespace });
      } catch (err) {
        if (codeOf(err) === 404) {
          if (isStatic) {
            this.log.debug('Static pod has no mirror pod yet, status not sent', log);
          } else {
            this.log.info('Pod does not exist on the server', log);
            if (this.entries.get(uid) === e) this.entries.delete(uid);
          }
          return;
        }
        this.log.info('Failed to get status for pod', { ...log, err: errorMessage(err) });
        return;
      }
      if (!isStatusTargetOf(apiPod, e.pod, uid)) {
        if (isStatic) {
          this.log.debug('Static pod has no mirror pod of its current version, status not sent', { ...log, apiPodUID: apiPod.metadata?.uid });
        } else {
          this.log.info('Pod was deleted and then recreated, skipping status update', { ...log, oldPodUID: uid, podUID: apiPod.metadata?.uid });
          if (this.entries.get(uid) === e) this.entries.delete(uid);
        }
        return;
      }
      e.apiUid = apiPod.metadata?.uid;
      e.apiPod = apiPod;
      const merged = mergePodStatus(apiPod.status, status, this.opts.couldHaveRunningContainers?.(uid) ?? false);
      if (merged.refused) {
        this.log.warn('Status update on pod aborted', { ...log, err: merged.refused });
      } else {
        const { patch, unchanged } = podStatusPatch(apiPod.metadata?.uid ?? '', apiPod.status, merged.status);
        if (!unchanged) {
          try {
            e.apiPod = await this.api.patchNamespacedPodStatus({ name, namespace, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
            this.log.debug('Status for pod updated successfully', { ...log, version });
          } catch (err) {
            const code = codeOf(err);
            if (code === 409 && attempt < this.maxConflictRetries) {
              this.log.debug('Conflict patching pod status, retrying', { ...log, attempt });
              continue;
            }
            if (code === 404 && !isStatic && this.entries.get(uid) === e) this.entries.delete(uid);
            this.log.info('Failed to update status for pod', { ...log, err: errorMessage(err) });
            return;
          }
        }
      }
      e.apiVersion = Math.max(e.apiVersion, version);
      if (e.apiPod && this.canDelete(uid, e.apiPod)) await this.finalDelete(uid, e, e.apiPod, log);
      return;
    }
  }

  private async finalDelete(uid: string, e: Entry, apiPod: V1Pod, log: Record<string, unknown>): Promise<void> {
    const podUID = apiPod.metadata?.uid ?? '';
    try {
      await this.api.deleteNamespacedPod({
        name: apiPod.metadata?.name ?? '',
        namespace: apiPod.metadata?.namespace ?? 'default',
        body: { gracePeriodSeconds: 0, preconditions: { uid: podUID } },
      });
      this.log.info('Pod fully terminated and removed from etcd', log);
    } catch (err) {
      const code = codeOf(err);
      if (code !== 404 && code !== 409) {
        this.log.info('Failed to delete status for pod', { ...log, err: errorMessage(err) });
        return;
      }
    }
    if (this.entries.get(uid) === e) this.entries.delete(uid);
  }
}
