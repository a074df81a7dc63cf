// The image manager's pull decision (models pkg/kubelet/images/image_manager.go EnsureImageExists):
// pull policy Always / IfNotPresent / Never, ErrImagePull then ImagePullBackOff with a 10 s .. 5 m
// backoff per image, ErrImageNeverPull, InvalidImageName; Pulling/Pulled/Failed/BackOff events
// with the kubelet's wording.
//
// Differences (until the images issue lands): pulls are not serialized or rate limited, there are
// no pull secrets, and nothing tracks images in use for image GC.

import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { Backoff } from '../../util/backoff.js';
import { parseImageRef } from '../../util/imageref.js';
import type { PodSandboxConfig, Runtime } from '../../runtime/index.js';
import type { EventRecorder, ObjectRef } from '../events/index.js';

export type ImageErrorReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName';

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

export class ImagePuller {
  private readonly backoff: Backoff;
  /** Pulls under way, so two containers needing one image trigger one pull. */
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly runtime: Runtime,
    private readonly clock: Clock,
    private readonly recorder: EventRecorder,
  ) {
    this.backoff = new Backoff(clock, 10_000, 300_000);
  }

  async ensureImageExists(pod: V1Pod, container: V1Container, ref: ObjectRef, sandboxConfig?: PodSandboxConfig): Promise<EnsuredImage> {
    const image = container.image ?? '';
    try {
      parseImageRef(image);
    } catch (e) {
      const msg = `Failed to apply default image tag "${image}": ${(e as Error).message}`;
      this.recorder.event(ref, 'Warning', 'InspectFailed', msg);
      throw new ImageError('InvalidImageName', msg);
    }
    const policy = container.imagePullPolicy ?? 'IfNotPresent';
    const present = await this.runtime.imageStatus(image);
    if (present && policy !== 'Always') {
      this.recorder.event(ref, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return { imageRef: present.id, user: { ...(present.uid ? { uid: present.uid.value } : {}), username: present.username } };
    }
    if (policy === 'Never') {
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      this.recorder.event(ref, 'Warning', 'ErrImageNeverPull', msg);
      throw new ImageError('ErrImageNeverPull', msg);
    }
    const key = `${pod.metadata?.uid}/${image}`;
    const lastFailure = this.lastFailure.get(key);
    if (lastFailure !== undefined && this.backoff.isInBackOffSince(key, lastFailure)) {
      const msg = `Back-off pulling image "${image}"`;
      this.recorder.event(ref, 'Normal', 'BackOff', msg);
      throw new ImageError('ImagePullBackOff', msg);
    }
    this.recorder.event(ref, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = this.clock.now();
    let imageRef: string;
    try {
      let p = this.inflight.get(image);
      if (!p) {
        p = this.runtime.pullImage(image, undefined, sandboxConfig).finally(() => this.inflight.delete(image));
        this.inflight.set(image, p);
      }
      imageRef = await p;
    } catch (e) {
      const now = this.clock.now();
      this.backoff.next(key, now);
      this.lastFailure.set(key, now);
      const msg = `Failed to pull image "${image}": ${(e as Error).message}`;
      this.recorder.event(ref, 'Warning', 'Failed', msg);
      throw new ImageError('ErrImagePull', msg);
    }
    this.lastFailure.delete(key);
    const secs = ((this.clock.now() - t0) / 1000).toFixed(3);
    this.recorder.event(ref, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}s`);
    const st = await this.runtime.imageStatus(imageRef);
    return { imageRef: st?.id ?? imageRef, user: { ...(st?.uid ? { uid: st.uid.value } : {}), username: st?.username ?? '' } };
  }

  private readonly lastFailure = new Map<string, number>();
}
