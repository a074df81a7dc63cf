// LeaderElector: leader election with a Lease lock, as kube-controller-manager runs it (models
// client-go tools/leaderelection/leaderelection.go: NewLeaderElector's checks, Run, acquire,
// renew, release, tryAcquireOrRenew, maybeReportTransition, Check, isLeaseValid; metrics.go;
// and cmd/kube-controller-manager/app: Lease kube-system/kube-controller-manager, identity
// "<hostname>_<uuid>", leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s).
//
// As upstream: a candidate tries at once, then every retryPeriod with jitter (factor 1.2). It
// takes the Lease when it is absent (create), has no holder, or has not changed for the holder's
// leaseDurationSeconds as measured on the candidate's OWN clock from when it saw the record
// change (renewTime is never compared with the local clock, so clock skew between machines does
// not matter). The leader renews every retryPeriod, first optimistically from the Lease it last
// wrote, else get + update; every write is conditional on resourceVersion (a 409 is a failed try,
// retried at the next period). A renewal round that has not succeeded within renewDeadline ends
// the leadership. leaseTransitions counts changes of holder; acquireTime is kept while the same
// holder renews. ReleaseOnCancel (off by default, as kube-controller-manager) writes an empty
// holder with leaseDurationSeconds 1 on stop so another candidate takes over at its next try.
// Events LeaderElection "<identity> became leader" / "<identity> stopped leading" on the Lease;
// metrics leader_election_master_status{name} and leader_election_slowpath_total{name}.
//
// Differences: loss is acted on at once: when the renewal round's deadline passes, the signal
// given to onStartedLeading is aborted and onStoppedLeading called right away (upstream cancels
// the leader's context and calls OnStoppedLeading only after the optional release). On stop the
// signal is aborted first, and with releaseOnCancel the Lease is released only after the promise
// returned by onStartedLeading has settled (bounded by renewDeadline; not released if it has
// not), which is the guarantee client-go asks its callers to provide. isLeader() is true only
// while leading (upstream's IsLeader compares the last observed holder, which stays true after a
// failed renewal). No coordinated leader election (LeaseCandidate), no lease `strategy`.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { ConfigError, errorMessage } from '../../util/errors.js';
import { nopLogger, type Logger } from '../../util/logger.js';
import { Counter, Gauge, getOrCreate, type Registry } from '../../util/metrics.js';
import { apiErrorMessage, apiStatus, emptyRecord, LeaseLock, lockRequestTimeoutMs, type LeaderElectionEventRecorder, type LeaderElectionRecord } from './leaselock.js';

export const defaultLeaseName = 'kube-controller-manager';
export const defaultLeaseNamespace = 'kube-system';
export const defaultLeaseDurationMs = 15_000;
export const defaultRenewDeadlineMs = 10_000;
export const defaultRetryPeriodMs = 2_000;
/** wait.JitterUntil's factor for the acquire loop: waits of retryPeriod × [1, 2.2). */
export const jitterFactor = 1.2;

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** Default "<hostname>_<uuid>" (kube-controller-manager's). */
  identity?: string;
  /** Default kube-controller-manager (--leader-elect-resource-name). */
  leaseName?: string;
  /** Default kube-system (--leader-elect-resource-namespace). */
  leaseNamespace?: string;
  /** --leader-elect-lease-duration, default 15 s. */
  leaseDurationMs?: number;
  /** --leader-elect-renew-deadline, default 10 s. */
  renewDeadlineMs?: number;
  /** --leader-elect-retry-period, default 2 s. */
  retryPeriodMs?: number;
  /** Release the Lease on stop (default false, as kube-controller-manager). */
  releaseOnCancel?: boolean;
  /**
   * Called once leadership is acquired; `signal` aborts when it is lost or the elector stops.
   * A returned promise should settle once the guarded work has stopped (awaited before a release).
   */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called once per run(): at once when leadership is lost, else when run() ends (also if it never led). */
  onStoppedLeading: () => void;
  /** Called with the holder whenever a different one is observed (also the first, and "" after a release). */
  onNewLeader?: (identity: string) => void;
  recorder?: LeaderElectionEventRecorder;
  logger?: Logger;
  registry?: Registry;
  /** The metrics' name label (default: the lease name). */
  name?: string;
  /** Per-request deadline (default max(1 s, renewDeadline / 2)). */
  requestTimeoutMs?: number;
  /** Random source in [0, 1) for the acquire jitter (default Math.random). */
  random?: () => number;
}

