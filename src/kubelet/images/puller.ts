// The kubelet's image manager (models pkg/kubelet/images/image_manager.go EnsureImageExists,
// puller.go, helpers.go throttleImagePulling, and kuberuntime_image.go PullImage's credential loop):
//
// - pull policy Always / IfNotPresent / Never (defaulted by tag in src/api/defaults.ts; one left
//   unset is taken as IfNotPresent); ErrImageNeverPull, InvalidImageName, ImageInspectError;
// - ErrImagePull, then ImagePullBackOff: 10 s doubling to 5 m per pod UID + image (`<uid>_<image>`),
//   forgotten after 10 minutes without a failure (a success does not reset it, as upstream);
// - serializeImagePulls (one at a time, FIFO) or parallel pulls capped by maxParallelImagePulls;
//   registryPullQPS / registryBurst as a token bucket checked when a pull starts: a refused pull
//   fails with "pull QPS exceeded" (ErrImagePull), as upstream's throttledImageService does;
// - credentials: the pod's docker-config pull secrets, then the node's docker config.json; each
//   matching credential is tried in order until one pull succeeds, anonymous when none matches;
//   unretrievable secrets give the FailedToRetrieveImagePullSecret warning;
// - events and wording as the kubelet: Pulling, Pulled (with durations and size), Failed, BackOff,
//   ErrImageNeverPull, InspectFailed.
//
// Differences: two containers needing the same image with the same credentials share one CRI pull
// (upstream issues one PullImage per container and lets the runtime coalesce them); a pull still
// in flight is logged every 10 s ("Image pull in progress"; upstream leaves progress to the
// runtime); the ErrImagePull status message is the Failed event's text rather than the bare CRI
// error; no image GC bookkeeping or metrics here.

