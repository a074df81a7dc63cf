import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock, RealClock } from '../../util/clock.js';
import type { ValidationError } from '../../util/errors.js';
import { MemoryLogger } from '../../util/logger.js';
import { FileSource, type WatchFn } from './file.js';

const podYaml = (name: string, image = 'busybox:1.36') =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: c\n    image: ${image}\n`;

interface SetCall {
  pods: V1Pod[];
  errors: ValidationError[];
}

class FakeWatcher {
  dirs: string[] = [];
  closed = 0;
  private listeners: Array<(name: string | null) => void> = [];
  readonly fn: WatchFn = (dir, onEvent) => {
    this.dirs.push(dir);
    this.listeners.push(onEvent);
    return {
      close: () => {
        this.closed++;
        this.listeners = this.listeners.filter((l) => l !== onEvent);
      },
    };
  };
  fire(name: string | null): void {
    for (const l of this.listeners) l(name);
  }
  get active(): number {
    return this.listeners.length;
  }
}

describe('FileSource', () => {
  let dir: string;
  let clock: FakeClock;
  let logger: MemoryLogger;
  let sets: SetCall[];
  let watcher: FakeWatcher;
  let src: FileSource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-file-source-'));
    clock = new FakeClock();
    logger = new MemoryLogger();
    sets = [];
    watcher = new FakeWatcher();
    src = undefined;
  });
  afterEach(() => {
    src?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(path = dir, extra: { checkFrequencyMs?: number } = {}): FileSource {
    src = new FileSource({ path, nodeName: 'node1', clock, logger, onSet: (pods, errors) => sets.push({ pods, errors }), watch: watcher.fn, ...extra });
    src.start();
    return src;
  }
  const last = () => sets.at(-1)!;
  const names = (c: SetCall = last()) => c.pods.map((p) => p.metadata!.name).sort();
  const uidOf = (name: string) => last().pods.find((p) => p.metadata!.name === name)?.metadata?.uid;
  const rescan = () => clock.step(20_000);

  it('emits an empty SET at start for an empty directory, synchronously', () => {
    start();
    assert.equal(sets.length, 1);
    assert.deepEqual(last(), { pods: [], errors: [] });
  });

  it('emits an empty SET and warns when the path does not exist', () => {
    start(join(dir, 'missing'));
    assert.deepEqual(last(), { pods: [], errors: [] });
    assert.ok(logger.find((r) => r.level === 'warn' && /does not exist/.test(r.msg)));
    rescan();
    assert.equal(sets.length, 2);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'the same problem is warned once');
  });

  it('reads the pods present at start', () => {
    writeFileSync(join(dir, 'a.yaml'), podYaml('a'));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
    start();
    assert.deepEqual(names(), ['a-node1', 'b-node1']);
    const a = last().pods.find((p) => p.metadata!.name === 'a-node1')!;
    assert.equal(a.metadata!.annotations!['kubernetes.io/config.source'], 'file');
    assert.equal(a.spec!.nodeName, 'node1');
  });

  it('an unchanged file is not decoded again; an edit of the same size with the same mtime is still seen', () => {
    const file = join(dir, 'web.yaml');
    writeFileSync(file, podYaml('web', 'busybox:1.36'));
    start();
    const first = last().pods[0];
    rescan();
    assert.equal(last().pods[0], first, 'the same decoded object: the file was not read again');
    const { mtime } = statSync(file);
    writeFileSync(file, podYaml('web', 'busybox:1.37')); // same length
    utimesSync(file, mtime, mtime); // even with the old mtime, ctime moved
    rescan();
    assert.equal(last().pods[0]!.spec!.containers[0]!.image, 'busybox:1.37');
  });

  it('picks up an added file, an edit (new UID) and a deletion on the periodic rescan', () => {
    start();
    const file = join(dir, 'web.yaml');
    writeFileSync(file, podYaml('web'));
    clock.step(19_999);
    assert.equal(sets.length, 1, 'nothing before the period');
    clock.step(1);
    assert.deepEqual(names(), ['web-node1']);
    const uid1 = uidOf('web-node1');
    assert.ok(uid1);

    writeFileSync(file, podYaml('web', 'busybox:1.37'));
    rescan();
    const uid2 = uidOf('web-node1');
    assert.ok(uid2);
    assert.notEqual(uid2, uid1);

    writeFileSync(file, podYaml('web', 'busybox:1.37'));
    rescan();
    assert.equal(uidOf('web-node1'), uid2, 'rewriting the same content keeps the UID');

    unlinkSync(file);
    rescan();
    assert.deepEqual(last(), { pods: [], errors: [] });
  });

  it('ignores hidden files, subdirectories and dangling symlinks; follows symlinks to files', () => {
    writeFileSync(join(dir, '.hidden.yaml'), podYaml('hidden'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'nested.yaml'), podYaml('nested'));
    symlinkSync(join(dir, 'nowhere.yaml'), join(dir, 'dangling.yaml'));
    const outside = mkdtempSync(join(tmpdir(), 'nodelet-file-source-target-'));
    try {
      writeFileSync(join(outside, 'real.yaml'), podYaml('linked'));
      symlinkSync(join(outside, 'real.yaml'), join(dir, 'link.yaml'));
      start();
      assert.deepEqual(names(), ['linked-node1']);
      assert.deepEqual(last().errors, []);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a garbage file next to a good one: the good pod stays, a warning names the file', () => {
    writeFileSync(join(dir, 'good.yaml'), podYaml('good'));
    writeFileSync(join(dir, 'garbage.yaml'), '{{{ this is : not [ yaml');
    start();
    assert.deepEqual(names(), ['good-node1']);
    assert.equal(last().errors.length, 1);
    const w = logger.find((r) => r.level === 'warn' && r.fields['file'] === join(dir, 'garbage.yaml'));
    assert.ok(w, 'warn naming the garbage file');
    assert.equal(w.fields['field'], 'document');
    assert.match(String(w.fields['error']), /garbage\.yaml/);

    rescan();
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'not re-warned while unchanged');

    writeFileSync(join(dir, 'garbage.yaml'), podYaml('fixed'));
    rescan();
    assert.deepEqual(names(), ['fixed-node1', 'good-node1']);
    assert.deepEqual(last().errors, []);
  });

  it('an invalid pod is logged with the file and the field', () => {
    writeFileSync(join(dir, 'bad.yaml'), podYaml('bad', 'NOT/A/Valid:Image:x'));
    start();
    assert.deepEqual(names(), []);
    const w = logger.find((r) => r.level === 'warn');
    assert.ok(w);
    assert.equal(w.fields['file'], join(dir, 'bad.yaml'));
    assert.equal(w.fields['field'], 'spec.containers[0].image');
  });

  it('keeps the last good pods of a file that becomes invalid, until it is fixed or deleted', () => {
    const file = join(dir, 'web.yaml');
    writeFileSync(file, podYaml('web'));
    writeFileSync(join(dir, 'other.yaml'), podYaml('other'));
    start();
    const uid = uidOf('web-node1');

    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "we'); // half-written
    rescan();
    assert.deepEqual(names(), ['other-node1', 'web-node1']);
    assert.equal(uidOf('web-node1'), uid);
    assert.equal(last().errors.length, 1);
    assert.ok(logger.find((r) => r.level === 'warn' && /keeping the pods/.test(r.msg) && r.fields['file'] === file));

    writeFileSync(file, podYaml('web', 'busybox:1.37'));
    rescan();
    assert.notEqual(uidOf('web-node1'), uid);
    assert.deepEqual(last().errors, []);

    writeFileSync(file, '');
    rescan();
    // an empty file is valid and holds no pods
    assert.deepEqual(names(), ['other-node1']);

    writeFileSync(file, podYaml('web'));
    rescan();
    writeFileSync(file, '::: garbage');
    rescan();
    assert.deepEqual(names(), ['other-node1', 'web-node1']);
    unlinkSync(file);
    rescan();
    assert.deepEqual(names(), ['other-node1']);
  });

  it('a multi-document file contributes its valid pods', () => {
    writeFileSync(join(dir, 'multi.yaml'), `${podYaml('a')}---\nkind: Service\napiVersion: v1\n---\n${podYaml('c')}`);
    start();
    assert.deepEqual(names(), ['a-node1', 'c-node1']);
    assert.equal(last().errors.length, 1);
    assert.equal(last().errors[0]!.object, `${join(dir, 'multi.yaml')} (document 2)`);
  });

  it('the directory disappearing empties the set; reappearing fills it again', () => {
    const sub = join(dir, 'manifests');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.yaml'), podYaml('a'));
    start(sub);
    assert.deepEqual(names(), ['a-node1']);
    rmSync(sub, { recursive: true });
    rescan();
    assert.deepEqual(names(), []);
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.yaml'), podYaml('a'));
    rescan();
    assert.deepEqual(names(), ['a-node1']);
    assert.equal(watcher.active, 1, 'watching the new directory');
  });

  it('reads a single file path', () => {
    const file = join(dir, 'only.yaml');
    writeFileSync(file, podYaml('only'));
    writeFileSync(join(dir, 'ignored.yaml'), podYaml('ignored'));
    start(file);
    assert.deepEqual(names(), ['only-node1']);
    assert.deepEqual(watcher.dirs, [dir]);
    watcher.fire('ignored.yaml');
    assert.equal(clock.pendingTimers(), 1, 'events for other files in the directory are ignored');
    watcher.fire('only.yaml');
    assert.equal(clock.pendingTimers(), 2);
  });

  it('rescans shortly after a watch event, coalescing bursts', () => {
    start();
    assert.equal(watcher.active, 1);
    writeFileSync(join(dir, 'a.yaml'), podYaml('a'));
    watcher.fire('a.yaml');
    watcher.fire('a.yaml');
    watcher.fire(null);
    clock.step(99);
    assert.equal(sets.length, 1);
    clock.step(1);
    assert.equal(sets.length, 2, 'one rescan for the burst');
    assert.deepEqual(names(), ['a-node1']);
    watcher.fire('.a.yaml.swp');
    clock.step(1000);
    assert.equal(sets.length, 2, 'hidden files do not trigger a rescan');
  });

  it('stop() ends rescans and closes the watch', () => {
    start();
    src!.stop();
    assert.equal(watcher.active, 0);
    writeFileSync(join(dir, 'a.yaml'), podYaml('a'));
    watcher.fire('a.yaml');
    clock.step(60_000);
    assert.equal(sets.length, 1);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('honours checkFrequencyMs', () => {
    start(dir, { checkFrequencyMs: 5_000 });
    clock.step(5_000);
    clock.step(5_000);
    assert.equal(sets.length, 3);
  });

  it('notices a change through the real fs.watch (inotify), without the periodic rescan', async () => {
    const real = new RealClock();
    let resolve!: (v: SetCall) => void;
    const seen = new Promise<SetCall>((r) => (resolve = r));
    const s = new FileSource({
      path: dir,
      nodeName: 'node1',
      clock: real,
      logger,
      checkFrequencyMs: 3_600_000,
      watchDebounceMs: 10,
      onSet: (pods, errors) => {
        if (pods.length > 0) resolve({ pods, errors });
      },
    });
    s.start();
    try {
      // Written via rename, as editors and config management do.
      writeFileSync(join(dir, '.tmp'), podYaml('watched'));
      renameSync(join(dir, '.tmp'), join(dir, 'watched.yaml'));
      const ac = new AbortController();
      const timeout = real.sleep(5_000, ac.signal).then(() => undefined, () => undefined);
      const got = await Promise.race([seen, timeout]);
      ac.abort();
      assert.ok(got, 'fs.watch event within 5 s');
      assert.deepEqual(got.pods.map((p) => p.metadata!.name), ['watched-node1']);
    } finally {
      s.stop();
    }
  });
});
