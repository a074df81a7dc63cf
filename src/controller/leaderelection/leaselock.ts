// LeaseLock: the leader election record kept in a coordination.k8s.io/v1 Lease (models client-go
// tools/leaderelection/resourcelock/leaselock.go: Get, Create, Update from the Lease last read or
// written, RecordEvent, Describe, LeaseSpecToLeaderElectionRecord /
// LeaderElectionRecordToLeaseSpec; and resourcelock.NewFromKubeconfig's per-request timeout of
// max(1 s, renewDeadline / 2)).
//
// As upstream: Update writes the whole spec (holderIdentity, leaseDurationSeconds, acquireTime,
// renewTime, leaseTransitions; an empty holder is written as "", not left out) onto the Lease
// last read or written, so its resourceVersion makes the write conditional (409 when someone else
// wrote meanwhile); Update before any Get/Create fails; the event LeaderElection
// "<identity> <what>" goes on the Lease.
//
// Differences: times are kept as milliseconds (the raw record used to notice a change compares
// them at millisecond precision where client-go's JSON of metav1.Time has seconds); the
// per-request deadline runs on the injected Clock.

import { ApiException, CoordinationV1Api, V1MicroTime, type ConfigurationOptions, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { withDeadline } from '../../util/apicall.js';

/** What the lock holds (client-go resourcelock.LeaderElectionRecord). Times in ms since the epoch. */
export interface LeaderElectionRecord {
  /** Empty: nobody holds the lock and anyone may take it. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaderTransitions: number;
}

export const emptyRecord: LeaderElectionRecord = { holderIdentity: '', leaseDurationSeconds: 0, acquireTime: 0, renewTime: 0, leaderTransitions: 0 };

/** A MicroTime as client-node hands it back (a string from the wire, or a Date) in ms; 0 when absent or unparsable. */
export function microTimeMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? 0 : t;
  }
  return 0;
}

/** LeaseSpecToLeaderElectionRecord: absent fields read as zero values. Pure. */
export function leaseSpecToRecord(spec: V1LeaseSpec | undefined): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: microTimeMs(spec?.acquireTime),
    renewTime: microTimeMs(spec?.renewTime),
    leaderTransitions: spec?.leaseTransitions ?? 0,
  };
}

/** LeaderElectionRecordToLeaseSpec: every field written, times as MicroTime. Pure. */
export function recordToLeaseSpec(r: LeaderElectionRecord): V1LeaseSpec {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: new V1MicroTime(r.acquireTime),
    renewTime: new V1MicroTime(r.renewTime),
    leaseTransitions: r.leaderTransitions,
  };
}

/** The record's bytes as compared between two reads (a change of any field counts). Pure. */
export function rawRecord(r: LeaderElectionRecord): string {
  return JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaderTransitions]);
}

/** The request timeout of the leader election client (NewFromKubeconfig): max(1 s, renewDeadline / 2). */
export function lockRequestTimeoutMs(renewDeadlineMs: number): number {
  return Math.max(1000, renewDeadlineMs / 2);
}

/** The HTTP status of an API error (0 for transport errors and timeouts). */
export function apiStatus(e: unknown): number {
  return e instanceof ApiException ? e.code : 0;
}

/** A short message for logs: "409: <Status message>" or the transport error. */
export function apiErrorMessage(e: unknown): string {
  if (e instanceof ApiException) {
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        body = undefined;
      }
    }
    const msg = (body as { message?: string } | undefined)?.message;
    return `${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** The object an event about the lock is recorded on. */
export interface LeaseObjectRef {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

/** Where the lock's events go (upstream ResourceLockConfig.EventRecorder). */
export interface LeaderElectionEventRecorder {
  event(obj: LeaseObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface LeaseLockOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  namespace: string;
  name: string;
  identity: string;
  /** Per-request deadline (default 5 s, from the default renew deadline). */
  requestTimeoutMs?: number;
  recorder?: LeaderElectionEventRecorder;
}

export class LeaseLock {
  private readonly api: CoordinationV1Api;
  private readonly timeoutMs: number;
  /** The Lease last read or written (its resourceVersion guards the next Update). */
  private lease: V1Lease | undefined;

  constructor(private readonly opts: LeaseLockOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.timeoutMs = opts.requestTimeoutMs ?? lockRequestTimeoutMs(10_000);
  }

  identity(): string {
    return this.opts.identity;
  }

  /** "<namespace>/<name>". */
  describe(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /** Reads the Lease; rejects with the API error (404 when absent). */
  async get(signal?: AbortSignal): Promise<{ record: LeaderElectionRecord; raw: string }> {
    const { name, namespace } = this.opts;
    this.lease = await this.call(signal, (o) => this.api.readNamespacedLease({ name, namespace }, o));
    const record = leaseSpecToRecord(this.lease.spec);
    return { record, raw: rawRecord(record) };
  }

  async create(r: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    const { name, namespace } = this.opts;
    const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: recordToLeaseSpec(r) };
    this.lease = await this.call(signal, (o) => this.api.createNamespacedLease({ namespace, body }, o));
  }

  /** Writes the record onto the Lease last read or written (409 if it changed since). */
  async update(r: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    if (!this.lease) throw new Error('lease not initialized, call get or create first');
    const { name, namespace } = this.opts;
    const body: V1Lease = { ...this.lease, spec: recordToLeaseSpec(r) };
    this.lease = await this.call(signal, (o) => this.api.replaceNamespacedLease({ name, namespace, body }, o));
  }

  /** Event LeaderElection "<identity> <what>" on the Lease (nothing without a recorder). */
  recordEvent(what: string): void {
    const rec = this.opts.recorder;
    if (!rec) return;
    const md = this.lease?.metadata;
    const ref: LeaseObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: this.opts.name, namespace: this.opts.namespace };
    if (md?.uid) ref.uid = md.uid;
    if (md?.resourceVersion) ref.resourceVersion = md.resourceVersion;
    rec.event(ref, 'Normal', 'LeaderElection', `${this.opts.identity} ${what}`);
  }

  /** Runs one request with the lock client's deadline on the clock, aborted early by `signal`. */
  private call<T>(signal: AbortSignal | undefined, fn: (o: ConfigurationOptions) => Promise<T>): Promise<T> {
    return withDeadline(this.opts.clock, this.timeoutMs, signal, fn, 'leader-election');
  }
}