/** kube-controller-manager's identity: the host name plus a uuid, so two processes on a host differ. */
export function defaultIdentity(host: string = hostname(), uuid: string = randomUUID()): string {
  return `${host}_${uuid}`;
}

/** NewLeaderElector's checks, with its messages; undefined when valid. Pure. */
export function validateTimings(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): string | undefined {
  if (leaseDurationMs <= renewDeadlineMs) return 'leaseDuration must be greater than renewDeadline';
  if (renewDeadlineMs <= jitterFactor * retryPeriodMs) return 'renewDeadline must be greater than retryPeriod*JitterFactor';
  if (leaseDurationMs <= 0) return 'leaseDuration must be greater than zero';
  if (renewDeadlineMs <= 0) return 'renewDeadline must be greater than zero';
  if (retryPeriodMs <= 0) return 'retryPeriod must be greater than zero';
  return undefined;
}

/** isLeaseValid: the observed record is still valid at `now` (all times on the candidate's own clock). Pure. */
export function isLeaseValid(observedTime: number, leaseDurationSeconds: number, now: number): boolean {
  return observedTime + leaseDurationSeconds * 1000 > now;
}

/** The wait before the next acquire try (wait.Jitter): period × (1 + factor × r). Pure. */
export function jittered(periodMs: number, r: number): number {
  return periodMs * (1 + jitterFactor * r);
}

export class LeaderElector {
  readonly identity: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly lock: LeaseLock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly random: () => number;
  private readonly name: string;
  private readonly masterStatus: Gauge<'name'> | undefined;
  private readonly slowpath: Counter<'name'> | undefined;

  private observed: LeaderElectionRecord = { ...emptyRecord };
  private observedRaw: string | undefined;
  private observedTime = 0;
  private reportedLeader = '';
  private leading = false;
  private runAc: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.clock = opts.clock;
    this.leaseDurationMs = opts.leaseDurationMs ?? defaultLeaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? defaultRenewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? defaultRetryPeriodMs;
    const bad = validateTimings(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    if (bad) throw new ConfigError(`leader election: ${bad}`);
    if (typeof opts.onStartedLeading !== 'function') throw new ConfigError('leader election: OnStartedLeading callback must not be nil');
    if (typeof opts.onStoppedLeading !== 'function') throw new ConfigError('leader election: OnStoppedLeading callback must not be nil');
    this.identity = opts.identity ?? defaultIdentity();
    if (!this.identity) throw new ConfigError('leader election: Lock identity is empty');
    const leaseName = opts.leaseName ?? defaultLeaseName;
    const leaseNamespace = opts.leaseNamespace ?? defaultLeaseNamespace;
    this.name = opts.name ?? leaseName;
    this.random = opts.random ?? Math.random;
    this.log = (opts.logger ?? nopLogger).child({ component: 'leaderelection', lease: `${leaseNamespace}/${leaseName}`, identity: this.identity });
    this.lock = new LeaseLock({
      kubeConfig: opts.kubeConfig, clock: opts.clock, namespace: leaseNamespace, name: leaseName, identity: this.identity,
      requestTimeoutMs: opts.requestTimeoutMs ?? lockRequestTimeoutMs(this.renewDeadlineMs),
      ...(opts.recorder ? { recorder: opts.recorder } : {}),
    });
    const reg = opts.registry;
    if (reg) {
      this.masterStatus = getOrCreate(reg, 'leader_election_master_status', () => new Gauge({
        name: 'leader_election_master_status',
        help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
        labelNames: ['name'] as const, registers: [reg],
      }));
      this.slowpath = getOrCreate(reg, 'leader_election_slowpath_total', () => new Counter({
        name: 'leader_election_slowpath_total',
        help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease. Please make sure to group by name.",
        labelNames: ['name'] as const, registers: [reg],
      }));
      this.masterStatus.set({ name: this.name }, 0);
    }
  }

  /** True while this candidate leads (from acquisition until loss or stop). */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed ("" when none yet, or after a release). */
  getLeader(): string {
    return this.observed.holderIdentity;
  }

  /** "<namespace>/<name>" of the Lease. */
  describe(): string {
    return this.lock.describe();
  }

  /**
   * Healthz check (Check): an error when this candidate holds the lock but has not renewed it for
   * leaseDuration + maxTolerableExpiredLeaseMs (a leader stuck without noticing its loss).
   */
  check(maxTolerableExpiredLeaseMs: number): Error | undefined {
    if (!this.observedIsMe()) return undefined;
    if (this.clock.now() - this.observedTime > this.leaseDurationMs + maxTolerableExpiredLeaseMs) {
      return new Error(`failed election to renew leadership on lease ${this.name}`);
    }
    return undefined;
  }

