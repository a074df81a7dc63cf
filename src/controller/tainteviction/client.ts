// The taint eviction controller's API calls over @kubernetes/client-node (models upstream
// pkg/controller/tainteviction/taint_eviction.go addConditionAndDeletePod, with
// pkg/util/pod PatchPodStatus and pkg/api/v1/pod UpdatePodCondition).
//
// As upstream: GET the pod, add DisruptionTarget=True (reason DeletionByTaintManager, message
// "Taint manager: deleting due to NoExecute taint") unless it is already there, PATCH pods/status
// with a strategic merge patch carrying metadata.uid (a precondition), then DELETE with the pod's
// own grace period.
//
// Differences: the DELETE carries a UID precondition (upstream deletes by name, which could hit a
// same-name replacement); a pod that is gone (404) or has another UID ends the eviction with
// PodGoneError instead of being retried; a 404 on the DELETE is success.

import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { formatTime } from '../../api/podutil.js';
import { RealClock, type Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { PodGoneError, type TaintEvictionClient } from './controller.js';
import { disruptionTargetCondition } from './decisions.js';

/** The HTTP status of a client-node error, if any. */
export function apiErrorCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

const errorText = (err: unknown): string => {
  const body = (err as { body?: unknown } | undefined)?.body;
  return `${errorMessage(err)} ${typeof body === 'string' ? body : body ? JSON.stringify(body) : ''}`;
};

export class ApiTaintEvictionClient implements TaintEvictionClient {
  constructor(
    private readonly api: CoreV1Api,
    private readonly clock: Clock,
  ) {}

  static fromKubeConfig(kc: KubeConfig, clock: Clock): ApiTaintEvictionClient {
    return new ApiTaintEvictionClient(kc.makeApiClient(CoreV1Api), clock);
  }

  async addDisruptionTargetCondition(pod: V1Pod): Promise<void> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    let cur: V1Pod;
    try {
      cur = await this.api.readNamespacedPod({ name, namespace });
    } catch (err) {
      if (apiErrorCode(err) === 404) throw new PodGoneError(namespace, name, 'not found');
      throw new Error(`cannot get pod ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
    const uid = cur.metadata?.uid ?? '';
    if (pod.metadata?.uid && uid !== pod.metadata.uid) throw new PodGoneError(namespace, name, `replaced (UID ${pod.metadata.uid} is now ${uid})`);
    const { condition, changed } = disruptionTargetCondition(cur.status, new Date(this.clock.now()));
    if (!changed) return;
    const wire: Record<string, string> = { type: condition.type, status: condition.status };
    if (condition.reason) wire.reason = condition.reason;
    if (condition.message) wire.message = condition.message;
    if (condition.lastTransitionTime) wire.lastTransitionTime = formatTime(new Date(condition.lastTransitionTime));
    const body = { metadata: { uid }, status: { conditions: [wire] } };
    try {
      await this.api.patchNamespacedPodStatus({ name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    } catch (err) {
      if (apiErrorCode(err) === 404) throw new PodGoneError(namespace, name, 'not found');
      throw new Error(`cannot patch status of pod ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name, namespace, body: uid ? { preconditions: { uid } } : {} });
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === 404) return;
      if (code === 409 && errorText(err).includes('Precondition failed')) throw new PodGoneError(namespace, name, `replaced (not UID ${uid})`);
      throw new Error(`cannot delete pod ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** The client over a kubeconfig (condition times from `clock`, the real one by default). */
export function kubeTaintEvictionClient(kc: KubeConfig, clock: Clock = new RealClock()): TaintEvictionClient {
  return ApiTaintEvictionClient.fromKubeConfig(kc, clock);
}
