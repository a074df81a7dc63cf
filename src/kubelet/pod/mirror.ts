// Mirror pods: the API server's read-only copies of static pods (models
// pkg/kubelet/pod/mirror_client.go: CreateMirrorPod / DeleteMirrorPod, plus the decisions the
// kubelet makes around them in kubelet.go syncPod ("Create Mirror Pod for Static Pod if it doesn't
// already exist") and kubelet_pods.go deleteOrphanedMirrorPods).
//
// decideMirrorPods is the pure part: a static pod without a mirror pod gets one; a mirror pod that
// is being deleted or whose kubernetes.io/config.mirror differs from the static pod's
// kubernetes.io/config.hash is deleted (grace 0, uid precondition) and then recreated, as upstream
// (it does not wait for a graceful deletion to finish); a mirror pod whose static pod is gone is
// deleted, unless that static pod is still terminating. MirrorClient does the API calls.
//
// Differences: the node's UID comes from a callback (upstream reads its node lister); a create is
// not attempted when the node UID is unknown (upstream: "failed to get node UID"), nor when the
// node is being deleted (the caller passes canCreate false).

import { ApiException, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ConfigHashAnnotationKey, ConfigMirrorAnnotationKey, podFullName } from '../../api/podutil.js';
import { errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';

export interface MirrorPodRef {
  namespace: string;
  name: string;
  uid: string;
}

export type MirrorAction =
  | { op: 'create'; staticPod: V1Pod }
  /** Delete the mirror pod; when staticPod is set, create it again once the delete succeeded. */
  | { op: 'delete'; mirror: MirrorPodRef; reason: 'outdated' | 'deleting' | 'orphaned'; staticPod?: V1Pod };

export interface MirrorDecisionInput {
  /** Static pods that should have a mirror pod (admitted and not terminating). */
  staticPods: readonly V1Pod[];
  /** The mirror pods bound to the node, from the API. */
  mirrorPods: readonly V1Pod[];
  /** Full names (name_namespace) of static pods still terminating: their mirror pods stay. */
  terminating?: ReadonlySet<string>;
  /** False when the node is unknown or being deleted: no creates (default true). */
  canCreate?: boolean;
}

/** The static pod's hash (its kubernetes.io/config.hash annotation), or '' (getPodHash). */
export function staticPodHash(pod: V1Pod): string {
  return pod.metadata?.annotations?.[ConfigHashAnnotationKey] ?? '';
}

/** Whether mirror is the mirror pod of this very static pod (IsMirrorPodOf: same full name, same hash). */
export function isMirrorPodOf(mirror: V1Pod, pod: V1Pod): boolean {
  if (podFullName(mirror) !== podFullName(pod)) return false;
  const h = mirror.metadata?.annotations?.[ConfigMirrorAnnotationKey];
  return h !== undefined && h === staticPodHash(pod);
}

function ref(p: V1Pod): MirrorPodRef {
  return { namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', uid: p.metadata?.uid ?? '' };
}

/** What to create and delete so that every static pod has exactly its own mirror pod. */
export function decideMirrorPods(input: MirrorDecisionInput): MirrorAction[] {
  const canCreate = input.canCreate ?? true;
  const mirrors = new Map<string, V1Pod>();
  for (const m of input.mirrorPods) mirrors.set(podFullName(m), m);
  const actions: MirrorAction[] = [];
  const wanted = new Set<string>();
  for (const pod of input.staticPods) {
    const name = podFullName(pod);
    wanted.add(name);
    const m = mirrors.get(name);
    if (!m) {
      if (canCreate) actions.push({ op: 'create', staticPod: pod });
      continue;
    }
    if (m.metadata?.deletionTimestamp) {
      actions.push({ op: 'delete', mirror: ref(m), reason: 'deleting', ...(canCreate ? { staticPod: pod } : {}) });
    } else if (!isMirrorPodOf(m, pod)) {
      actions.push({ op: 'delete', mirror: ref(m), reason: 'outdated', ...(canCreate ? { staticPod: pod } : {}) });
    }
  }
  for (const [name, m] of mirrors) {
    if (wanted.has(name) || input.terminating?.has(name)) continue;
    actions.push({ op: 'delete', mirror: ref(m), reason: 'orphaned' });
  }
  return actions;
}

/** The mirror pod object for a static pod (CreateMirrorPod's copy). */
export function buildMirrorPod(pod: V1Pod, node: { name: string; uid: string }): V1Pod {
  const src = structuredClone(pod);
  const meta = src.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      annotations: { ...meta.annotations, [ConfigMirrorAnnotationKey]: staticPodHash(pod) },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: true }],
    },
    spec: src.spec,
  };
}

