// GET /containerLogs over real HTTP on loopback: a LocalServer with the handler, a fake PodLookup,
// and containers of the simulated runtime writing real CRI log files on a FakeClock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { SimRuntime } from '../../runtime/sim/index.js';
import type { PodSandboxConfig } from '../../runtime/types.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { LocalServer } from './local.js';
import { containerLogsHandler, containerLogsPrefix, parsePodLogQuery, toLogOptions } from './logs.js';
import type { PodLookup } from './lookup.js';

const BUSYBOX = 'localhost/busybox:latest';
const T0 = Date.UTC(2026, 0, 1);

class FakeLookup implements PodLookup {
  readonly pods = new Map<string, { pod: V1Pod; status: V1PodStatus | undefined }>();
  constructor(readonly root: string) {}
  getPodByName(namespace: string, name: string): { pod: V1Pod; status: V1PodStatus | undefined } | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }
  podLogsDirectory(pod: V1Pod): string {
    return join(this.root, `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`);
  }
}

/** Lets I/O and promise callbacks run (no wall-clock wait). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GET /containerLogs', () => {
  let root = '';
  const clock = new FakeClock(T0);
  const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX }] });
  const logger = new MemoryLogger();
  let lookup: FakeLookup;
  let server: LocalServer;
  let base = '';
  let uidSeq = 0;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'nodelet-containerlogs-'));
    lookup = new FakeLookup(root);
    const src = { getPods: () => [], healthChecks: () => [], listEvents: () => [] };
    server = new LocalServer(src, new Registry(), logger);
    server.addRoute(containerLogsPrefix, containerLogsHandler(lookup, rt, clock, logger));
    base = `http://127.0.0.1:${await server.listen(0)}`;
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A pod with container `app` (and init container `setup`), its sandbox in the sim runtime. */
  async function newPod(name: string): Promise<{ pod: V1Pod; sandbox: string; config: PodSandboxConfig; uid: string }> {
    const uid = `uid-${++uidSeq}`;
    const pod: V1Pod = {
      metadata: { name, namespace: 'default', uid },
      spec: { initContainers: [{ name: 'setup', image: BUSYBOX }], containers: [{ name: 'app', image: BUSYBOX }] },
    };
    const config: PodSandboxConfig = { metadata: { name, namespace: 'default', uid, attempt: 0 }, logDirectory: lookup.podLogsDirectory(pod) };
    const sandbox = await rt.runPodSandbox(config);
    return { pod, sandbox, config, uid };
  }

  async function run(p: { sandbox: string; config: PodSandboxConfig }, name: string, attempt: number, script: string): Promise<string> {
    const id = await rt.createContainer(p.sandbox, { metadata: { name, attempt }, image: { image: BUSYBOX }, command: ['sh', '-c', script], logPath: `${name}/${attempt}.log` }, p.config);
    await rt.startContainer(id);
    return id;
  }

  function setStatus(pod: V1Pod, statuses: V1ContainerStatus[]): void {
    lookup.pods.set(`default/${pod.metadata!.name}`, { pod, status: { phase: 'Running', containerStatuses: statuses } });
  }

  const running = (id: string, restartCount = 0, lastId?: string): V1ContainerStatus => ({
    name: 'app',
    image: BUSYBOX,
    imageID: '',
    ready: true,
    restartCount,
    containerID: `containerd://${id}`,
    state: { running: { startedAt: new Date(T0) } },
    ...(lastId ? { lastState: { terminated: { exitCode: 1, containerID: `containerd://${lastId}` } } } : {}),
  });

  async function get(path: string): Promise<{ status: number; body: string; headers: Headers }> {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  it('200 with the log as plain text, stdout and stderr in file order, chunked', async () => {
    const p = await newPod('plain');
    const id = await run(p, 'app', 0, 'echo one; echo oops >&2; echo two; sleep 100000');
    setStatus(p.pod, [running(id)]);
    const r = await get('/containerLogs/default/plain/app');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'one\noops\ntwo\n');
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
  });

  it('query parameters: tailLines (and the legacy tail), timestamps, limitBytes, since, stream', async () => {
    const p = await newPod('params');
    const id = await run(p, 'app', 0, 'echo a; sleep 10; echo b >&2; sleep 10; echo c; sleep 100000');
    setStatus(p.pod, [running(id)]);
    await clock.advance(10_000);
    await clock.advance(10_000);
    const path = '/containerLogs/default/params/app';
    const t0 = clock.now() - 20_000;
    const tsOf = (ms: number): string => new Date(ms).toISOString().replace('.000', '');
    assert.equal((await get(`${path}?tailLines=2`)).body, 'b\nc\n');
    assert.equal((await get(`${path}?tail=1`)).body, 'c\n');
    assert.equal((await get(`${path}?tail=all`)).body, 'a\nb\nc\n');
    assert.equal((await get(`${path}?timestamps=true&tailLines=1`)).body, `${tsOf(t0 + 20_000)} c\n`);
    assert.equal((await get(`${path}?timestamps&tailLines=1`)).body, `${tsOf(t0 + 20_000)} c\n`, 'a bare flag is true, as Go decodes it');
    assert.equal((await get(`${path}?timestamps=false&tailLines=1`)).body, 'c\n');
    assert.equal((await get(`${path}?limitBytes=3`)).body, 'a\nb');
    assert.equal((await get(`${path}?sinceSeconds=5`)).body, 'c\n');
    assert.equal((await get(`${path}?sinceTime=${encodeURIComponent(tsOf(t0 + 10_000))}`)).body, 'b\nc\n');
    assert.equal((await get(`${path}?stream=Stderr`)).body, 'b\n');
    assert.equal((await get(`${path}?stream=Stdout&tailLines=1`)).body, 'c\n');
  });

  it('404 naming the pod or the container; other paths 404', async () => {
    const p = await newPod('known');
    const id = await run(p, 'app', 0, 'sleep 100000');
    setStatus(p.pod, [running(id)]);
    assert.deepEqual(await get('/containerLogs/default/nope/app').then((r) => [r.status, r.body]), [404, 'pod "nope" does not exist\n']);
    assert.deepEqual(await get('/containerLogs/other/known/app').then((r) => [r.status, r.body]), [404, 'pod "known" does not exist\n']);
    assert.deepEqual(await get('/containerLogs/default/known/nope').then((r) => [r.status, r.body]), [404, 'container "nope" not found in pod "known"\n']);
    assert.equal((await get('/containerLogs/default/known')).status, 404);
    assert.equal((await get('/containerLogs/default/known/app/extra')).status, 404);
    assert.deepEqual(await get('/containerLogs/default/known/').then((r) => [r.status, r.body]), [400, '{"message": "Missing container name."}\n']);
  });

  it('400 for bad parameters, with the API server\'s validation messages', async () => {
    const path = '/containerLogs/default/known/app';
    const cases: [string, string][] = [
      ['sinceSeconds=10&sinceTime=2026-01-01T00:00:00Z', 'PodLogOptions "known" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'],
      ['tailLines=-1', 'PodLogOptions "known" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'],
      ['limitBytes=0', 'PodLogOptions "known" is invalid: limitBytes: Invalid value: 0: must be greater than 0'],
      ['sinceSeconds=0', 'PodLogOptions "known" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'],
      ['tailLines=-1&limitBytes=-5', 'PodLogOptions "known" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: -5: must be greater than 0]'],
      ['tailLines=abc', 'Unable to decode query: tailLines: strconv.ParseInt: parsing "abc": invalid syntax'],
      ['sinceTime=yesterday', 'Unable to decode query: sinceTime: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": not RFC 3339'],
      ['stream=Both', 'PodLogOptions "known" is invalid: stream: Unsupported value: "Both": supported values: "All", "Stderr", "Stdout"'],
    ];
    for (const [q, msg] of cases) {
      const r = await get(`${path}?${q}`);
      assert.deepEqual([r.status, r.body], [400, `${msg}\n`], q);
    }
  });

  it('since: the later of sinceSeconds and sinceTime (upstream NewLogOptions)', () => {
    const q = parsePodLogQuery(new URLSearchParams('sinceTime=2026-01-01T00:00:05.5Z&tailLines=3'), 'p');
    assert.deepEqual(toLogOptions(q, T0 + 60_000), { follow: false, timestamps: false, tailLines: 3, sinceTime: T0 + 5500 });
    assert.equal(toLogOptions(parsePodLogQuery(new URLSearchParams('sinceSeconds=10'), 'p'), T0 + 60_000).sinceTime, T0 + 50_000);
  });

  it('previous=true: the previous instance; its log by the naming rule once the runtime has removed it; 400 when there is none', async () => {
    const p = await newPod('restarted');
    const id0 = await run(p, 'app', 0, 'echo crash 0; exit 1');
    await clock.advance(0);
    const id1 = await run(p, 'app', 1, 'echo attempt 1; sleep 100000');
    setStatus(p.pod, [running(id1, 1, id0)]);
    const path = '/containerLogs/default/restarted/app';
    assert.deepEqual(await get(`${path}?previous=true`).then((r) => [r.status, r.body]), [200, 'crash 0\n']);
    assert.equal((await get(path)).body, 'attempt 1\n');
    await rt.removeContainer(id0);
    assert.deepEqual(await get(`${path}?previous=true`).then((r) => [r.status, r.body]), [200, 'crash 0\n']);

    const f = await newPod('fresh');
    const id = await run(f, 'app', 0, 'sleep 100000');
    setStatus(f.pod, [running(id)]);
    assert.deepEqual(await get('/containerLogs/default/fresh/app?previous=true').then((r) => [r.status, r.body]), [400, 'previous terminated container "app" in pod "fresh" not found\n']);
  });

  it('container states: waiting is a 400 with the reason; a crash-looping container serves its last instance', async () => {
    const p = await newPod('states');
    const waiting: V1ContainerStatus = { name: 'app', image: BUSYBOX, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } };
    setStatus(p.pod, [waiting]);
    assert.deepEqual(await get('/containerLogs/default/states/app').then((r) => [r.status, r.body]), [400, 'container "app" in pod "states" is waiting to start: ContainerCreating\n']);
    setStatus(p.pod, [{ ...waiting, state: { waiting: { reason: 'ErrImagePull' } } }]);
    assert.equal((await get('/containerLogs/default/states/app')).body, 'container "app" in pod "states" is waiting to start: image can\'t be pulled\n');
    setStatus(p.pod, []);
    assert.deepEqual(await get('/containerLogs/default/states/setup').then((r) => [r.status, r.body]), [400, 'container "setup" in pod "states" is not available\n']);

    const id0 = await run(p, 'app', 0, 'echo boom; exit 1');
    await clock.advance(0);
    setStatus(p.pod, [{ ...waiting, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, containerID: `containerd://${id0}` } } }]);
    assert.deepEqual(await get('/containerLogs/default/states/app').then((r) => [r.status, r.body]), [200, 'boom\n']);
    assert.deepEqual(await get('/containerLogs/default/states/app?previous=1').then((r) => [r.status, r.body]), [200, 'boom\n']);
  });

  it('follow streams lines as they are written and ends when the container exits', async () => {
    const p = await newPod('follow');
    const id = await run(p, 'app', 0, 'echo one; sleep 5; echo two >&2; sleep 5; echo three');
    setStatus(p.pod, [running(id)]);
    const chunks: string[] = [];
    let ended = false;
    const res = await fetch(`${base}/containerLogs/default/follow/app?follow=true`);
    assert.equal(res.status, 200);
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const c of res.body!) chunks.push(dec.decode(c as Uint8Array, { stream: true }));
      ended = true;
    })();
    const deadline = Date.now() + 10_000;
    while (chunks.join('') !== 'one\n') {
      assert.ok(Date.now() < deadline, 'first line');
      await turn();
    }
    assert.equal(ended, false);
    while (!ended) {
      assert.ok(Date.now() < deadline, `the end of the stream, got ${JSON.stringify(chunks.join(''))}`);
      await clock.advance(1000);
      await turn();
    }
    await reading;
    assert.equal(chunks.join(''), 'one\ntwo\nthree\n');
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_EXITED');
  });

  it('follow ends when the client goes away', async () => {
    const p = await newPod('gone');
    const id = await run(p, 'app', 0, 'echo hi; sleep 100000');
    setStatus(p.pod, [running(id)]);
    const before = rt.calls.get('ContainerStatus') ?? 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${base}/containerLogs/default/gone/app?follow=true`, resolve).on('error', reject));
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const first = await new Promise<string>((resolve) => res.once('data', (b: Buffer) => resolve(b.toString())));
    assert.equal(first, 'hi\n');
    // the reader is following: each poll checks the container
    const deadline = Date.now() + 10_000;
    while ((rt.calls.get('ContainerStatus') ?? 0) < before + 3) {
      assert.ok(Date.now() < deadline, 'polling');
      await clock.advance(1000);
      await turn();
    }
    res.destroy();
    // the handler notices (the response closes), ends the follow, and stops polling the container
    const ended = (): boolean => logger.records.some((r) => r.msg === 'container log stream ended' && r.fields['pod'] === 'default/gone' && r.fields['clientGone'] === true);
    while (!ended()) {
      assert.ok(Date.now() < deadline, 'the follow to stop');
      await clock.advance(1000);
      await turn();
    }
    const after = rt.calls.get('ContainerStatus');
    for (let i = 0; i < 5; i++) {
      await clock.advance(1000);
      for (let j = 0; j < 5; j++) await turn();
    }
    assert.equal(rt.calls.get('ContainerStatus'), after);
  });
});
