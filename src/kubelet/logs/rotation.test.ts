// ContainerLogManager against the simulated runtime on a FakeClock, with real log files.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { RuntimeError } from '../../runtime/errors.js';
import { SimRuntime } from '../../runtime/sim/index.js';
import { FakeClock } from '../../util/clock.js';
import { MemoryLogger } from '../../util/logger.js';
import { ContainerLogManager, rotationTimestamp } from './rotation.js';

const BUSYBOX = 'localhost/busybox:latest';
const T0 = Date.UTC(2026, 0, 1);
let root = '';
let seq = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'nodelet-logrotate-'));
});
after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

async function setup(command = ['sh', '-c', 'sleep 100000']): Promise<{ clock: FakeClock; rt: SimRuntime; id: string; log: string; logger: MemoryLogger }> {
  const clock = new FakeClock(T0);
  const rt = new SimRuntime({ clock, images: [{ ref: BUSYBOX }] });
  const n = ++seq;
  const config = { metadata: { name: 'p', namespace: 'default', uid: `u${n}`, attempt: 0 }, logDirectory: join(root, `default_p_u${n}`) };
  const sb = await rt.runPodSandbox(config);
  const id = await rt.createContainer(sb, { metadata: { name: 'c', attempt: 0 }, image: { image: BUSYBOX }, command, logPath: 'c/0.log' }, config);
  await rt.startContainer(id);
  const log = (await rt.containerStatus(id)).status.logPath;
  return { clock, rt, id, log, logger: new MemoryLogger() };
}

const files = (log: string): string[] => readdirSync(dirname(log)).sort();
const fill = (log: string, bytes: number, tag = 'x'): void => appendFileSync(log, `2026-01-01T00:00:00.000000000Z stdout F ${tag.repeat(Math.max(0, bytes - 40))}\n`);

describe('ContainerLogManager', () => {
  it('rotationTimestamp: Go\'s 20060102-150405 in UTC', () => {
    assert.equal(rotationTimestamp(Date.UTC(2026, 2, 4, 5, 6, 7, 890)), '20260304-050607');
  });

  it('a log under the limit is left alone', async () => {
    const { clock, rt, log, logger } = await setup();
    fill(log, 500);
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000 });
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log']);
    assert.equal(rt.calls.get('ReopenContainerLog') ?? 0, 0);
  });

  it('a log at or over the limit is renamed with the UTC timestamp and the runtime reopens it; the container goes on writing to the new file', async () => {
    const { clock, rt, id, log, logger } = await setup(['sh', '-c', 'sleep 5; echo after rotation; sleep 100000']);
    fill(log, 1000);
    const before = readFileSync(log, 'utf8');
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: '1Ki' });
    assert.equal(m.maxSize, 1024);
    fill(log, 100);
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log', '0.log.20260101-000000']);
    assert.equal(rt.calls.get('ReopenContainerLog'), 1);
    assert.equal(statSync(log).size, 0);
    assert.ok(readFileSync(`${log}.20260101-000000`, 'utf8').startsWith(before));
    await clock.advance(5000);
    assert.match(readFileSync(log, 'utf8'), /stdout F after rotation\n$/);
    assert.equal((await rt.containerStatus(id)).status.state, 'CONTAINER_RUNNING');
  });

  it('older rotated files are gzipped (all but the newest), and at most maxFiles files remain', async () => {
    const { clock, rt, log, logger } = await setup();
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000, maxFiles: 4 });
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      fill(log, 1200, String(i));
      names.push(`0.log.${rotationTimestamp(clock.now())}`);
      await m.rotateNow();
      clock.step(61_000);
    }
    // current + 3 rotated (maxFiles 4): the newest rotated plain, the older ones compressed
    assert.deepEqual(files(log), ['0.log', `${names[3]}.gz`, `${names[4]}.gz`, names[5]!]);
    const dir = dirname(log);
    assert.match(gunzipSync(readFileSync(join(dir, `${names[3]}.gz`))).toString(), /stdout F 3+\n$/);
    assert.match(readFileSync(join(dir, names[5]!), 'utf8'), /stdout F 5+\n$/);
  });

  it('ReopenContainerLog failing: the log is renamed back, and rotated again next round', async () => {
    const { clock, rt, log, logger } = await setup();
    fill(log, 2000);
    const size = statSync(log).size;
    rt.injectFault('ReopenContainerLog', { error: () => new RuntimeError('Unknown', 'ReopenContainerLog', 'boom') });
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000 });
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log']);
    assert.equal(statSync(log).size, size);
    const rec = logger.find((r) => r.msg === 'Failed to rotate log for container');
    assert.ok(rec, JSON.stringify(logger.records));
    assert.match(String(rec.fields['err']), /failed to reopen container log .*boom/);
    clock.step(10_000);
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log', '0.log.20260101-000010']);
  });

  it('leftovers of a failed round are cleaned up: .tmp files, and a plain file whose .gz exists', async () => {
    const { clock, rt, log, logger } = await setup();
    const dir = dirname(log);
    writeFileSync(join(dir, '0.log.20251231-000000'), 'a');
    writeFileSync(join(dir, '0.log.20251231-000000.gz'), 'gz');
    writeFileSync(join(dir, '0.log.20251231-000100.tmp'), 'tmp');
    fill(log, 2000);
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000 });
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log', '0.log.20251231-000000.gz', '0.log.20260101-000000']);
  });

  it('only running containers; a missing log is recreated with ReopenContainerLog', async () => {
    const { clock, rt, id, log, logger } = await setup();
    rmSync(log);
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000 });
    await m.rotateNow();
    assert.ok(existsSync(log));
    fill(log, 2000);
    await rt.stopContainer(id, 0);
    await m.rotateNow();
    assert.deepEqual(files(log), ['0.log']);
  });

  it('start(): rotates every monitor period on the clock; stop() ends it; clean() removes every file of the container', async () => {
    const { clock, rt, id, log, logger } = await setup();
    const m = new ContainerLogManager({ clock, runtime: rt, logger, maxSize: 1000 });
    m.start();
    fill(log, 2000);
    await clock.advance(9_999);
    assert.deepEqual(files(log), ['0.log']);
    await clock.advance(1);
    await m.stop(); // waits for the round the timer started
    assert.deepEqual(files(log), ['0.log', '0.log.20260101-000010']);
    const lists = rt.calls.get('ListContainers');
    fill(log, 2000);
    await clock.advance(30_000);
    assert.equal(rt.calls.get('ListContainers'), lists, 'no round after stop()');
    await m.clean(id);
    assert.deepEqual(files(log), []);
    assert.ok(existsSync(dirname(log)), basename(log));
  });

  it('rejects maxFiles below 2', async () => {
    const { clock, rt, logger } = await setup();
    assert.throws(() => new ContainerLogManager({ clock, runtime: rt, logger, maxFiles: 1 }), /invalid MaxFiles 1, must be > 1/);
  });
});
