// NodeLeaseController: the node's heartbeat Lease kube-node-lease/<node> (models
// k8s.io/component-helpers/apimachinery/lease/controller.go: Run, sync, backoffEnsureLease,
// ensureLease, retryUpdateLease, newLease; and pkg/kubelet/nodelease setNodeOwnerFunc).
//
// As upstream: holderIdentity = node name, leaseDurationSeconds 40, renewTime = now (MicroTime),
// renewed every renewInterval (0.25 × duration = 10 s); the update goes from the last Lease it
// wrote without a GET, and only on failure falls back to get-or-create; getting or creating is
// retried with a backoff of 200 ms doubling to 7 s; a conflicting update re-reads and retries, at
// most 5 updates per pass; the owner reference to the Node (apiVersion v1, kind Node, name, uid) is
// set once the Node can be read, and a new Lease is not created before that.
//
// Differences: passes start every renewInterval from the previous start (upstream waits the
// interval after a pass ends), and a pass still running at the next tick (a slow or unreachable
// API: requests hanging, retries, backoff) is abandoned and a fresh one starts, so renewals keep
// their cadence whatever the API does. Every request also has the heartbeat client's deadline
// (renewInterval) on the injected Clock. No 4 % jitter.

import { CoordinationV1Api, CoreV1Api, V1MicroTime, type ConfigurationOptions, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../util/clock.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { apiErrorMessage, isConflict, isNotFound, withDeadline } from '../../util/apicall.js';

export const defaultLeaseDurationSeconds = 40;
export const renewIntervalFraction = 0.25;
export const leaseNamespace = 'kube-node-lease';
export const maxUpdateRetries = 5;
export const leaseMaxBackoffMs = 7_000;
const leaseInitialSleepMs = 100;

export interface NodeLeaseControllerOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  nodeName: string;
  logger?: Logger;
  /** nodeLeaseDurationSeconds (default 40). */
  leaseDurationSeconds?: number;
  /** Default 0.25 × the duration. */
  renewIntervalMs?: number;
  /** Per-request deadline (default: the renew interval). */
  requestTimeoutMs?: number;
  /** Called on the second and later failed updates of a pass (upstream closes the client's connections). */
  onRepeatedHeartbeatFailure?: () => void;
}

/** newLease: a copy of base (or a new Lease) with renewTime now. Pure. */
export function newLease(base: V1Lease | undefined, nodeName: string, durationSeconds: number, now: number, namespace = leaseNamespace): V1Lease {
  const lease: V1Lease = base
    ? (structuredClone(base) as V1Lease)
    : { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: nodeName, namespace }, spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds } };
  lease.spec ??= {};
  lease.spec.renewTime = new V1MicroTime(now);
  return lease;
}

/** The owner reference of a node's Lease (setNodeOwnerFunc). */
export function nodeOwnerReference(nodeName: string, uid: string): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: 'v1', kind: 'Node', name: nodeName, uid };
}

export class NodeLeaseController {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly leases: CoordinationV1Api;
  private readonly nodes: CoreV1Api;
  private readonly durationSeconds: number;
  private readonly renewMs: number;
  private readonly timeoutMs: number;
  private latest: V1Lease | undefined;
  private running = false;
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  /** Aborts the pass under way (at stop, or when the next tick finds it still running). */
  private passAc = new AbortController();

  constructor(private readonly opts: NodeLeaseControllerOptions) {
    this.clock = opts.clock;
    this.log = (opts.logger ?? nopLogger).child({ component: 'nodelease' });
    this.leases = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.nodes = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.durationSeconds = opts.leaseDurationSeconds ?? defaultLeaseDurationSeconds;
    this.renewMs = opts.renewIntervalMs ?? this.durationSeconds * 1000 * renewIntervalFraction;
    this.timeoutMs = opts.requestTimeoutMs ?? this.renewMs;
  }

  /** The Lease as last written or read. */
  latestLease(): V1Lease | undefined {
    return this.latest;
  }

  renewIntervalMs(): number {
    return this.renewMs;
  }

