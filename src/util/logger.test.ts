import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, NodeletError, ValidationError } from './errors.js';
import { createLogger, MemoryLogger, nopLogger, type LogFields, type Logger, type LogLevel } from './logger.js';

describe('MemoryLogger', () => {
  it('records level, message and fields for every level', () => {
    const log = new MemoryLogger();
    const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    for (const l of levels) log[l](`a ${l} message`, { n: 1, l });
    log.info('no fields');
    assert.deepEqual(log.records, [
      { level: 'debug', msg: 'a debug message', fields: { n: 1, l: 'debug' } },
      { level: 'info', msg: 'a info message', fields: { n: 1, l: 'info' } },
      { level: 'warn', msg: 'a warn message', fields: { n: 1, l: 'warn' } },
      { level: 'error', msg: 'a error message', fields: { n: 1, l: 'error' } },
      { level: 'info', msg: 'no fields', fields: {} },
    ]);
  });

  it('does not keep a reference to the caller’s fields object', () => {
    const log = new MemoryLogger();
    const fields: LogFields = { a: 1 };
    log.info('x', fields);
    fields['a'] = 2;
    assert.deepEqual(log.records[0]!.fields, { a: 1 });
  });

  it('child() merges context; call fields win; records are shared', () => {
    const root = new MemoryLogger({ component: 'kubelet' });
    const pod = root.child({ pod: 'default/web', attempt: 1 });
    const ctr = pod.child({ container: 'app', attempt: 2 });
    root.info('root');
    pod.warn('pod', { extra: true });
    ctr.error('ctr', { container: 'override' });
    assert.deepEqual(root.records, [
      { level: 'info', msg: 'root', fields: { component: 'kubelet' } },
      { level: 'warn', msg: 'pod', fields: { component: 'kubelet', pod: 'default/web', attempt: 1, extra: true } },
      { level: 'error', msg: 'ctr', fields: { component: 'kubelet', pod: 'default/web', attempt: 2, container: 'override' } },
    ]);
    assert.ok(pod instanceof MemoryLogger);
    assert.equal((pod as MemoryLogger).records, root.records, 'a child writes into the same record list');
  });

  it('find() returns the first matching record', () => {
    const log = new MemoryLogger();
    log.info('a', { k: 1 });
    log.warn('b', { k: 2 });
    log.warn('c', { k: 3 });
    assert.equal(log.find((r) => r.level === 'warn')?.msg, 'b');
    assert.equal(log.find((r) => r.fields['k'] === 3)?.msg, 'c');
    assert.equal(log.find((r) => r.level === 'error'), undefined);
  });

  describe('error values become their message', () => {
    const fsErr = Object.assign(new Error('disk on fire'), { code: 'EIO' });
    const cases: { name: string; value: unknown; want: unknown }[] = [
      { name: 'plain Error', value: new Error('boom'), want: 'boom' },
      { name: 'TypeError', value: new TypeError('not a function'), want: 'not a function' },
      { name: 'NodeletError with code', value: new NodeletError('ImagePullBackOff', 'back-off pulling'), want: 'ImagePullBackOff: back-off pulling' },
      { name: 'ValidationError', value: new ValidationError('pod default/web', 'spec.containers[0].image', 'required'), want: 'Invalid: pod default/web: spec.containers[0].image: required' },
      { name: 'ConfigError', value: new ConfigError('bad flag'), want: 'InvalidConfig: bad flag' },
      { name: 'Error with a code property', value: fsErr, want: 'EIO: disk on fire' },
      { name: 'Error with an empty code', value: Object.assign(new Error('m'), { code: '' }), want: 'm' },
      { name: 'a string stays a string', value: 'just text', want: 'just text' },
      { name: 'an object stays an object', value: { a: 1 }, want: { a: 1 } },
      { name: 'an undefined value is left out', value: undefined, want: 'omitted' },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const log = new MemoryLogger();
        log.error('failed', { err: tc.value });
        assert.deepEqual(log.records[0]!.fields, tc.want === 'omitted' ? {} : { err: tc.want });
      });
    }

    it(
      'a Node system error is not prefixed with its code twice',
      () => {
        let err: unknown;
        try {
          readFileSync(join(tmpdir(), 'nodelet-logger-test-no-such-file'));
        } catch (e) {
          err = e;
        }
        const log = new MemoryLogger();
        log.error('read failed', { err });
        assert.match(String(log.records[0]!.fields['err']), /^ENOENT: no such file or directory/);
        assert.doesNotMatch(String(log.records[0]!.fields['err']), /ENOENT: ENOENT/);
      },
    );

    it('also in child context', () => {
      const log = new MemoryLogger();
      log.child({ cause: new NodeletError('X', 'y') }).info('m');
      assert.deepEqual(log.records[0]!.fields, { cause: 'X: y' });
    });
  });

  it('nopLogger accepts everything and its child is itself', () => {
    nopLogger.info('x', { a: 1 });
    nopLogger.error('y');
    assert.equal(nopLogger.child({ a: 1 }), nopLogger);
  });
});