  /**
   * Run: campaigns until it leads, then renews until leadership is lost or `signal` / stop()
   * ends it. Resolves when done (after the release, with releaseOnCancel). One run at a time: a
   * second call while running returns the same promise. After a loss, a new run() campaigns again.
   */
  run(signal?: AbortSignal): Promise<void> {
    if (this.running) return this.running;
    this.running = this.runOnce(signal).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Ends the run under way (releasing the Lease with releaseOnCancel); resolves when it has ended. */
  async stop(): Promise<void> {
    this.runAc?.abort(new Error('leader election stopped'));
    await this.running;
  }

  private async runOnce(external: AbortSignal | undefined): Promise<void> {
    const ac = new AbortController();
    this.runAc = ac;
    const onExternal = (): void => ac.abort(external?.reason);
    if (external?.aborted) onExternal();
    else external?.addEventListener('abort', onExternal, { once: true });
    let stoppedCalled = false;
    const stopped = (): void => {
      if (stoppedCalled) return;
      stoppedCalled = true;
      try {
        this.opts.onStoppedLeading();
      } catch (e) {
        this.log.error('OnStoppedLeading failed', { err: errorMessage(e) });
      }
    };
    try {
      if (!(await this.acquire(ac.signal))) return;
      const lead = new AbortController();
      this.leading = true;
      const work = Promise.resolve()
        .then(() => this.opts.onStartedLeading(lead.signal))
        .catch((e: unknown) => this.log.error('OnStartedLeading failed', { err: errorMessage(e) }));
      const endLeading = (reason: Error): void => {
        if (!this.leading) return;
        this.leading = false;
        this.masterStatus?.set({ name: this.name }, 0);
        lead.abort(reason);
      };
      await this.renew(ac.signal, () => {
        endLeading(new Error(`leader election lost: lease ${this.lock.describe()} not renewed within ${this.renewDeadlineMs} ms`));
        stopped();
      });
      endLeading(new Error('leader election stopped'));
      if (this.opts.releaseOnCancel) {
        if (await this.settledWithin(work, this.renewDeadlineMs)) await this.release();
        else this.log.warn('Not releasing the lease: the leader\'s work has not stopped', { waitedMs: this.renewDeadlineMs });
      }
      this.lock.recordEvent('stopped leading');
    } finally {
      external?.removeEventListener('abort', onExternal);
      if (this.runAc === ac) this.runAc = undefined;
      stopped();
    }
  }

  /** acquire: tries now, then every jittered retryPeriod; false when stopped first. */
  private async acquire(stop: AbortSignal): Promise<boolean> {
    const desc = this.lock.describe();
    this.log.info('attempting to acquire leader lease...', { lease: desc });
    for (;;) {
      if (stop.aborted) return false;
      const ok = await this.tryAcquireOrRenew(stop);
      this.maybeReportTransition();
      if (ok) {
        this.lock.recordEvent('became leader');
        this.masterStatus?.set({ name: this.name }, 1);
        this.log.info('successfully acquired lease', { lease: desc });
        return true;
      }
      this.log.debug('failed to acquire lease', { lease: desc });
      try {
        await this.clock.sleep(jittered(this.retryPeriodMs, this.random()), stop);
      } catch {
        return false;
      }
    }
  }

  /**
   * renew: every retryPeriod a round that retries every retryPeriod until it succeeds; a round
   * still failing at renewDeadline calls onLost (at once) and ends. Returns when lost or stopped.
   */
  private async renew(stop: AbortSignal, onLost: () => void): Promise<void> {
    const desc = this.lock.describe();
    for (;;) {
      if (stop.aborted) return;
      const round = new AbortController();
      const onStop = (): void => round.abort(stop.reason);
      stop.addEventListener('abort', onStop, { once: true });
      const deadline = this.clock.setTimeout(() => round.abort(new Error('timed out waiting for the condition')), this.renewDeadlineMs);
      let renewed = false;
      try {
        for (;;) {
          if (await this.tryAcquireOrRenew(round.signal)) {
            renewed = true;
            break;
          }
          await this.clock.sleep(this.retryPeriodMs, round.signal);
        }
      } catch {
        // the round's deadline passed or the elector stopped
      } finally {
        deadline.stop();
        stop.removeEventListener('abort', onStop);
      }
      this.maybeReportTransition();
      if (stop.aborted) return;
      if (!renewed) {
        this.log.info('failed to renew lease', { lease: desc, err: 'timed out waiting for the condition' });
        onLost();
        return;
      }
      this.log.debug('successfully renewed lease', { lease: desc });
      try {
        await this.clock.sleep(this.retryPeriodMs, stop);
      } catch {
        return;
      }
    }
  }

  /** release: an empty holder with leaseDurationSeconds 1, if this candidate still holds the lock. */
  private async release(): Promise<boolean> {
    if (!this.observedIsMe()) return true;
    const now = this.clock.now();
    const rec: LeaderElectionRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaderTransitions: this.observed.leaderTransitions };
    const ac = new AbortController();
    const t = this.clock.setTimeout(() => ac.abort(new Error('timed out waiting for the release')), this.renewDeadlineMs);
    try {
      await this.lock.update(rec, ac.signal);
    } catch (e) {
      this.log.error('Failed to release lock', { err: apiErrorMessage(e) });
      return false;
    } finally {
      t.stop();
    }
    this.setObserved(rec);
    this.log.info('released the lease', { lease: this.lock.describe() });
    return true;
  }