  /** A pass now, then one every renew interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Stops renewing; resolves when the pass under way has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.timer?.stop();
    this.timer = undefined;
    this.passAc.abort(new Error('node lease controller stopped'));
    await this.inFlight;
  }

  private tick(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => this.tick(), this.renewMs);
    const prev = this.inFlight;
    if (prev) {
      this.log.warn('Node lease renewal took longer than the renew interval; starting a new attempt', { interval: this.renewMs });
      this.passAc.abort(new Error('lease renewal pass abandoned at the next tick'));
      void prev.then(() => (this.running ? this.sync() : undefined));
      return;
    }
    void this.sync();
  }

  /** One pass (upstream sync); a pass under way is shared. Never rejects. */
  sync(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.passAc = new AbortController();
    this.inFlight = this.pass()
      .catch((e: unknown) => this.log.error('Node lease sync failed', { err: apiErrorMessage(e) }))
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async pass(): Promise<void> {
    if (this.latest) {
      try {
        await this.retryUpdateLease(this.latest);
        return;
      } catch (e) {
        if (this.passAc.signal.aborted) return;
        this.log.info('failed to update lease using latest lease, fallback to ensure lease', { err: apiErrorMessage(e) });
      }
    }
    const got = await this.backoffEnsureLease();
    if (!got) return;
    this.latest = got.lease;
    if (!got.created && got.lease) {
      try {
        await this.retryUpdateLease(got.lease);
      } catch (e) {
        this.log.error('Will retry updating lease', { interval: this.renewMs, err: apiErrorMessage(e) });
      }
    }
  }

  /** Get or create until it works (or the controller stops); undefined when stopped. */
  private async backoffEnsureLease(): Promise<{ lease: V1Lease | undefined; created: boolean } | undefined> {
    let sleep = leaseInitialSleepMs;
    for (;;) {
      try {
        return await this.ensureLease();
      } catch (e) {
        if (this.passAc.signal.aborted) return undefined;
        sleep = Math.min(2 * sleep, leaseMaxBackoffMs);
        this.log.error('Failed to ensure lease exists, will retry', { interval: sleep, err: apiErrorMessage(e) });
        try {
          await this.clock.sleep(sleep, this.passAc.signal);
        } catch {
          return undefined;
        }
      }
    }
  }

  private async ensureLease(): Promise<{ lease: V1Lease | undefined; created: boolean }> {
    const name = this.opts.nodeName;
    try {
      const lease = await this.call((o) => this.leases.readNamespacedLease({ name, namespace: leaseNamespace }, o));
      return { lease, created: false };
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const toCreate = newLease(undefined, name, this.durationSeconds, this.clock.now());
    if (!(await this.setNodeOwner(toCreate))) return { lease: undefined, created: false };
    const lease = await this.call((o) => this.leases.createNamespacedLease({ namespace: leaseNamespace, body: toCreate }, o));
    return { lease, created: true };
  }

  private async retryUpdateLease(base: V1Lease | undefined): Promise<void> {
    for (let i = 0; i < maxUpdateRetries; i++) {
      if (this.passAc.signal.aborted) throw new Error('stopped');
      const toUpdate = newLease(base, this.opts.nodeName, this.durationSeconds, this.clock.now());
      await this.setNodeOwner(toUpdate);
      try {
        this.latest = await this.call((o) => this.leases.replaceNamespacedLease({ name: this.opts.nodeName, namespace: leaseNamespace, body: toUpdate }, o));
        return;
      } catch (e) {
        this.log.error('Failed to update lease', { err: apiErrorMessage(e) });
        if (isConflict(e)) {
          const got = await this.backoffEnsureLease();
          if (!got) throw new Error('stopped');
          base = got.lease;
          continue;
        }
        if (i > 0) this.opts.onRepeatedHeartbeatFailure?.();
      }
    }
    throw new Error(`failed ${maxUpdateRetries} attempts to update lease`);
  }

  /** setNodeOwnerFunc: adds the owner reference when missing; false when the Node could not be read. */
  private async setNodeOwner(lease: V1Lease): Promise<boolean> {
    if ((lease.metadata?.ownerReferences?.length ?? 0) > 0) return true;
    try {
      const node = await this.call((o) => this.nodes.readNode({ name: this.opts.nodeName }, o));
      (lease.metadata ??= {}).ownerReferences = [nodeOwnerReference(this.opts.nodeName, node.metadata?.uid ?? '')];
      return true;
    } catch (e) {
      this.log.error('Failed to get node when trying to set owner ref to the node lease', { node: this.opts.nodeName, err: apiErrorMessage(e) });
      return false;
    }
  }

  private call<T>(fn: (o: ConfigurationOptions) => Promise<T>): Promise<T> {
    return withDeadline(this.clock, this.timeoutMs, this.passAc.signal, fn);
  }
}
