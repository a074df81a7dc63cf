// Image garbage collection (models pkg/kubelet/images/image_gc_manager.go, and the image part of
// Kubelet.StartGarbageCollection in pkg/kubelet/kubelet.go).
//
// Every pass (5 m, and when the eviction side asks) the manager lists images and containers,
// updates its image records (firstDetected when first listed, lastUsed = now while any container
// the runtime lists, running or not, uses the image), then:
// - with imageMaximumGCAge set (and the manager running for longer than it), removes unused images
//   unused for longer than it (reason "age");
// - if the image filesystem's usage is at or above imageGCHighThresholdPercent, removes unused
//   images least recently used first (ties: first detected earlier first) until usage is down to
//   imageGCLowThresholdPercent (reason "space"); never an image in use, pinned by the runtime, or
//   younger than imageMinimumGCAge since first detected. Freeing too little is a Warning event
//   FreeDiskSpaceFailed on the node; repeated failed passes are ImageGCFailed, as upstream.
// Usage is the CRI ImageFsInfo mountpoint's statfs: capacity and available bytes (cadvisor's role).
//
// Differences from upstream:
// - The sandbox (pause) image given as `sandboxImage` counts as in use: containerd 1.6 does not pin
//   it (1.7 does), and the kubelet's container listing leaves sandboxes out.
// - Max-age counts from the later of lastUsed and firstDetected (upstream: lastUsed, which is zero
//   for an image never seen in use, so an image pulled a second ago could go).
// - No RuntimeClassInImageCriAPI (records are keyed by image id alone); no tracing.
// - deleteUnusedImages returns the bytes freed (as upstream before 1.29).

import type { Registry } from 'prom-client';
import type { Image, Runtime } from '../../runtime/types.js';
import type { Clock, Timer } from '../../util/clock.js';
import { ConfigError, errorMessage } from '../../util/errors.js';
import { normalizeImageRef } from '../../util/imageref.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { Counter, getOrCreate } from '../../util/metrics.js';
import { Serializer } from '../../util/serial.js';
import { statfsPath, type StatfsFn } from '../../util/statfs.js';
import { nopRecorder, type EventRecorder, type ObjectRef } from '../events/index.js';

/** The kubelet's ImageGCPeriod. */
export const imageGCPeriodMs = 5 * 60_000;
/** How often the image list that node status reports is refreshed (upstream: 30 s). */
export const imageListPeriodMs = 30_000;

export interface ImageGCPolicy {
  /** Usage at or above this percent of the image filesystem triggers GC (imageGCHighThresholdPercent). */
  highThresholdPercent: number;
  /** GC frees down to this percent (imageGCLowThresholdPercent). */
  lowThresholdPercent: number;
  /** An image first detected less than this long ago is never removed (imageMinimumGCAge). */
  minAgeMs: number;
  /** Unused images unused for longer than this are removed whatever the usage; 0 = off (imageMaximumGCAge). */
  maxAgeMs: number;
}

export const defaultImageGCPolicy: Readonly<ImageGCPolicy> = {
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minAgeMs: 2 * 60_000,
  maxAgeMs: 0,
};

/** What the manager knows of one image (upstream's imageRecord). Times in ms; lastUsed 0 = never seen in use. */
export interface ImageRecord {
  id: string;
  repoTags: string[];
  size: number;
  pinned: boolean;
  firstDetected: number;
  lastUsed: number;
}

/** Usage of the image filesystem: CRI ImageFsInfo plus statfs of its mountpoint. */
export interface ImageFsStats {
  mountpoint: string;
  /** Bytes the runtime says its images use. */
  usedBytes: number;
  capacityBytes: number;
  availableBytes: number;
}

export type ImageGCReason = 'age' | 'space';

/** Upstream's NewImageGCManager checks, with its wording. */
export function validateImageGCPolicy(p: ImageGCPolicy): void {
  if (p.highThresholdPercent < 0 || p.highThresholdPercent > 100) {
    throw new ConfigError(`invalid HighThresholdPercent ${p.highThresholdPercent}, must be in range [0-100]`);
  }
  if (p.lowThresholdPercent < 0 || p.lowThresholdPercent > 100) {
    throw new ConfigError(`invalid LowThresholdPercent ${p.lowThresholdPercent}, must be in range [0-100]`);
  }
  if (p.lowThresholdPercent > p.highThresholdPercent) {
    throw new ConfigError(`LowThresholdPercent ${p.lowThresholdPercent} can not be higher than HighThresholdPercent ${p.highThresholdPercent}`);
  }
}

