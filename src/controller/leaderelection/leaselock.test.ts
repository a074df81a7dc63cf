import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { V1MicroTime } from '@kubernetes/client-node';
import { defaultIdentity, isLeaseValid, jittered, validateTimings } from './leaderelection.js';
import { leaseSpecToRecord, lockRequestTimeoutMs, microTimeMs, rawRecord, recordToLeaseSpec } from './leaselock.js';

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

describe('lease record conversions (LeaseSpecToLeaderElectionRecord / LeaderElectionRecordToLeaseSpec)', () => {
  it('writes every field, times as MicroTime, an empty holder as ""', () => {
    const spec = recordToLeaseSpec({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: t0, renewTime: t0 + 1000, leaderTransitions: 3 });
    const wire = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    assert.deepEqual(wire, {
      holderIdentity: '', leaseDurationSeconds: 1, acquireTime: '2026-01-01T12:00:00.250000Z', renewTime: '2026-01-01T12:00:01.250000Z', leaseTransitions: 3,
    });
  });

  const cases: { name: string; spec: Parameters<typeof leaseSpecToRecord>[0]; want: ReturnType<typeof leaseSpecToRecord> }[] = [
    { name: 'no spec', spec: undefined, want: { holderIdentity: '', leaseDurationSeconds: 0, acquireTime: 0, renewTime: 0, leaderTransitions: 0 } },
    {
      name: 'times as strings from the wire',
      spec: { holderIdentity: 'h_1', leaseDurationSeconds: 15, acquireTime: '2026-01-01T12:00:00.250000Z' as unknown as V1MicroTime, renewTime: '2026-01-01T12:00:02.000001Z' as unknown as V1MicroTime, leaseTransitions: 2 },
      want: { holderIdentity: 'h_1', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0 + 1750, leaderTransitions: 2 },
    },
    {
      name: 'times as Dates, a node lease without transitions',
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: new V1MicroTime(t0) },
      want: { holderIdentity: 'node-1', leaseDurationSeconds: 40, acquireTime: 0, renewTime: t0, leaderTransitions: 0 },
    },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => assert.deepEqual(leaseSpecToRecord(c.spec), c.want));
  }

  it('round-trips, and the raw record changes with any field', () => {
    const r = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaderTransitions: 0 };
    assert.deepEqual(leaseSpecToRecord(JSON.parse(JSON.stringify(recordToLeaseSpec(r)))), r);
    assert.equal(rawRecord(r), rawRecord({ ...r }));
    for (const change of [{ holderIdentity: 'b' }, { leaseDurationSeconds: 1 }, { acquireTime: t0 + 1 }, { renewTime: t0 + 1 }, { leaderTransitions: 1 }]) {
      assert.notEqual(rawRecord({ ...r, ...change }), rawRecord(r), JSON.stringify(change));
    }
    assert.equal(microTimeMs('not a time'), 0);
  });
});

describe('leader election decisions', () => {
  it('checks the timings as NewLeaderElector does', () => {
    assert.equal(validateTimings(15_000, 10_000, 2_000), undefined);
    assert.equal(validateTimings(10_000, 10_000, 2_000), 'leaseDuration must be greater than renewDeadline');
    assert.equal(validateTimings(15_000, 2_400, 2_000), 'renewDeadline must be greater than retryPeriod*JitterFactor');
    assert.equal(validateTimings(15_000, 2_401, 2_000), undefined);
    assert.equal(validateTimings(15_000, 10_000, 0), 'retryPeriod must be greater than zero');
  });

  it('judges a lease by when this candidate observed it, not by its renewTime', () => {
    const observed = t0;
    assert.equal(isLeaseValid(observed, 15, t0 + 14_999), true);
    assert.equal(isLeaseValid(observed, 15, t0 + 15_000), false);
    assert.equal(isLeaseValid(observed, 1, t0 + 1_000), false, 'a released lease (1 s) expires after a second');
    assert.equal(isLeaseValid(0, 15, t0), false, 'never observed: not valid');
  });

  it('jitters acquire retries over [1, 2.2) periods and gives the lock client half the renew deadline', () => {
    assert.equal(jittered(2000, 0), 2000);
    assert.equal(jittered(2000, 0.5), 3200);
    assert.equal(lockRequestTimeoutMs(10_000), 5000);
    assert.equal(lockRequestTimeoutMs(1_500), 1000);
  });

  it('names a candidate "<hostname>_<uuid>"', () => {
    assert.equal(defaultIdentity('cp-1', '0b5c'), 'cp-1_0b5c');
    assert.match(defaultIdentity(), /^.+_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(defaultIdentity(), defaultIdentity());
  });
});
