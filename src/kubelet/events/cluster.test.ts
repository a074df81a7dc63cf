// newClusterEventRecorder against the test API server with the node's own identity. Retry sleeps
// and the rate limiter run on a FakeClock; HTTP runs in real time, so tests wait with flush() or
// poll for outcomes.
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../../test/apiserver/index.js';
import { formatTime } from '../../api/podutil.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { newClusterEventRecorder, type ClusterEventRecorder, type ClusterEventRecorderOptions } from './cluster.js';
import { LocalEventStore, type ObjectRef } from './recorder.js';

const NODE = 'n1';
const T0 = Date.UTC(2026, 0, 1);

async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

describe('newClusterEventRecorder (test API server, node identity)', () => {
  let s: TestApiServer;
  const open: ClusterEventRecorder[] = [];
  before(async () => {
    s = await startTestApiServer({ namespaces: ['ns1'] });
  });
  after(async () => {
    for (const r of open) await r.stop();
    await s.close();
  });

  function recorder(extra: Partial<ClusterEventRecorderOptions> = {}) {
    const clock = new FakeClock(T0);
    const logger = new MemoryLogger();
    const local = new LocalEventStore(clock, logger);
    const rec = newClusterEventRecorder({ kubeConfig: s.kubeconfig({ node: NODE }), nodeName: NODE, clock, logger, local, random: () => 0.5, ...extra });
    open.push(rec);
    return { clock, logger, local, rec };
  }

  const podRef = (name: string, fieldPath?: string): ObjectRef => ({ kind: 'Pod', namespace: 'ns1', name, uid: `uid-${name}`, ...(fieldPath ? { fieldPath } : {}) });
  const eventsAbout = (name: string, ns = 'ns1'): CoreV1Event[] =>
    (s.list('events', ns) as unknown as CoreV1Event[]).filter((e) => e.involvedObject?.name === name).sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  const mark = (): number => s.requests.length;
  const since = (m: number, ns = 'ns1') => s.requests.slice(m).filter((r) => r.path.startsWith(`/api/v1/namespaces/${ns}/events`));

  it('a pod container event and a node event appear in the API with upstream fields', async () => {
    const { rec, local, clock } = recorder();
    const m = mark();
    rec.event(podRef('web', 'spec.containers{app}'), 'Normal', 'Pulled', 'Successfully pulled image "busybox:1" in 1.2s');
    clock.step(1_000);
    rec.event({ kind: 'Node', name: NODE }, 'Warning', 'ImageGCFailed', 'failed to garbage collect required amount of images');
    await rec.flush();
    const [e] = eventsAbout('web');
    assert.ok(e, 'event in ns1');
    assert.match(e.metadata!.name!, /^web\.[0-9a-f]+$/);
    assert.equal(e.metadata!.name, `web.${(BigInt(T0) * 1_000_000n).toString(16)}`);
    assert.equal(e.metadata!.namespace, 'ns1');
    assert.deepEqual(e.involvedObject, { kind: 'Pod', namespace: 'ns1', name: 'web', uid: 'uid-web', apiVersion: 'v1', fieldPath: 'spec.containers{app}' });
    assert.equal(e.reason, 'Pulled');
    assert.equal(e.message, 'Successfully pulled image "busybox:1" in 1.2s');
    assert.equal(e.type, 'Normal');
    assert.deepEqual(e.source, { component: 'kubelet', host: NODE });
    assert.equal(String(e.firstTimestamp), formatTime(T0));
    assert.equal(String(e.lastTimestamp), formatTime(T0));
    assert.equal(e.count, 1);
    assert.equal(e.reportingComponent, 'kubelet');
    assert.equal(e.reportingInstance, NODE);

    const [n] = eventsAbout(NODE, 'default');
    assert.ok(n, 'node event in default');
    assert.deepEqual(n.involvedObject, { kind: 'Node', name: NODE, uid: NODE }, 'the node name as uid, as the kubelet nodeRef');
    assert.equal(n.type, 'Warning');
    assert.equal(String(n.firstTimestamp), formatTime(T0 + 1_000));

    const writes = s.requests.slice(m).filter((r) => r.path.includes('/events'));
    assert.deepEqual(writes.map((r) => [r.method, r.code, r.user]), [['POST', 201, `system:node:${NODE}`], ['POST', 201, `system:node:${NODE}`]], 'the node identity may create events');
    assert.equal(local.list({ name: 'web' }).length, 1, 'recorded locally too');
    assert.equal(local.list({ name: NODE }).length, 1);
  });

  it('5 identical events: one Event with count 5, written as 1 create + 4 patches', async () => {
    const { rec, clock, local } = recorder();
    const m = mark();
    for (let i = 0; i < 5; i++) {
      rec.event(podRef('loop', 'spec.containers{app}'), 'Warning', 'BackOff', 'Back-off restarting failed container app in pod loop_ns1(uid-loop)');
      if (i < 4) clock.step(10_000);
    }
    await rec.flush();
    const evs = eventsAbout('loop');
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.count, 5);
    assert.equal(String(evs[0]!.firstTimestamp), formatTime(T0));
    assert.equal(String(evs[0]!.lastTimestamp), formatTime(T0 + 40_000));
    assert.deepEqual(since(m).map((r) => [r.method, r.code]), [['POST', 201], ['PATCH', 200], ['PATCH', 200], ['PATCH', 200], ['PATCH', 200]]);
    assert.equal(local.list({ name: 'loop' })[0]!.count, 5);
  });

  it('the spam filter lets 25 events about one object through', async () => {
    const { rec, local } = recorder();
    for (let i = 0; i < 30; i++) rec.event(podRef('spammy'), 'Normal', `Reason${i}`, 'm');
    await rec.flush();
    assert.equal(eventsAbout('spammy').length, 25);
    assert.equal(rec.stats().skipped, 5);
    assert.equal(local.list({ name: 'spammy' }).length, 30, 'the local store keeps all');
  });

  it('10 similar events with different messages: combined into one event', async () => {
    const { rec, clock } = recorder();
    for (let i = 1; i <= 12; i++) {
      rec.event(podRef('probe', 'spec.containers{app}'), 'Warning', 'Unhealthy', `Liveness probe failed: HTTP probe failed with statuscode: ${500 + i}`);
      clock.step(1_000);
    }
    await rec.flush();
    const evs = eventsAbout('probe');
    assert.equal(evs.length, 10, '9 single events and the combined one');
    const combined = evs.filter((e) => e.message!.startsWith('(combined from similar events): '));
    assert.equal(combined.length, 1);
    assert.equal(combined[0]!.message, '(combined from similar events): Liveness probe failed: HTTP probe failed with statuscode: 512');
    assert.equal(combined[0]!.count, 3);
    assert.equal(combined[0]!.involvedObject?.fieldPath, 'spec.containers{app}');
  });

  it('API down: the write is retried after the backoff and delivered', async () => {
    const { rec, clock, logger } = recorder();
    await s.faults.down(60_000);
    try {
      rec.event(podRef('outage'), 'Normal', 'Scheduled', 'while the API is down');
      await until(() => rec.stats().retries === 1, 'a failed try');
      assert.ok(logger.find((r) => r.msg === 'Unable to write event (may retry after sleeping)'));
    } finally {
      s.faults.clear();
    }
    // the server listens again
    const admin = s.kubeconfig().makeApiClient(CoreV1Api);
    for (let i = 0; ; i++) {
      try {
        await admin.readNamespace({ name: 'default' });
        break;
      } catch (err) {
        if (i > 200) throw err;
        await delay(10);
      }
    }
    assert.equal(eventsAbout('outage').length, 0);
    await clock.advance(5_000); // the jittered first sleep: 0.5 × 10 s
    await until(() => eventsAbout('outage').length === 1, 'the event after the outage');
    await rec.flush();
    assert.equal(eventsAbout('outage')[0]!.message, 'while the API is down');
    assert.equal(rec.stats().written, 1);
  });

  it('409 AlreadyExists on create: given up, not retried; the existing event is left alone', async () => {
    const { rec, logger } = recorder();
    const name = `dup.${(BigInt(T0) * 1_000_000n).toString(16)}`;
    s.put('events', { apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'ns1' }, involvedObject: { kind: 'Pod', name: 'dup', namespace: 'ns1' }, reason: 'Other', message: 'already there' });
    const m = mark();
    rec.event(podRef('dup'), 'Normal', 'Started', 'Started container app');
    await rec.flush();
    assert.deepEqual(since(m).map((r) => [r.method, r.code]), [['POST', 409]]);
    assert.equal(eventsAbout('dup')[0]!.message, 'already there');
    assert.equal(logger.find((r) => r.msg === 'Server rejected event (will not retry!)')?.level, 'debug');
    assert.equal(rec.stats().failed, 1);
  });

  it('409 Conflict: rejected with an error, not retried', async () => {
    const { rec, logger } = recorder();
    const m = mark();
    s.faults.conflictStorm(1);
    rec.event(podRef('conflict'), 'Normal', 'Started', 'Started container app');
    await rec.flush();
    assert.deepEqual(since(m).map((r) => [r.method, r.code]), [['POST', 409]]);
    assert.equal(logger.find((r) => r.msg === 'Server rejected event (will not retry!)')?.level, 'error');
    assert.equal(eventsAbout('conflict').length, 0);
  });

  it('a repeated event whose Event was deleted: PATCH 404, then created anew with the count', async () => {
    const { rec, clock } = recorder();
    rec.event(podRef('gone'), 'Normal', 'Killing', 'Stopping container app');
    await rec.flush();
    const name = eventsAbout('gone')[0]!.metadata!.name!;
    await s.kubeconfig().makeApiClient(CoreV1Api).deleteNamespacedEvent({ name, namespace: 'ns1' });
    clock.step(3_000);
    const m = mark();
    rec.event(podRef('gone'), 'Normal', 'Killing', 'Stopping container app');
    await rec.flush();
    assert.deepEqual(since(m).map((r) => [r.method, r.code]), [['PATCH', 404], ['POST', 201]]);
    const [e] = eventsAbout('gone');
    assert.equal(e!.metadata!.name, name);
    assert.equal(e!.count, 2);
    assert.equal(String(e!.lastTimestamp), formatTime(T0 + 3_000));
  });

  it('the client rate limit (eventRecordQPS / eventBurst) spaces requests on the clock', async () => {
    const { rec, clock } = recorder({ qps: 1, burst: 2 });
    const m = mark();
    for (let i = 0; i < 4; i++) rec.event(podRef('limited'), 'Normal', `R${i}`, 'm');
    await until(() => eventsAbout('limited').length === 2, 'the burst');
    await delay(30);
    assert.equal(since(m).length, 2, 'the third waits for a token');
    await clock.advance(1_000);
    await until(() => eventsAbout('limited').length === 3, 'one more after 1 s');
    await clock.advance(1_000);
    await until(() => eventsAbout('limited').length === 4, 'the last after 2 s');
    await rec.flush();
  });

  it('stop(): no more API writes; local recording goes on', async () => {
    const { rec, local } = recorder();
    await rec.stop();
    const m = mark();
    rec.event(podRef('after-stop'), 'Normal', 'Started', 'x');
    await rec.flush();
    await delay(20);
    assert.equal(since(m).length, 0);
    assert.equal(local.list({ name: 'after-stop' }).length, 1);
  });
});