/**
 * Upstream's threshold arithmetic (integer, as Go's): usage = 100 - available*100/capacity; at or
 * above the high threshold, free capacity*(100-low)/100 - available bytes; else nothing.
 */
export function amountToFree(capacity: number, available: number, policy: Pick<ImageGCPolicy, 'highThresholdPercent' | 'lowThresholdPercent'>): { usagePercent: number; bytesToFree: number } {
  const avail = Math.min(available, capacity);
  const usagePercent = 100 - Math.trunc((avail * 100) / capacity);
  if (usagePercent < policy.highThresholdPercent) return { usagePercent, bytesToFree: 0 };
  return { usagePercent, bytesToFree: Math.trunc((capacity * (100 - policy.lowThresholdPercent)) / 100) - avail };
}

/** The image ids that any of the references (container image / imageRef fields) name: by id, tag or digest. */
export function imagesInUse(images: readonly Image[], refs: Iterable<string>): Set<string> {
  const wanted = new Set<string>();
  for (const r of refs) {
    if (!r) continue;
    wanted.add(r);
    if (!r.startsWith('sha256:')) {
      try {
        wanted.add(normalizeImageRef(r));
      } catch {
        // an id without its algorithm, or a malformed reference: only the exact string can match
      }
    }
  }
  const out = new Set<string>();
  for (const img of images) {
    if (wanted.has(img.id) || img.repoTags.some((t) => wanted.has(t)) || img.repoDigests.some((d) => wanted.has(d))) out.add(img.id);
  }
  return out;
}

/**
 * Upstream's detectImages: records for the images listed now (new ones first detected now;
 * lastUsed = now for those in use; size and pinned refreshed), none for images no longer listed.
 */
export function detectImages(prev: ReadonlyMap<string, ImageRecord>, images: readonly Image[], inUse: ReadonlySet<string>, now: number): Map<string, ImageRecord> {
  const next = new Map<string, ImageRecord>();
  for (const img of images) {
    const old = prev.get(img.id);
    next.set(img.id, {
      id: img.id,
      repoTags: [...img.repoTags],
      size: img.size,
      pinned: img.pinned,
      firstDetected: old?.firstDetected ?? now,
      lastUsed: inUse.has(img.id) ? now : (old?.lastUsed ?? 0),
    });
  }
  return next;
}

/** Least recently used first; ties broken by first detected earlier first (byLastUsedAndDetected). */
function byLastUsedAndDetected(a: ImageRecord, b: ImageRecord): number {
  return a.lastUsed !== b.lastUsed ? a.lastUsed - b.lastUsed : a.firstDetected - b.firstDetected;
}

/** Images GC may remove, in eviction order: not in use, not pinned (imagesInEvictionOrder). */
export function imagesInEvictionOrder(records: Iterable<ImageRecord>, inUse: ReadonlySet<string>): ImageRecord[] {
  return [...records].filter((r) => !inUse.has(r.id) && !r.pinned).sort(byLastUsedAndDetected);
}

/** The eviction-ordered images freeSpace may remove at `now`: also old enough since first detected. */
export function spaceEvictionCandidates(records: Iterable<ImageRecord>, inUse: ReadonlySet<string>, now: number, policy: Pick<ImageGCPolicy, 'minAgeMs'>): ImageRecord[] {
  return imagesInEvictionOrder(records, inUse).filter((r) => r.lastUsed < now && now - r.firstDetected >= policy.minAgeMs);
}

/**
 * The images to remove, in order, to free bytesToFree (each removal assumed to succeed): the
 * eligible ones least recently used first, until their sizes add up to bytesToFree.
 */
export function imagesToFree(records: Iterable<ImageRecord>, inUse: ReadonlySet<string>, now: number, policy: Pick<ImageGCPolicy, 'minAgeMs'>, bytesToFree: number): ImageRecord[] {
  const out: ImageRecord[] = [];
  if (bytesToFree <= 0) return out;
  let freed = 0;
  for (const r of spaceEvictionCandidates(records, inUse, now, policy)) {
    out.push(r);
    freed += r.size;
    if (freed >= bytesToFree) break;
  }
  return out;
}

