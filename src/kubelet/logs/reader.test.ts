// readLogs on real files with a FakeClock: joining partial records, tail (read backwards),
// since, limitBytes, timestamps, stream selection, and follow (new data, rotation, container exit).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { formatLogTimestamp, logTimestampBefore } from './crilog.js';
import { findTailStart, readLogs, type LogOptions } from './reader.js';

const T0 = Date.UTC(2026, 0, 1);
let root = '';
let seq = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'nodelet-logreader-'));
});
after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A CRI timestamp `s` seconds after T0 (nanosecond digits, as containerd writes them). */
function ts(s: number): string {
  const iso = new Date(T0 + s * 1000).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000000Z`;
}
const rec = (s: number, stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: string): string => `${ts(s)} ${stream} ${tag} ${text}\n`;
const F = (s: number, text: string, stream: 'stdout' | 'stderr' = 'stdout'): string => rec(s, stream, 'F', text);
const P = (s: number, text: string, stream: 'stdout' | 'stderr' = 'stdout'): string => rec(s, stream, 'P', text);

function logFile(content: string): string {
  const dir = join(root, `c${++seq}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '0.log');
  writeFileSync(path, content);
  return path;
}

/** One Writable collecting everything (as the HTTP response gets it). */
function collector(): { out: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString() };
}

async function read(content: string, opts: LogOptions = {}): Promise<string> {
  const path = logFile(content);
  const c = collector();
  await readLogs(path, opts, c.out, { clock: new FakeClock(T0) });
  return c.text();
}

/** Lets I/O and promise callbacks run (no wall-clock wait): one event-loop turn. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns the event loop until cond holds, firing the clock's timers whenever something waits on it. */
async function pump(clock: FakeClock, cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (clock.pendingTimers() > 0) await clock.advance(1000);
    else await turn();
  }
}