export interface MirrorClientOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** The Node's UID (from the node status manager or a GET); undefined when not known yet. */
  nodeUID: () => string | undefined | Promise<string | undefined>;
  logger?: Logger;
}

function apiCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function apiBody(err: unknown): { metadata?: { annotations?: Record<string, string> } } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  return (typeof err.body === 'string' ? safeParse(err.body) : err.body) as { metadata?: { annotations?: Record<string, string> } } | undefined;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Creates and deletes mirror pods through the API (basicMirrorClient). */
export class MirrorClient {
  private readonly api: CoreV1Api;
  private readonly log: Logger;

  constructor(private readonly opts: MirrorClientOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.log = (opts.logger ?? nopLogger).child({ component: 'mirror-client' });
  }

  /** Creates the mirror pod of a static pod; an existing one with the same hash counts as created. */
  async createMirrorPod(pod: V1Pod): Promise<void> {
    const uid = await this.opts.nodeUID();
    if (!uid) throw new Error(`cannot create the mirror pod of ${podFullName(pod)}: failed to get node UID of node "${this.opts.nodeName}"`);
    const body = buildMirrorPod(pod, { name: this.opts.nodeName, uid });
    try {
      await this.api.createNamespacedPod({ namespace: body.metadata!.namespace ?? 'default', body });
    } catch (err) {
      if (apiCode(err) === 409) {
        // AlreadyExists: fine when it is the same static pod's mirror.
        const existing = await this.api.readNamespacedPod({ name: body.metadata!.name!, namespace: body.metadata!.namespace ?? 'default' }).catch(() => undefined);
        const h = existing?.metadata?.annotations?.[ConfigMirrorAnnotationKey] ?? apiBody(err)?.metadata?.annotations?.[ConfigMirrorAnnotationKey];
        if (h !== undefined && h === staticPodHash(pod)) return;
      }
      throw err;
    }
  }

  /**
   * Deletes a mirror pod at once (grace 0) with a uid precondition. True if deleted; false if it
   * was already gone or is another pod now (NotFound, Conflict); other errors are logged (as upstream).
   */
  async deleteMirrorPod(m: MirrorPodRef): Promise<boolean> {
    this.log.info('Deleting a mirror pod', { pod: `${m.namespace}/${m.name}`, podUID: m.uid });
    try {
      await this.api.deleteNamespacedPod({ name: m.name, namespace: m.namespace, body: { gracePeriodSeconds: 0, ...(m.uid ? { preconditions: { uid: m.uid } } : {}) } });
      return true;
    } catch (err) {
      const code = apiCode(err);
      if (code !== 404 && code !== 409) this.log.error('Failed deleting a mirror pod', { pod: `${m.namespace}/${m.name}`, err: errorMessage(err) });
      return false;
    }
  }

  /** Applies decideMirrorPods' actions, in order; failures are logged and left for the next pass. */
  async apply(actions: readonly MirrorAction[]): Promise<void> {
    for (const a of actions) {
      if (a.op === 'delete') {
        const deleted = await this.deleteMirrorPod(a.mirror);
        if (deleted) {
          const why = a.reason === 'orphaned' ? 'Deleted orphaned mirror pod' : 'Deleted mirror pod because it is outdated';
          this.log.info(why, { pod: `${a.mirror.namespace}/${a.mirror.name}`, podUID: a.mirror.uid });
        }
        if (!deleted || !a.staticPod) continue;
      }
      const pod = a.staticPod!;
      try {
        await this.createMirrorPod(pod);
      } catch (err) {
        this.log.error('Failed creating a mirror pod', { pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, err: errorMessage(err) });
      }
    }
  }

  /** decideMirrorPods then apply: what the kubelet's sync and housekeeping passes do for mirror pods. */
  async reconcile(input: MirrorDecisionInput): Promise<MirrorAction[]> {
    const actions = decideMirrorPods(input);
    await this.apply(actions);
    return actions;
  }
}