import { createHash } from 'node:crypto';
import type { V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { Backoff } from '../../util/backoff.js';
import { formatDuration } from '../../util/duration.js';
import { ConfigError, errorMessage } from '../../util/errors.js';
import { normalizeImageRef, parseImageRef } from '../../util/imageref.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { TokenBucket } from '../../util/ratelimit.js';
import type { AuthConfig, Image, PodSandboxConfig, Runtime } from '../../runtime/index.js';
import type { EventRecorder, ObjectRef } from '../events/index.js';
import { failedPullSecretsMessage, keyringFromSecrets, lookupCredentials, missingPullSecrets, NodeKeyring, type DockerKeyring } from './credentials.js';
import { newPullScheduler, type PullScheduler } from './pullers.js';

export type ImageErrorReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName' | 'ImageInspectError';

export class ImageError extends Error {
  constructor(
    readonly reason: ImageErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface EnsuredImage {
  /** Image ID to create the container from. */
  imageRef: string;
  /** The image's configured user (for runAsNonRoot). */
  user: { uid?: number; username: string };
}

export interface ImagePullerOptions {
  runtime: Runtime;
  clock: Clock;
  recorder: EventRecorder;
  logger?: Logger;
  /** --serialize-image-pulls: one pull at a time (default true). */
  serializeImagePulls?: boolean;
  /** maxParallelImagePulls when not serialized; undefined or 0: no cap. */
  maxParallelImagePulls?: number;
  /** --registry-qps (default 5); 0: no limit. */
  registryPullQPS?: number;
  /** --registry-burst (default 10). */
  registryBurst?: number;
  /** The pod's imagePullSecrets as secrets (those that could not be read are left out). */
  getPullSecrets?: (pod: V1Pod) => Promise<V1Secret[]>;
  /** Node docker config files, first readable one wins (see defaultNodeDockerConfigPaths). */
  nodeDockerConfigPaths?: string[];
  /** How often a pull still in flight is logged (default 10 s). */
  progressIntervalMs?: number;
}

/** The settings a kubelet passes through to its puller (everything but the collaborators). */
export type ImagePullSettings = Omit<ImagePullerOptions, 'runtime' | 'clock' | 'recorder' | 'logger'>;

/** The kubelet's image pull defaults (KubeletConfiguration). */
export const imagePullDefaults = { serializeImagePulls: true, registryPullQPS: 5, registryBurst: 10 } as const;

/** helpers.go applyDefaultImageTag: `busybox` -> `busybox:latest`, keeping the name as written. */
export function applyDefaultImageTag(image: string): string {
  const r = parseImageRef(image);
  return r.tag === undefined && r.digest === undefined ? `${image}:latest` : image;
}

/**
 * The container's pull policy. Pods reach the kubelet defaulted (src/api/defaults.ts: Always for
 * `:latest` or untagged, else IfNotPresent); one that was not gets IfNotPresent, which neither
 * fails a present image nor pulls needlessly.
 */
export function effectivePullPolicy(container: V1Container): string {
  return container.imagePullPolicy || 'IfNotPresent';
}

/** image_manager.go shouldPullImage: an unknown policy never pulls. */
export function shouldPullImage(policy: string, imagePresent: boolean): boolean {
  if (policy === 'Never') return false;
  return policy === 'Always' || (policy === 'IfNotPresent' && !imagePresent);
}

/** utilerrors.NewAggregate(...).Error(): one message as is, several (deduplicated) as `[a, b]`. */
export function aggregateMessage(messages: string[]): string {
  const uniq = [...new Set(messages)];
  return uniq.length === 1 ? uniq[0]! : `[${uniq.join(', ')}]`;
}

interface PullResult {
  imageRef: string;
  status: Image | null;
  /** Time the CRI pull itself took (without waiting for a slot), ms. */
  pullMs: number;
}

function ensured(imageRef: string, st: Image | null): EnsuredImage {
  return { imageRef: st?.id || imageRef, user: { ...(st?.uid ? { uid: st.uid.value } : {}), username: st?.username ?? '' } };
}

export class ImagePuller {
  private readonly runtime: Runtime;
  private readonly clock: Clock;
  private readonly recorder: EventRecorder;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  /** backoff key -> time of its last failure. */
  private readonly lastFailure = new Map<string, number>();
  private readonly scheduler: PullScheduler;
  private readonly limiter: TokenBucket | undefined;
  private readonly getPullSecrets: ((pod: V1Pod) => Promise<V1Secret[]>) | undefined;
  private readonly nodeKeyring: NodeKeyring | undefined;
  private readonly progressIntervalMs: number;
  /** Pulls under way by image + credentials, so two containers needing one image trigger one pull. */
  private readonly inflight = new Map<string, Promise<PullResult>>();

  constructor(opts: ImagePullerOptions) {
    this.runtime = opts.runtime;
    this.clock = opts.clock;
    this.recorder = opts.recorder;
    this.logger = opts.logger ?? nopLogger;
    this.backoff = new Backoff(opts.clock, 10_000, 300_000);
    const qps = opts.registryPullQPS ?? imagePullDefaults.registryPullQPS;
    const burst = opts.registryBurst ?? imagePullDefaults.registryBurst;
    if (!(qps >= 0)) throw new ConfigError(`registryPullQPS must be >= 0 (got ${qps})`);
    if (!(burst >= 0) || !Number.isInteger(burst)) throw new ConfigError(`registryBurst must be an integer >= 0 (got ${burst})`);
    if (opts.maxParallelImagePulls !== undefined && !(opts.maxParallelImagePulls >= 0)) {
      throw new ConfigError(`maxParallelImagePulls must be >= 0 (got ${opts.maxParallelImagePulls})`);
    }
    this.limiter = qps > 0 ? new TokenBucket(opts.clock, qps, burst) : undefined;
    this.scheduler = newPullScheduler(opts.serializeImagePulls ?? imagePullDefaults.serializeImagePulls, opts.maxParallelImagePulls);
    this.getPullSecrets = opts.getPullSecrets;
    this.nodeKeyring = opts.nodeDockerConfigPaths?.length ? new NodeKeyring(opts.nodeDockerConfigPaths, opts.clock, this.logger) : undefined;
    this.progressIntervalMs = opts.progressIntervalMs ?? 10_000;
  }

  /** Pulls running and waiting for a slot. */
  get pulls(): { active: number; waiting: number } {
    return { active: this.scheduler.active, waiting: this.scheduler.waiting };
  }

  async ensureImageExists(pod: V1Pod, container: V1Container, ref: ObjectRef, sandboxConfig?: PodSandboxConfig): Promise<EnsuredImage> {
    const requested = container.image ?? '';
    let image: string;
    try {
      image = applyDefaultImageTag(requested);
    } catch (e) {
      const msg = `Failed to apply default image tag "${requested}": ${errorMessage(e)}`;
      this.recorder.event(ref, 'Warning', 'InspectFailed', msg);
      throw new ImageError('InvalidImageName', msg);
    }

    let present: Image | null;
    try {
      present = await this.runtime.imageStatus(image);
    } catch (e) {
      const msg = `Failed to inspect image "${requested}": ${errorMessage(e)}`;
      this.recorder.event(ref, 'Warning', 'InspectFailed', msg);
      throw new ImageError('ImageInspectError', msg);
    }

    if (!shouldPullImage(effectivePullPolicy(container), present !== null)) {
      if (present) {
        this.recorder.event(ref, 'Normal', 'Pulled', `Container image "${requested}" already present on machine`);
        return ensured(present.id, present);
      }
      const msg = `Container image "${requested}" is not present with pull policy of Never`;
      this.recorder.event(ref, 'Warning', 'ErrImageNeverPull', msg);
      throw new ImageError('ErrImageNeverPull', msg);
    }

    const key = `${pod.metadata?.uid ?? ''}_${requested}`;
    const last = this.lastFailure.get(key);
    if (last !== undefined && this.backoff.isInBackOffSince(key, last)) {
      const msg = `Back-off pulling image "${requested}"`;
      this.recorder.event(ref, 'Normal', 'BackOff', msg);
      throw new ImageError('ImagePullBackOff', msg);
    }

    const secrets = await this.pullSecrets(pod); // before Pulling, as the kubelet reads them in SyncPod
    this.recorder.event(ref, 'Normal', 'Pulling', `Pulling image "${requested}"`);
    const t0 = this.clock.now();
    let result: PullResult;
    try {
      result = await this.pull(image, secrets, sandboxConfig);
    } catch (e) {
      const msg = `Failed to pull image "${requested}": ${errorMessage(e)}`;
      this.recorder.event(ref, 'Warning', 'Failed', msg);
      const now = this.clock.now();
      this.backoff.next(key, now);
      this.lastFailure.set(key, now);
      throw new ImageError('ErrImagePull', msg);
    }
    const total = Math.floor(this.clock.now() - t0); // a caller joining a shared pull late waited less than it took
    this.recorder.event(
      ref,
      'Normal',
      'Pulled',
      `Successfully pulled image "${requested}" in ${formatDuration(Math.min(Math.floor(result.pullMs), total))} (${formatDuration(total)} including waiting). Image size: ${result.status?.size ?? 0} bytes.`,
    );
    this.gcBackoff();
    return ensured(result.imageRef, result.status);
  }

  /** Credentials from the pod's secrets and the node, then one shared pull per image + credentials. */
  private async pull(image: string, secrets: V1Secret[], sandboxConfig?: PodSandboxConfig): Promise<PullResult> {
    const podKeyring = keyringFromSecrets(secrets); // throws on unreadable secret JSON, failing the pull
    let nodeKeyring: DockerKeyring | undefined;
    if (this.nodeKeyring) nodeKeyring = await this.nodeKeyring.keyring();
    const creds = lookupCredentials(image, [podKeyring, nodeKeyring]);
    const key = `${normalizeImageRef(image)}#${creds.length ? createHash('sha256').update(JSON.stringify(creds)).digest('hex') : 'anonymous'}`;
    let p = this.inflight.get(key);
    if (!p) {
      const shared: Promise<PullResult> = this.startPull(image, creds, sandboxConfig).finally(() => {
        if (this.inflight.get(key) === shared) this.inflight.delete(key);
      });
      this.inflight.set(key, shared);
      p = shared;
    }
    return p;
  }

  /** The pod's pull secrets; names that could not be read give the kubelet's warning event. */
  private async pullSecrets(pod: V1Pod): Promise<V1Secret[]> {
    const named = (pod.spec?.imagePullSecrets ?? []).some((r) => r.name);
    if (!named) return [];
    let secrets: V1Secret[] = [];
    if (this.getPullSecrets) {
      try {
        secrets = await this.getPullSecrets(pod);
      } catch (e) {
        this.logger.info('Unable to retrieve pull secrets, the image pull may not succeed', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: errorMessage(e) });
        secrets = [];
      }
    }
    const missing = missingPullSecrets(pod, secrets);
    if (missing.length > 0) {
      const podRef: ObjectRef = { kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' };
      this.recorder.event(podRef, 'Warning', 'FailedToRetrieveImagePullSecret', failedPullSecretsMessage(missing));
    }
    return secrets;
  }

  private async startPull(image: string, creds: AuthConfig[], sandboxConfig?: PodSandboxConfig): Promise<PullResult> {
    const requestedAt = this.clock.now();
    let startedAt: number | undefined;
    const progress = this.clock.setInterval(() => {
      this.logger.info('Image pull in progress', {
        image,
        elapsed: formatDuration(this.clock.now() - requestedAt),
        ...(startedAt === undefined ? { waiting: true } : {}),
      });
    }, this.progressIntervalMs);
    try {
      return await this.scheduler.run(async () => {
        // registryPullQPS / registryBurst: checked when the pull starts, as throttledImageService
        if (this.limiter && !this.limiter.tryAccept()) throw new Error('pull QPS exceeded');
        startedAt = this.clock.now();
        const imageRef = await this.pullWithCredentials(image, creds, sandboxConfig);
        const pullMs = this.clock.now() - startedAt;
        let status: Image | null = null;
        try {
          status = await this.runtime.imageStatus(imageRef); // size and user, best effort as upstream
        } catch (e) {
          this.logger.debug('Cannot read the status of a pulled image', { image, imageRef, err: errorMessage(e) });
        }
        return { imageRef, status, pullMs };
      });
    } finally {
      progress.stop();
    }
  }

  /** kuberuntime_image.go PullImage: anonymous when no credential matches, else each in turn. */
  private async pullWithCredentials(image: string, creds: AuthConfig[], sandboxConfig?: PodSandboxConfig): Promise<string> {
    if (creds.length === 0) {
      this.logger.debug('Pulling image without credentials', { image });
      return this.runtime.pullImage(image, undefined, sandboxConfig);
    }
    const errors: string[] = [];
    for (const auth of creds) {
      try {
        return await this.runtime.pullImage(image, auth, sandboxConfig);
      } catch (e) {
        errors.push(errorMessage(e));
      }
    }
    throw new Error(aggregateMessage(errors));
  }

  /** Backoff.GC after a successful pull: forgets keys with no failure for 2 x 5 m. */
  private gcBackoff(): void {
    this.backoff.gc();
    for (const k of this.lastFailure.keys()) if (this.backoff.get(k) === 0) this.lastFailure.delete(k);
  }
}
