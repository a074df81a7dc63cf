import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { HttpSource, type FetchFn } from './http.js';

const pod = (name: string, image = 'busybox') => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image }] } });
const podList = (...names: string[]) => JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: names.map((n) => pod(n)) });

type Reply = { status: number; body: string } | Error | 'hang';

describe('HttpSource', () => {
  let clock: FakeClock;
  let logger: MemoryLogger;
  let sets: V1Pod[][];
  let replies: Reply[];
  let requests: Array<{ url: string; headers: Record<string, string> }>;

  const fakeFetch: FetchFn = (url, init) => {
    requests.push({ url, headers: init.headers });
    const r = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (r === 'hang') {
      return new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted by signal'))));
    }
    if (r instanceof Error) return Promise.reject(r);
    return Promise.resolve({ status: r.status, statusText: r.status === 200 ? 'OK' : 'Internal Server Error', text: () => Promise.resolve(r.body) });
  };

  beforeEach(() => {
    clock = new FakeClock();
    logger = new MemoryLogger();
    sets = [];
    replies = [];
    requests = [];
  });

  function source(extra: { headers?: Record<string, string>; timeoutMs?: number } = {}): HttpSource {
    return new HttpSource({ url: 'http://cfg.example/pods', nodeName: 'node1', clock, logger, fetch: fakeFetch, onSet: (pods) => sets.push(pods), ...extra });
  }
  const names = (pods = sets.at(-1)!) => pods.map((p) => p.metadata!.name);
  const warns = () => logger.records.filter((r) => r.level === 'warn');

  it('reads a PodList at start, defaulting the pods as http static pods', async () => {
    replies = [{ status: 200, body: podList('a', 'b') }];
    const s = source({ headers: { Authorization: 'Bearer x' } });
    s.start();
    await clock.advance(0);
    s.stop();
    assert.deepEqual(names(), ['a-node1', 'b-node1']);
    const p = sets[0]![0]!;
    assert.equal(p.metadata!.annotations!['kubernetes.io/config.source'], 'http');
    assert.match(p.metadata!.uid!, /^[0-9a-f]{32}$/);
    assert.deepEqual(requests[0], { url: 'http://cfg.example/pods', headers: { Authorization: 'Bearer x' } });
  });

  const bodies: [string, string, string[]][] = [
    ['a single pod (JSON)', JSON.stringify(pod('one')), ['one-node1']],
    ['a single pod (YAML)', 'apiVersion: v1\nkind: Pod\nmetadata: {name: y}\nspec: {containers: [{name: c, image: x}]}\n', ['y-node1']],
    ['multi-document YAML', `${JSON.stringify(pod('m1'))}\n---\n${JSON.stringify(pod('m2'))}\n`, ['m1-node1', 'm2-node1']],
    ['an empty PodList', podList(), []],
  ];
  for (const [what, body, want] of bodies) {
    it(`accepts ${what}`, async () => {
      replies = [{ status: 200, body }];
      await source().sync();
      assert.deepEqual(names(), want);
    });
  }

  it('keeps the last good set on a 500, an unparseable body, an invalid pod or a network error', async () => {
    const s = source();
    replies = [{ status: 200, body: podList('a') }];
    await s.sync();
    assert.equal(sets.length, 1);
    const failures: Reply[] = [
      { status: 500, body: podList('x') },
      { status: 200, body: '{"kind": "PodList", "items": [' },
      { status: 200, body: podList('Bad_Name') },
      { status: 200, body: JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [pod('ok'), pod('bad', 'NOT VALID')] }) },
      new Error('ECONNREFUSED'),
    ];
    for (const f of failures) {
      replies = [f];
      await s.sync();
    }
    assert.equal(sets.length, 1, 'no SET after a failure');
    assert.deepEqual(names(), ['a-node1']);
    assert.equal(warns().length, 4, 'three warnings, then one saying further failures go to debug');
    assert.match(String(warns()[0]!.fields['error']), /500/);
    assert.equal(warns()[2]!.fields['field'], 'metadata.name');

    replies = [{ status: 200, body: podList('a', 'b') }];
    await s.sync();
    assert.deepEqual(names(), ['a-node1', 'b-node1']);
    assert.ok(logger.find((r) => r.level === 'info' && /Successfully/.test(r.msg)));
  });

  it('does not emit again for an unchanged body', async () => {
    const s = source();
    replies = [{ status: 200, body: podList('a') }];
    await s.sync();
    await s.sync();
    assert.equal(requests.length, 2);
    assert.equal(sets.length, 1);
  });

  it('an empty 200 body emits an empty SET (the source is seen) and is logged', async () => {
    const s = source();
    replies = [{ status: 200, body: podList('a') }];
    await s.sync();
    replies = [{ status: 200, body: '' }];
    await s.sync();
    assert.deepEqual(sets.at(-1), []);
    assert.ok(warns().some((r) => /zero-length/.test(String(r.fields['error']))));
  });

  it('emits nothing when the first answer fails', async () => {
    replies = [{ status: 404, body: 'not found' }];
    await source().sync();
    assert.equal(sets.length, 0);
  });

  it('polls every checkFrequencyMs', async () => {
    replies = [{ status: 200, body: podList('a') }, { status: 200, body: podList('a') }, { status: 200, body: podList('b') }];
    const s = source();
    s.start();
    await clock.advance(0);
    assert.equal(requests.length, 1);
    await clock.advance(20_000);
    assert.equal(requests.length, 2);
    assert.equal(sets.length, 1);
    await clock.advance(20_000);
    assert.equal(requests.length, 3);
    assert.deepEqual(names(), ['b-node1']);
    s.stop();
    await clock.advance(60_000);
    assert.equal(requests.length, 3);
  });

  it('times out a hanging request through the clock and does not overlap polls', async () => {
    replies = ['hang'];
    const s = source({ timeoutMs: 30_000 });
    s.start();
    await clock.advance(0);
    assert.equal(requests.length, 1);
    await clock.advance(20_000);
    assert.equal(requests.length, 1, 'the tick joins the poll in flight');
    await clock.advance(9_999);
    assert.equal(warns().length, 0);
    await clock.advance(1);
    assert.equal(warns().length, 1);
    assert.match(String(warns()[0]!.fields['error']), /timeout after 30000 ms/);
    await clock.advance(10_000);
    assert.equal(requests.length, 2, 'the next tick polls again');
    s.stop();
  });

  it('drops an answer that arrives after stop()', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new HttpSource({
      url: 'http://x/',
      nodeName: 'n',
      clock,
      logger,
      fetch: async () => {
        await gate;
        return { status: 200, text: () => Promise.resolve(podList('late')) };
      },
      onSet: (pods) => sets.push(pods),
    });
    s.start();
    const done = s.sync();
    s.stop();
    release();
    await done;
    assert.equal(sets.length, 0);
  });

  it('rejects a body over 10 MiB', async () => {
    replies = [{ status: 200, body: ' '.repeat(10 * 1024 * 1024 + 1) }];
    await source().sync();
    assert.equal(sets.length, 0);
    assert.match(String(warns()[0]!.fields['error']), /larger than/);
  });
});