describe('readLogs', () => {
  it('writes the content of each record, a line per F record', async () => {
    assert.equal(await read(F(0, 'one') + F(1, 'two') + F(2, '') + F(3, '  spaced  ')), 'one\ntwo\n\n  spaced  \n');
  });

  it('joins partial records with their F record, per stream, even when the other stream comes between', async () => {
    const log = P(0, 'hel') + F(0, 'oops', 'stderr') + P(0, 'lo ') + F(1, 'world') + F(2, 'next');
    assert.equal(await read(log), 'oops\nhello world\nnext\n');
    const path = logFile(log);
    const got: Record<string, string> = { stdout: '', stderr: '' };
    await readLogs(path, {}, { stdout: (b) => void (got['stdout'] += b.toString()), stderr: (b) => void (got['stderr'] += b.toString()) }, { clock: new FakeClock(T0) });
    assert.deepEqual(got, { stdout: 'hello world\nnext\n', stderr: 'oops\n' });
  });

  it('skips malformed lines; a trailing partial record is written without newline; an unterminated last line too', async () => {
    assert.equal(await read(F(0, 'a') + 'garbage line\n' + '\n' + F(1, 'b') + P(2, 'prompt> ')), 'a\nb\nprompt> ');
    assert.equal(await read(F(0, 'a') + `${ts(1)} stdout F no newline`), 'a\nno newline\n');
  });

  it('passes the content through byte for byte (invalid UTF-8 included)', async () => {
    const path = logFile('');
    appendFileSync(path, Buffer.concat([Buffer.from(`${ts(0)} stdout F `), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\n')]));
    const chunks: Buffer[] = [];
    await readLogs(path, {}, { stdout: (b) => void chunks.push(b), stderr: () => undefined }, { clock: new FakeClock(T0) });
    assert.deepEqual(Buffer.concat(chunks), Buffer.from([0xff, 0xfe, 0x41, 0x0a]));
  });

  it('stdout/stderr selection', async () => {
    const log = F(0, 'o1') + F(1, 'e1', 'stderr') + F(2, 'o2');
    assert.equal(await read(log, { stdout: true }), 'o1\no2\n');
    assert.equal(await read(log, { stderr: true }), 'e1\n');
    assert.equal(await read(log, { stdout: true, stderr: true }), 'o1\ne1\no2\n');
  });

  it('timestamps: the RFC3339Nano of the line (trailing zeros dropped) and a space', async () => {
    const log = `2026-01-01T00:00:01.500000000Z stdout F a\n2026-01-01T00:00:02.000000000Z stdout F b\n2026-01-01T02:00:03.123456789+02:00 stdout P c\n2026-01-01T02:00:04.1+02:00 stdout F d\n`;
    assert.equal(await read(log, { timestamps: true }), '2026-01-01T00:00:01.5Z a\n2026-01-01T00:00:02Z b\n2026-01-01T02:00:03.123456789+02:00 cd\n');
    assert.equal(formatLogTimestamp('2026-01-01T00:00:00.000000000+00:00'), '2026-01-01T00:00:00Z');
  });

  it('sinceTime: lines stamped before it are skipped (a line at exactly sinceTime is kept)', async () => {
    const log = F(0, 'a') + F(1, 'b') + F(2, 'c') + F(3, 'd');
    assert.equal(await read(log, { sinceTime: T0 + 2000 }), 'c\nd\n');
    assert.equal(await read(log, { sinceTime: T0 + 1500 }), 'c\nd\n');
    assert.equal(await read(log, { sinceTime: T0 + 10_000 }), '');
    assert.equal(logTimestampBefore('2026-01-01T00:00:01.000000001Z', T0 + 1000), false);
    assert.equal(logTimestampBefore('2026-01-01T00:00:00.999999999Z', T0 + 1000), true);
  });

  it('limitBytes: stops after N bytes, cutting the line; counts the timestamp prefix too', async () => {
    const log = F(0, 'hello') + F(1, 'world');
    assert.equal(await read(log, { limitBytes: 8 }), 'hello\nwo');
    assert.equal(await read(log, { limitBytes: 6 }), 'hello\n');
    assert.equal(await read(log, { limitBytes: 1000 }), 'hello\nworld\n');
    assert.equal(await read(log, { limitBytes: 10, timestamps: true }), '2026-01-01');
  });

  describe('tailLines', () => {
    const lines = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => F(i + from, `line ${i + from}`)).join('');

    it('the last N lines of a big file (many 64 KiB blocks)', async () => {
      const big = lines(20_000);
      assert.ok(big.length > 10 * 65536);
      assert.equal(await read(big, { tailLines: 3 }), 'line 19997\nline 19998\nline 19999\n');
      assert.equal(await read(big, { tailLines: 0 }), '');
      const small = lines(3);
      assert.equal(await read(small, { tailLines: 10 }), 'line 0\nline 1\nline 2\n');
      assert.equal(await read(small, { tailLines: 3 }), 'line 0\nline 1\nline 2\n');
      assert.equal(await read('', { tailLines: 3 }), '');
    });

    it('reads backwards: only the blocks holding the last lines', async () => {
      const data = Buffer.from(lines(20_000));
      let bytesRead = 0;
      const fh = {
        read: async (buf: Buffer, off: number, len: number, pos: number) => {
          const n = data.copy(buf, off, pos, Math.min(pos + len, data.length));
          bytesRead += n;
          return { bytesRead: n, buffer: buf };
        },
      } as unknown as FileHandle;
      const t = await findTailStart(fh, data.length, 5);
      assert.equal(data.subarray(t.start).toString(), lines(5, 19_995));
      assert.ok(bytesRead <= 2 * 65536, `read ${bytesRead} bytes of ${data.length}`);
    });

    it('counts lines, not records: a line split in partial records counts once and comes whole', async () => {
      const long = 'x'.repeat(100_000);
      const log = F(0, 'before') + P(1, long.slice(0, 40_000)) + P(1, long.slice(40_000, 80_000)) + F(1, long.slice(80_000)) + F(2, 'after');
      assert.equal(await read(log, { tailLines: 2 }), `${long}\nafter\n`);
      assert.equal(await read(log, { tailLines: 1 }), 'after\n');
    });

    it('a line whose partial records come before another stream\'s lines is still whole; those lines are not counted in', async () => {
      const log = F(0, 'old') + P(1, 'a') + F(2, 'err', 'stderr') + F(3, 'b');
      assert.equal(await read(log, { tailLines: 1 }), 'ab\n');
      assert.equal(await read(log, { tailLines: 2 }), 'err\nab\n');
      assert.equal(await read(log, { tailLines: 3 }), 'old\nerr\nab\n');
    });

    it('with a stream selected, counts that stream\'s lines only; combines with since', async () => {
      const log = F(0, 'o1') + F(1, 'e1', 'stderr') + F(2, 'o2') + F(3, 'e2', 'stderr') + F(4, 'o3');
      assert.equal(await read(log, { tailLines: 2, stderr: true }), 'e1\ne2\n');
      assert.equal(await read(log, { tailLines: 3, sinceTime: T0 + 3000 }), 'e2\no3\n');
    });
  });

  it('a missing file: the kubelet\'s error', async () => {
    const path = join(root, 'nope', '0.log');
    await assert.rejects(readLogs(path, {}, collector().out, { clock: new FakeClock(T0) }), {
      message: `failed to try resolving symlinks in path "${path}": lstat ${path}: no such file or directory`,
    });
  });

  describe('follow', () => {
    it('gets lines appended later (on the clock poll), and ends when the signal aborts', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'first'));
      const c = collector();
      const ac = new AbortController();
      let finished = false;
      const p = readLogs(path, { follow: true }, c.out, { clock, signal: ac.signal, watch: false }).then(() => (finished = true));
      await pump(clock, () => c.text() === 'first\n', 'the first line');
      // a line appended while the reader waits: nothing until the poll fires
      await pump(clock, () => clock.pendingTimers() > 0, 'the reader to wait');
      appendFileSync(path, F(1, 'second') + P(2, 'par'));
      for (let i = 0; i < 20; i++) await turn();
      assert.equal(c.text(), 'first\n');
      await clock.advance(1000);
      await pump(clock, () => c.text() === 'first\nsecond\npar', 'the appended lines');
      appendFileSync(path, F(3, 'tial'));
      await pump(clock, () => c.text() === 'first\nsecond\npartial\n', 'the end of the partial line');
      assert.equal(finished, false);
      ac.abort();
      await p;
      assert.equal(finished, true);
    });

    it('wakes on a file event without waiting for the poll', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'a'));
      const c = collector();
      const ac = new AbortController();
      const p = readLogs(path, { follow: true }, c.out, { clock, signal: ac.signal });
      const deadline = Date.now() + 10_000;
      while (c.text() !== 'a\n' || clock.pendingTimers() === 0) {
        assert.ok(Date.now() < deadline, 'reader waiting');
        await turn();
      }
      appendFileSync(path, F(1, 'b'));
      while (c.text() !== 'a\nb\n') {
        assert.ok(Date.now() < deadline, `fs event, got ${JSON.stringify(c.text())}`);
        await turn(); // the clock never moves here
      }
      ac.abort();
      await p;
    });

    it('continues in the new file after a rotation, finishing the old one first', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'old 1'));
      const c = collector();
      const ac = new AbortController();
      const p = readLogs(path, { follow: true, tailLines: 1 }, c.out, { clock, signal: ac.signal, watch: false });
      await pump(clock, () => c.text() === 'old 1\n' && clock.pendingTimers() > 0, 'the first line');
      appendFileSync(path, F(1, 'old 2'));
      renameSync(path, `${path}.20260101-000001`);
      appendFileSync(`${path}.20260101-000001`, F(2, 'old 3')); // the runtime writes until it reopens
      writeFileSync(path, F(3, 'new 1'));
      await pump(clock, () => c.text() === 'old 1\nold 2\nold 3\nnew 1\n', 'the new file');
      appendFileSync(path, F(4, 'new 2'));
      await pump(clock, () => c.text().endsWith('new 2\n'), 'more in the new file');
      ac.abort();
      await p;
    });

    it('ends once containerDone() says the container exited and the file is read to its end', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'a'));
      const c = collector();
      let exited = false;
      let finished = false;
      const p = readLogs(path, { follow: true }, c.out, { clock, containerDone: () => exited, watch: false }).then(() => (finished = true));
      await pump(clock, () => c.text() === 'a\n' && clock.pendingTimers() > 0, 'the first line');
      appendFileSync(path, F(1, 'last words'));
      exited = true;
      await pump(clock, () => finished, 'the end of the follow');
      await p;
      assert.equal(c.text(), 'a\nlast words\n');
    });

    it('follow with tailLines 0: only new lines; limitBytes ends a follow', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'old'));
      const c = collector();
      let finished = false;
      const p = readLogs(path, { follow: true, tailLines: 0, limitBytes: 6 }, c.out, { clock, watch: false }).then(() => (finished = true));
      await pump(clock, () => clock.pendingTimers() > 0, 'the reader to wait');
      assert.equal(c.text(), '');
      appendFileSync(path, F(1, 'new') + F(2, 'more'));
      await pump(clock, () => finished, 'the byte limit');
      await p;
      assert.equal(c.text(), 'new\nmo');
    });

    it('stops when the output closes', async () => {
      const clock = new FakeClock(T0);
      const path = logFile(F(0, 'a'));
      const c = collector();
      let finished = false;
      const p = readLogs(path, { follow: true }, c.out, { clock, watch: false }).then(() => (finished = true));
      await pump(clock, () => c.text() === 'a\n' && clock.pendingTimers() > 0, 'the first line');
      c.out.destroy();
      appendFileSync(path, F(1, 'b'));
      await pump(clock, () => finished, 'the end');
      await p;
    });
  });
});