  /** tryAcquireOrRenew: one try; true when this candidate holds the lock afterwards. Never rejects. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.now();
    const rec: LeaderElectionRecord = {
      holderIdentity: this.identity, leaseDurationSeconds: Math.floor(this.leaseDurationMs / 1000), acquireTime: now, renewTime: now, leaderTransitions: 0,
    };
    // 1. fast path: the leader updates from the Lease it last wrote
    if (this.observedIsMe() && this.isLeaseValid(now)) {
      const fast = { ...rec, acquireTime: this.observed.acquireTime, leaderTransitions: this.observed.leaderTransitions };
      try {
        await this.lock.update(fast, signal);
        this.setObserved(fast);
        return true;
      } catch (e) {
        if (signal.aborted) return false; // the round ended (deadline or stop): no slow path
        this.log.error('Failed to update lock optimistically, falling back to slow path', { err: apiErrorMessage(e) });
      }
    }
    // 2. get, or create when absent
    let got: { record: LeaderElectionRecord; raw: string };
    try {
      got = await this.lock.get(signal);
    } catch (e) {
      if (apiStatus(e) !== 404) {
        this.log.error('error retrieving resource lock', { lease: this.lock.describe(), err: apiErrorMessage(e) });
        return false;
      }
      try {
        await this.lock.create(rec, signal);
      } catch (e2) {
        this.log.error('error initially creating leader election record', { err: apiErrorMessage(e2) });
        return false;
      }
      this.setObserved(rec);
      return true;
    }
    // 3. a changed record restarts the lease duration, on this candidate's clock
    if (this.observedRaw !== got.raw) {
      this.setObserved(got.record);
      this.observedRaw = got.raw;
    }
    if (got.record.holderIdentity !== '' && this.isLeaseValid(now) && !this.observedIsMe()) {
      this.log.debug('lock is held and has not yet expired', { holder: got.record.holderIdentity });
      return false;
    }
    // 4. take or renew it
    if (this.observedIsMe()) {
      rec.acquireTime = got.record.acquireTime;
      rec.leaderTransitions = got.record.leaderTransitions;
      this.slowpath?.inc({ name: this.name });
    } else {
      rec.leaderTransitions = got.record.leaderTransitions + 1;
    }
    try {
      await this.lock.update(rec, signal);
    } catch (e) {
      this.log.error('Failed to update lock', { err: apiErrorMessage(e) });
      return false;
    }
    this.setObserved(rec);
    return true;
  }

  private maybeReportTransition(): void {
    const holder = this.observed.holderIdentity;
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    const cb = this.opts.onNewLeader;
    if (cb) {
      queueMicrotask(() => {
        try {
          cb(holder);
        } catch (e) {
          this.log.error('OnNewLeader failed', { err: errorMessage(e) });
        }
      });
    }
  }

  private observedIsMe(): boolean {
    return this.observed.holderIdentity === this.identity;
  }

  private isLeaseValid(now: number): boolean {
    return isLeaseValid(this.observedTime, this.observed.leaseDurationSeconds, now);
  }

  private setObserved(r: LeaderElectionRecord): void {
    this.observed = { ...r };
    this.observedTime = this.clock.now();
  }

  /** True when p settles within ms on the clock. */
  private async settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
    const ac = new AbortController();
    const timeout = this.clock.sleep(ms, ac.signal).then(() => false, () => false);
    const done = p.then(() => true, () => true);
    try {
      return await Promise.race([done, timeout]);
    } finally {
      ac.abort();
    }
  }
}