/**
 * Upstream's freeOldImages selection: with a max age set, and once the manager has run for longer
 * than it, the unused unpinned images unused for longer than it.
 */
export function imagesOverMaxAge(records: Iterable<ImageRecord>, inUse: ReadonlySet<string>, now: number, policy: Pick<ImageGCPolicy, 'maxAgeMs'>, startedAt: number): ImageRecord[] {
  if (policy.maxAgeMs <= 0 || now - startedAt <= policy.maxAgeMs) return [];
  return imagesInEvictionOrder(records, inUse).filter((r) => now - Math.max(r.lastUsed, r.firstDetected) > policy.maxAgeMs);
}

/** Formats errors as apimachinery's utilerrors.NewAggregate: one message, or `[a, b]`. */
export function aggregateMessage(errors: readonly unknown[]): string {
  const msgs = errors.map(errorMessage);
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

export interface ImageGCResult {
  usagePercent: number;
  bytesToFree: number;
  bytesFreed: number;
  /** Ids of the images removed, in removal order. */
  removed: string[];
}

export interface ImageGCManagerOptions {
  runtime: Pick<Runtime, 'listImages' | 'listContainers' | 'removeImage' | 'imageFsInfo'>;
  clock: Clock;
  nodeName: string;
  logger?: Logger;
  recorder?: EventRecorder;
  registry?: Registry;
  policy?: Partial<ImageGCPolicy>;
  /** The sandbox (pause) image, e.g. `localhost/pause:3.9`: never removed (matched by tag or id). */
  sandboxImage?: string;
  /** statfs of the image filesystem's mountpoint; tests inject a fake. */
  statfs?: StatfsFn;
  /** GC period (default 5 m). */
  periodMs?: number;
  /** Image list refresh period for getImageList (default 30 s; 0 = only on GC passes). */
  imageListPeriodMs?: number;
}

const metricName = 'kubelet_image_garbage_collected_total';

/** Matches a reference (tag or id) against an image. */
function imageMatches(img: Image, ref: string, normalized: string | undefined): boolean {
  return img.id === ref || img.id === `sha256:${ref}` || (normalized !== undefined && (img.repoTags.includes(normalized) || img.repoDigests.includes(normalized)));
}

export class ImageGCManager {
  readonly policy: Readonly<ImageGCPolicy>;
  private readonly runtime: ImageGCManagerOptions['runtime'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly recorder: EventRecorder;
  private readonly nodeRef: ObjectRef;
  private readonly statfs: StatfsFn;
  private readonly sandboxImage: string;
  private readonly sandboxImageNormalized: string | undefined;
  private readonly periodMs: number;
  private readonly listPeriodMs: number;
  private readonly collected: Counter<'reason'>;
  private records = new Map<string, ImageRecord>();
  private inUse = new Set<string>();
  private imageCache: Image[] = [];
  private timers: Timer[] = [];
  /** When GC began (upstream's beganGC): max-age removals wait until it is older than the max age. */
  private startedAt: number;
  private prevFailed = false;
  /** Passes run one at a time (upstream: imageRecordsLock). */
  private readonly serializer = new Serializer();

  constructor(opts: ImageGCManagerOptions) {
    const policy = { ...defaultImageGCPolicy, ...opts.policy };
    validateImageGCPolicy(policy);
    this.policy = policy;
    this.runtime = opts.runtime;
    this.clock = opts.clock;
    this.logger = opts.logger ?? nopLogger;
    this.recorder = opts.recorder ?? nopRecorder;
    this.nodeRef = { kind: 'Node', name: opts.nodeName, uid: opts.nodeName };
    this.statfs = opts.statfs ?? statfsPath;
    this.sandboxImage = opts.sandboxImage ?? '';
    try {
      this.sandboxImageNormalized = this.sandboxImage ? normalizeImageRef(this.sandboxImage) : undefined;
    } catch {
      this.sandboxImageNormalized = undefined; // an id: matched as is
    }
    this.periodMs = opts.periodMs ?? imageGCPeriodMs;
    this.listPeriodMs = opts.imageListPeriodMs ?? imageListPeriodMs;
    this.startedAt = opts.clock.now();
    const registry = opts.registry;
    this.collected = registry
      ? getOrCreate(registry, metricName, () =>
          new Counter({
            name: metricName,
            help: 'Total number of images garbage collected by the kubelet, whether through disk usage or image age.',
            labelNames: ['reason'] as const,
            registers: [registry],
          }),
        )
      : new Counter({ name: metricName, help: 'unregistered', labelNames: ['reason'] as const, registers: [] });
  }

  /**
   * Runs a GC pass now and every period, and refreshes the image list every imageListPeriodMs.
   * With the high threshold at 100 and no max age, image GC is off (as upstream): only the image
   * list is kept.
   */
  start(): void {
    if (this.timers.length) return;
    this.startedAt = this.clock.now();
    if (this.listPeriodMs > 0) this.timers.push(this.clock.setInterval(() => void this.refreshImageList(), this.listPeriodMs));
    if (this.policy.highThresholdPercent === 100 && this.policy.maxAgeMs === 0) {
      this.logger.info('ImageGCHighThresholdPercent is set 100 and ImageMaximumGCAge is 0, Disable image GC');
      void this.refreshImageList();
      return;
    }
    const tick = (): void => void this.periodicPass();
    this.timers.push(this.clock.setInterval(tick, this.periodMs));
    tick();
  }

  stop(): void {
    for (const t of this.timers) t.stop();
    this.timers = [];
  }

  /** The images on the node (largest first, as upstream's cache), as last listed. */
  getImageList(): Image[] {
    return [...this.imageCache];
  }

  /** The image records as of the last pass. */
  getImageRecords(): ImageRecord[] {
    return [...this.records.values()].map((r) => ({ ...r, repoTags: [...r.repoTags] }));
  }

  /** Ids of the images in use (by a container the runtime lists, or the sandbox image) at the last pass. */
  getImagesInUse(): ReadonlySet<string> {
    return new Set(this.inUse);
  }

  /** The image filesystem's usage: CRI ImageFsInfo's mountpoint and used bytes, statfs' capacity and available. */
  async imageFsStats(): Promise<ImageFsStats> {
    const info = await this.runtime.imageFsInfo();
    const fs = info.imageFilesystems[0];
    const mountpoint = fs?.fsId?.mountpoint ?? '';
    if (!fs || !mountpoint) throw new Error('the container runtime reported no image filesystem');
    const st = await this.statfs(mountpoint);
    return { mountpoint, usedBytes: fs.usedBytes?.value ?? 0, capacityBytes: st.capacityBytes, availableBytes: st.availableBytes };
  }

  /** One GC pass (upstream's GarbageCollect). Rejects when it could not free what the policy asks. */
  garbageCollect(): Promise<ImageGCResult> {
    return this.serializer.run(() => this.collect());
  }

  /**
   * Removes every unused image old enough since first detected (the eviction side's
   * DeleteUnusedImages); resolves with the bytes freed. Removal errors are logged.
   */
  deleteUnusedImages(): Promise<number> {
    return this.serializer.run(async () => {
      this.logger.info('Attempting to delete unused images');
      const now = this.clock.now();
      await this.detect(now);
      const { freed, errors } = await this.freeSpace(Number.POSITIVE_INFINITY, now, imagesInEvictionOrder(this.records.values(), this.inUse));
      if (errors.length) this.logger.error('Failed to delete some unused images', { bytesFreed: freed, err: aggregateMessage(errors) });
      return freed;
    });
  }

  // ------------------------------------------------------------ internals

  private async periodicPass(): Promise<void> {
    try {
      await this.garbageCollect();
      if (this.prevFailed) this.logger.info('Image garbage collection succeeded');
      else this.logger.debug('Image garbage collection succeeded');
      this.prevFailed = false;
    } catch (e) {
      if (this.prevFailed) {
        this.logger.error('Image garbage collection failed multiple times in a row', { err: errorMessage(e) });
        // only repeated failures make an event, as upstream
        this.recorder.event(this.nodeRef, 'Warning', 'ImageGCFailed', errorMessage(e));
      } else {
        this.logger.error('Image garbage collection failed once. Stats initialization may not have completed yet', { err: errorMessage(e) });
      }
      this.prevFailed = true;
    }
  }

  private async refreshImageList(): Promise<void> {
    try {
      this.setImageCache(await this.runtime.listImages());
    } catch (e) {
      this.logger.info('Failed to update image list', { err: errorMessage(e) });
    }
  }

  private setImageCache(images: Image[]): void {
    this.imageCache = [...images].sort((a, b) => b.size - a.size);
  }

  /** Lists images and containers and updates the records; the sandbox image counts as in use. */
  private async detect(now: number): Promise<void> {
    const [images, containers] = await Promise.all([this.runtime.listImages(), this.runtime.listContainers()]);
    const refs: string[] = [];
    for (const c of containers) refs.push(c.imageRef, c.image.image);
    const inUse = imagesInUse(images, refs);
    if (this.sandboxImage) {
      for (const img of images) if (imageMatches(img, this.sandboxImage, this.sandboxImageNormalized)) inUse.add(img.id);
    }
    this.records = detectImages(this.records, images, inUse, now);
    this.inUse = inUse;
    this.setImageCache(images);
  }

  private async collect(): Promise<ImageGCResult> {
    const now = this.clock.now();
    await this.detect(now);
    let candidates = imagesInEvictionOrder(this.records.values(), this.inUse);
    const removed: string[] = [];

    // max age first, whatever the disk usage
    const old = new Set(imagesOverMaxAge(candidates, this.inUse, now, this.policy, this.startedAt).map((r) => r.id));
    if (old.size) {
      const errors: unknown[] = [];
      const remaining: ImageRecord[] = [];
      for (const r of candidates) {
        if (!old.has(r.id)) {
          remaining.push(r);
          continue;
        }
        try {
          await this.freeImage(r, 'age');
          removed.push(r.id);
        } catch (e) {
          errors.push(e);
          remaining.push(r);
        }
      }
      candidates = remaining;
      if (errors.length) {
        throw new Error(`wanted to free images older than ${this.policy.maxAgeMs / 1000}s, encountered errors in image deletion: ${aggregateMessage(errors)}`);
      }
    }

    const fs = await this.imageFsStats();
    const capacity = fs.capacityBytes;
    let available = fs.availableBytes;
    if (available > capacity) {
      this.logger.info('Availability is larger than capacity', { available, capacity });
      available = capacity;
    }
    if (capacity === 0) {
      const msg = 'invalid capacity 0 on image filesystem';
      this.recorder.event(this.nodeRef, 'Warning', 'InvalidDiskCapacity', msg);
      throw new Error(msg);
    }
    const { usagePercent, bytesToFree } = amountToFree(capacity, available, this.policy);
    const result: ImageGCResult = { usagePercent, bytesToFree, bytesFreed: 0, removed };
    if (usagePercent < this.policy.highThresholdPercent) return result;

    this.logger.info('Disk usage on image filesystem is over the high threshold, trying to free bytes down to the low threshold', {
      usage: usagePercent,
      highThreshold: this.policy.highThresholdPercent,
      amountToFree: bytesToFree,
      lowThreshold: this.policy.lowThresholdPercent,
    });
    const { freed, errors, ids } = await this.freeSpace(bytesToFree, now, candidates);
    result.bytesFreed = freed;
    removed.push(...ids);
    if (errors.length) {
      throw new Error(`wanted to free ${bytesToFree} bytes, but freed ${freed} bytes space with errors in image deletion: ${aggregateMessage(errors)}`);
    }
    if (freed < bytesToFree) {
      const msg = `Failed to garbage collect required amount of images. Attempted to free ${bytesToFree} bytes, but only found ${freed} bytes eligible to free.`;
      this.recorder.event(this.nodeRef, 'Warning', 'FreeDiskSpaceFailed', msg);
      throw new Error(msg);
    }
    return result;
  }

  /** Removes eligible images in order until bytesToFree is reached; continues past errors. */
  private async freeSpace(bytesToFree: number, now: number, ordered: ImageRecord[]): Promise<{ freed: number; errors: unknown[]; ids: string[] }> {
    let freed = 0;
    const errors: unknown[] = [];
    const ids: string[] = [];
    for (const r of spaceEvictionCandidates(ordered, this.inUse, now, this.policy)) {
      try {
        await this.freeImage(r, 'space');
      } catch (e) {
        errors.push(e);
        continue;
      }
      ids.push(r.id);
      freed += r.size;
      if (freed >= bytesToFree) break;
    }
    return { freed, errors, ids };
  }

  private async freeImage(r: ImageRecord, reason: ImageGCReason): Promise<void> {
    this.logger.info('Removing image to free bytes', { imageID: r.id, size: r.size, reason });
    await this.runtime.removeImage(r.id);
    this.records.delete(r.id);
    this.imageCache = this.imageCache.filter((i) => i.id !== r.id);
    this.collected.inc({ reason });
  }
}