describe('createLogger writes to a file descriptor', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-logger-test-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs fn with a logger writing into a fresh temp file; returns the file's lines. */
  function capture(opts: { format: 'text' | 'json'; level?: LogLevel }, fn: (l: Logger) => void): string[] {
    const path = join(dir, `${opts.format}-${Math.random().toString(36).slice(2)}.log`);
    const fd = openSync(path, 'w');
    try {
      const logger = createLogger({ ...opts, fd });
      fn(logger);
    } finally {
      closeSync(fd);
    }
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  }

  const header = /^([DIWE])(\d{4}) (\d\d:\d\d:\d\d\.\d{6})\] /;

  it('text: one klog-like line per call with key=value pairs', () => {
    const lines = capture({ format: 'text' }, (l) => {
      l.info('Pod started', { pod: 'default/web', restarts: 0, ready: true });
      l.warn('Probe failed', { output: 'connection refused', empty: '', quote: 'a"b', eq: 'a=b' });
      l.error('Sync failed', { err: new ValidationError('pod x', 'spec', 'bad') });
    });
    assert.equal(lines.length, 3);
    const want: [string, string][] = [
      ['I', 'Pod started pod=default/web restarts=0 ready=true'],
      ['W', 'Probe failed output="connection refused" empty="" quote="a\\"b" eq="a=b"'],
      ['E', 'Sync failed err="Invalid: pod x: spec: bad"'],
    ];
    for (let i = 0; i < want.length; i++) {
      const m = header.exec(lines[i]!);
      assert.ok(m, `header of ${lines[i]}`);
      assert.equal(m[1], want[i]![0]);
      assert.equal(lines[i]!.slice(m[0].length), want[i]![1]);
    }
  });

  it('text: values are formatted by type', () => {
    const lines = capture({ format: 'text' }, (l) => {
      l.info('v', { n: 1.5, b: false, z: null, u: undefined, o: { a: [1, 'x'] }, arr: [1, 2] });
    });
    assert.equal(lines[0]!.replace(header, ''), 'v n=1.5 b=false z=null o={"a":[1,"x"]} arr=[1,2]');
  });

  it('text: the level filters lower levels (default info)', () => {
    const cases: { level?: LogLevel; want: string[] }[] = [
      { want: ['I', 'W', 'E'] },
      { level: 'debug', want: ['D', 'I', 'W', 'E'] },
      { level: 'warn', want: ['W', 'E'] },
      { level: 'error', want: ['E'] },
    ];
    for (const tc of cases) {
      const lines = capture(tc.level ? { format: 'text', level: tc.level } : { format: 'text' }, (l) => {
        l.debug('d');
        l.info('i');
        l.warn('w');
        l.error('e');
      });
      assert.deepEqual(
        lines.map((x) => x[0]),
        tc.want,
        `level ${tc.level ?? '(default)'}`,
      );
    }
  });

  it('text: child() context comes first, call fields override it', () => {
    const lines = capture({ format: 'text' }, (l) => {
      l.child({ node: 'n1' }).child({ pod: 'p', attempt: 1 }).info('hello', { attempt: 2, err: new Error('x y') });
    });
    assert.equal(lines[0]!.replace(header, ''), 'hello node=n1 pod=p attempt=2 err="x y"');
  });

  it('text: the time is the current UTC time of day', () => {
    const t0 = new Date().toISOString().slice(11, 19);
    const lines = capture({ format: 'text' }, (l) => l.info('now'));
    const t1 = new Date().toISOString().slice(11, 19);
    const t = header.exec(lines[0]!)![3]!.slice(0, 8);
    if (t0 <= t1) assert.ok(t >= t0 && t <= t1, `${t} within [${t0}, ${t1}]`); // (not across midnight)
  });

  it('text: the header carries the month and day and microseconds like klog (I0101 12:00:00.000000] ...)', () => {
    const lines = capture({ format: 'text' }, (l) => l.info('hello'));
    const mmdd = new Date().toISOString().slice(5, 10).replace('-', '');
    assert.match(lines[0]!, new RegExp(`^I${mmdd} \\d\\d:\\d\\d:\\d\\d\\.\\d{6}\\] hello$`));
  });

  it('text: header times never go backwards and match the wall clock to the millisecond', () => {
    const before = Date.now();
    const lines = capture({ format: 'text' }, (l) => {
      for (let i = 0; i < 200; i++) l.info('tick');
    });
    const after = Date.now();
    const times = lines.map((x) => header.exec(x)![3]!);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `${times[i - 1]} then ${times[i]}`);
    const ms = (t: string): number => {
      const [h, m, s] = t.split(':').map(Number);
      return ((h! * 60 + m!) * 60 + s!) * 1000;
    };
    const dayMs = (n: number): number => n % 86_400_000;
    const first = Math.floor(ms(times[0]!));
    const last = Math.floor(ms(times.at(-1)!));
    if (dayMs(before) <= dayMs(after)) assert.ok(first >= dayMs(before) && last <= dayMs(after), `${times[0]}..${times.at(-1)} within the wall clock`);
  });

  it('json: one JSON object per line with level, time, msg and fields', () => {
    const lines = capture({ format: 'json', level: 'debug' }, (l) => {
      l.debug('d', { a: 1 });
      l.child({ pod: 'p' }).error('failed', { err: new NodeletError('Code', 'text') });
    });
    assert.equal(lines.length, 2);
    const [d, e] = lines.map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.equal(d!['level'], 'debug');
    assert.equal(d!['msg'], 'd');
    assert.equal(d!['a'], 1);
    assert.match(String(d!['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(e!['level'], 'error');
    assert.equal(e!['pod'], 'p');
    assert.equal(e!['err'], 'Code: text');
    assert.ok(!('pid' in d!) && !('hostname' in d!), 'no pino base fields');
  });

  it('json: default level info drops debug', () => {
    const lines = capture({ format: 'json' }, (l) => {
      l.debug('hidden');
      l.info('shown');
    });
    assert.deepEqual(
      lines.map((x) => (JSON.parse(x) as { msg: string }).msg),
      ['shown'],
    );
  });
});
