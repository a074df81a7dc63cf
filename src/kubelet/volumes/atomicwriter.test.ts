// The AtomicWriter (atomic_writer.go) on a real temporary directory: the ..data / timestamped
// directory layout, the atomic swap, rewrites only on change, modes, removals, path validation.
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { AtomicWriteError, timestampDirPrefix, validatePayloadPath, writeAtomic, type FileProjection } from './atomicwriter.js';

const f = (s: string, mode = 0o644): FileProjection => ({ data: Buffer.from(s), mode });
const payload = (o: Record<string, FileProjection>): Map<string, FileProjection> => new Map(Object.entries(o));

describe('AtomicWriter', () => {
  let dir: string;
  let target: string;
  let clock: FakeClock;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-atomic-'));
    target = join(dir, 'vol');
    clock = new FakeClock(Date.UTC(2026, 2, 4, 5, 6, 7));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const tsDirs = (): string[] => readdirSync(target).filter((n) => n.startsWith('..') && n !== '..data');

  it('lays out ..<timestamp>, ..data -> it, and user-visible symlinks through ..data', () => {
    assert.deepEqual(writeAtomic(target, payload({ token: f('abc'), 'ca.crt': f('PEM'), namespace: f('default') }), clock), { changed: true });
    const [ts] = tsDirs();
    assert.match(ts!, /^\.\.2026_03_04_05_06_07\.[A-Za-z0-9]{6}$/);
    assert.equal(readlinkSync(join(target, '..data')), ts);
    for (const name of ['token', 'ca.crt', 'namespace']) {
      assert.ok(lstatSync(join(target, name)).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(readlinkSync(join(target, name)), `..data/${name}`);
    }
    assert.equal(readFileSync(join(target, 'token'), 'utf8'), 'abc');
    assert.equal(readFileSync(join(target, 'namespace'), 'utf8'), 'default');
    assert.deepEqual(readdirSync(target).sort(), ['..data', ts!, 'ca.crt', 'namespace', 'token'].sort());
    assert.equal(statSync(join(target, ts!)).mode & 0o777, 0o755);
  });

  it('file modes come from the payload (0644 = 420, 0400, 0600)', () => {
    writeAtomic(target, payload({ a: f('1', 420), b: f('2', 0o400), c: f('3', 0o600) }), clock);
    assert.equal(statSync(join(target, 'a')).mode & 0o777, 0o644);
    assert.equal(statSync(join(target, 'b')).mode & 0o777, 0o400);
    assert.equal(statSync(join(target, 'c')).mode & 0o777, 0o600);
  });

  it('an identical payload writes nothing; a changed one swaps ..data to a new directory and removes the old', () => {
    writeAtomic(target, payload({ token: f('one'), namespace: f('ns') }), clock);
    const [first] = tsDirs();
    clock.step(1000);
    assert.deepEqual(writeAtomic(target, payload({ token: f('one'), namespace: f('ns') }), clock), { changed: false });
    assert.deepEqual(tsDirs(), [first], 'no new timestamped directory');
    assert.deepEqual(writeAtomic(target, payload({ token: f('two'), namespace: f('ns') }), clock), { changed: true });
    const [second] = tsDirs();
    assert.notEqual(second, first);
    assert.match(second!, /^\.\.2026_03_04_05_06_08\./);
    assert.equal(readlinkSync(join(target, '..data')), second);
    assert.equal(readFileSync(join(target, 'token'), 'utf8'), 'two');
    assert.deepEqual(readdirSync(target).filter((n) => n.startsWith('..')).sort(), ['..data', second!].sort(), 'the old directory and ..data_tmp are gone');
  });

  it('a mode change alone rewrites', () => {
    writeAtomic(target, payload({ a: f('x', 0o644) }), clock);
    assert.equal(writeAtomic(target, payload({ a: f('x', 0o600) }), clock).changed, true);
    assert.equal(statSync(join(target, 'a')).mode & 0o777, 0o600);
  });

  it('names gone from the payload disappear; nested paths get one visible entry for their first element', () => {
    writeAtomic(target, payload({ keep: f('k'), drop: f('d'), 'conf/app/settings.json': f('{}') }), clock);
    assert.equal(readlinkSync(join(target, 'conf')), '..data/conf');
    assert.equal(readFileSync(join(target, 'conf/app/settings.json'), 'utf8'), '{}');
    assert.equal(writeAtomic(target, payload({ keep: f('k') }), clock).changed, true, 'a removal alone is a change');
    assert.deepEqual(readdirSync(target).filter((n) => !n.startsWith('..')), ['keep']);
    assert.throws(() => lstatSync(join(target, 'drop')));
  });

  it('an empty payload (an optional object that does not exist) leaves an empty ..data', () => {
    assert.equal(writeAtomic(target, new Map(), clock).changed, true);
    assert.deepEqual(readdirSync(join(target, '..data')), []);
    assert.equal(writeAtomic(target, new Map(), clock).changed, false);
  });

  const badPaths: [string, string][] = [
    ['', 'invalid path: must not be empty: ""'],
    ['/etc/passwd', 'invalid path: must be relative path: /etc/passwd'],
    ['a/../../b', "invalid path: must not contain '..': a/../../b"],
    ['..data', "invalid path: must not start with '..': ..data"],
    ['x'.repeat(256), 'invalid path: filenames must be less than or equal to 255 characters'],
  ];
  for (const [p, msg] of badPaths) {
    it(`refuses the path ${JSON.stringify(p.length > 20 ? p.slice(0, 8) + '...' : p)}`, () => {
      assert.throws(() => validatePayloadPath(p), (e: unknown) => e instanceof AtomicWriteError && e.message === msg);
      assert.throws(() => writeAtomic(target, payload({ [p]: f('x') }), clock), AtomicWriteError);
    });
  }

  it('timestampDirPrefix is Go\'s "..2006_01_02_15_04_05." in UTC', () => {
    assert.equal(timestampDirPrefix(Date.UTC(2026, 10, 23, 23, 53, 1, 999)), '..2026_11_23_23_53_01.');
  });
});
