import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogTimestamp, joinCriLog, logTimestampParts, parseCriLogLine, parseCriLogRecord, type CriLogRecord, type LogLine } from './crilog.js';

const ts1 = '2026-01-01T00:00:00.000000000Z';
const ts2 = '2026-01-01T00:00:01.500000000Z';
const ts3 = '2026-01-01T00:00:02.250000000Z';
const ts4 = '2026-01-01T00:00:03.000000000Z';

describe('parseCriLogLine', () => {
  const valid: [string, string, CriLogRecord][] = [
    ['stdout full', `${ts1} stdout F hello`, { timestamp: ts1, stream: 'stdout', partial: false, content: 'hello' }],
    ['stderr full', `${ts2} stderr F oops`, { timestamp: ts2, stream: 'stderr', partial: false, content: 'oops' }],
    ['stdout partial', `${ts1} stdout P part one`, { timestamp: ts1, stream: 'stdout', partial: true, content: 'part one' }],
    ['stderr partial', `${ts2} stderr P x`, { timestamp: ts2, stream: 'stderr', partial: true, content: 'x' }],
    ['content with spaces kept verbatim', `${ts1} stdout F  two  spaces `, { timestamp: ts1, stream: 'stdout', partial: false, content: ' two  spaces ' }],
    ['content that looks like a record', `${ts1} stdout F ${ts2} stderr P y`, { timestamp: ts1, stream: 'stdout', partial: false, content: `${ts2} stderr P y` }],
    ['empty content after the tag space', `${ts1} stdout F `, { timestamp: ts1, stream: 'stdout', partial: false, content: '' }],
    ['empty content without a space', `${ts1} stdout F`, { timestamp: ts1, stream: 'stdout', partial: false, content: '' }],
    ['empty partial', `${ts1} stderr P`, { timestamp: ts1, stream: 'stderr', partial: true, content: '' }],
    ['tag with extra fields (F:x)', `${ts1} stdout F:extra msg`, { timestamp: ts1, stream: 'stdout', partial: false, content: 'msg' }],
    ['tag with extra fields (P:x)', `${ts1} stdout P:extra msg`, { timestamp: ts1, stream: 'stdout', partial: true, content: 'msg' }],
    ['short timestamp', `2026-01-01T00:00:00Z stdout F a`, { timestamp: '2026-01-01T00:00:00Z', stream: 'stdout', partial: false, content: 'a' }],
  ];
  for (const [name, line, want] of valid) {
    it(`parses ${name}`, () => {
      assert.deepEqual(parseCriLogLine(line), want);
    });
  }

  const malformed: [string, string][] = [
    ['empty line', ''],
    ['no spaces', 'garbage'],
    ['leading space (empty timestamp)', ` stdout F x`],
    ['timestamp only', ts1],
    ['timestamp and stream only', `${ts1} stdout`],
    ['unknown stream', `${ts1} stdin F x`],
    ['stream in upper case', `${ts1} STDOUT F x`],
    ['unknown tag', `${ts1} stdout X x`],
    ['lower-case tag', `${ts1} stdout f x`],
    ['empty tag', `${ts1} stdout  x`],
    ['tag glued to text', `${ts1} stdout Fx y`],
    ['docker json line', '{"log":"hello\\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}'],
    ['plain text', 'hello world from an app'],
  ];
  for (const [name, line] of malformed) {
    it(`returns undefined for ${name}`, () => {
      assert.equal(parseCriLogLine(line), undefined);
    });
  }

  // The kubelet's parseCRILog parses the timestamp (RFC3339Nano) and rejects the line when it fails.
  for (const [name, line] of [
    ['a word as timestamp', 'hello stdout F x'],
    ['a number as timestamp', '12345 stderr F x'],
  ] as const) {
    it(
      `returns undefined for ${name}`,
      () => {
        assert.equal(parseCriLogLine(line), undefined);
      },
    );
  }
});

describe('parseCriLogLine: RFC 3339 timestamps', () => {
  const good = [
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.5Z',
    '2026-01-01T00:00:00.123456789Z',
    '2026-01-01T01:00:00+01:00',
    '2025-12-31T23:59:59.999-08:30',
    '2024-02-29T12:00:00Z', // leap year
    '2000-02-29T12:00:00Z',
  ];
  for (const ts of good) {
    it(`accepts ${ts}`, () => {
      assert.deepEqual(parseCriLogLine(`${ts} stdout F x`), { timestamp: ts, stream: 'stdout', partial: false, content: 'x' });
    });
  }
  const bad = [
    '2026-01-01',
    '2026-01-01T00:00:00', // no zone
    '2026-01-01 00:00:00Z',
    '2026-01-01t00:00:00Z',
    '2026-01-01T00:00:00z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00.1234567890Z',
    '2026-01-01T00:00:00+0100',
    '2026-01-01T00:00:00+24:00',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-02-29T00:00:00Z', // not a leap year
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '26-01-01T00:00:00Z',
  ];
  for (const ts of bad) {
    it(`rejects ${ts}`, () => {
      assert.equal(parseCriLogLine(`${ts} stdout F x`), undefined);
    });
  }
  it('joinCriLog skips lines with a bad timestamp', () => {
    assert.deepEqual(joinCriLog(`${ts1} stdout F a\nnot-a-time stdout F b\n${ts2} stdout F c\n`), [
      { timestamp: ts1, stream: 'stdout', text: 'a' },
      { timestamp: ts2, stream: 'stdout', text: 'c' },
    ]);
  });
});

describe('joinCriLog', () => {
  const cases: { name: string; text: string; want: LogLine[] }[] = [
    { name: 'empty file', text: '', want: [] },
    { name: 'only blank lines', text: '\n\n\n', want: [] },
    {
      name: 'full lines pass through in order',
      text: `${ts1} stdout F one\n${ts2} stderr F two\n${ts3} stdout F three\n`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: 'one' },
        { timestamp: ts2, stream: 'stderr', text: 'two' },
        { timestamp: ts3, stream: 'stdout', text: 'three' },
      ],
    },
    {
      name: 'P+P+F joined into one line with the first timestamp',
      text: `${ts1} stdout P aaa\n${ts2} stdout P bbb\n${ts3} stdout F ccc\n`,
      want: [{ timestamp: ts1, stream: 'stdout', text: 'aaabbbccc' }],
    },
    {
      name: 'P + empty F ends the line',
      text: `${ts1} stdout P no newline yet\n${ts2} stdout F\n`,
      want: [{ timestamp: ts1, stream: 'stdout', text: 'no newline yet' }],
    },
    {
      name: 'interleaved stdout/stderr partials kept per stream',
      text: [
        `${ts1} stdout P out-1 `,
        `${ts1} stderr P err-1 `,
        `${ts2} stdout P out-2 `,
        `${ts2} stderr F err-2`,
        `${ts3} stdout F out-3`,
        '',
      ].join('\n'),
      want: [
        { timestamp: ts1, stream: 'stderr', text: 'err-1 err-2' },
        { timestamp: ts1, stream: 'stdout', text: 'out-1 out-2 out-3' },
      ],
    },
    {
      name: 'trailing P without F returned as its own line',
      text: `${ts1} stdout F done\n${ts2} stdout P half a line`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: 'done' },
        { timestamp: ts2, stream: 'stdout', text: 'half a line' },
      ],
    },
    {
      name: 'trailing partials of both streams, joined per stream',
      text: `${ts1} stderr P e1\n${ts2} stdout P o1\n${ts3} stderr P e2\n${ts4} stdout P o2\n`,
      want: [
        { timestamp: ts1, stream: 'stderr', text: 'e1e2' },
        { timestamp: ts2, stream: 'stdout', text: 'o1o2' },
      ],
    },
    {
      name: 'blank lines skipped (also between partials)',
      text: `\n${ts1} stdout P a\n\n\n${ts2} stdout F b\n\n${ts3} stderr F c\n\n`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: 'ab' },
        { timestamp: ts3, stream: 'stderr', text: 'c' },
      ],
    },
    {
      name: 'malformed lines skipped',
      text: `garbage\n${ts1} stdout F ok\n${ts2} stdin F nope\n${ts3} stderr Q nope\n${ts4} stderr F fine\n`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: 'ok' },
        { timestamp: ts4, stream: 'stderr', text: 'fine' },
      ],
    },
    {
      name: 'empty full lines are kept as empty lines',
      text: `${ts1} stdout F \n${ts2} stdout F x\n`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: '' },
        { timestamp: ts2, stream: 'stdout', text: 'x' },
      ],
    },
    {
      name: 'a partial sequence may restart after its F',
      text: `${ts1} stdout P a\n${ts2} stdout F b\n${ts3} stdout P c\n${ts4} stdout F d\n`,
      want: [
        { timestamp: ts1, stream: 'stdout', text: 'ab' },
        { timestamp: ts3, stream: 'stdout', text: 'cd' },
      ],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(joinCriLog(tc.text), tc.want);
    });
  }
});

describe('parseCriLogRecord (bytes)', () => {
  it('keeps the content as bytes, the header parsed as parseCriLogLine does', () => {
    const line = Buffer.concat([Buffer.from(`${ts1} stderr P `), Buffer.from([0xc3, 0x28, 0x20])]);
    const r = parseCriLogRecord(line);
    assert.ok(r);
    assert.deepEqual([r.timestamp, r.stream, r.partial], [ts1, 'stderr', true]);
    assert.deepEqual(r.content, Buffer.from([0xc3, 0x28, 0x20]));
    assert.deepEqual(parseCriLogRecord(Buffer.from(`${ts1} stdout F`))?.content, Buffer.alloc(0));
    for (const bad of ['', 'garbage', `${ts1} stdin F x`, `${ts1} stdout X x`, `2026-02-30T00:00:00Z stdout F x`]) assert.equal(parseCriLogRecord(Buffer.from(bad)), undefined, bad);
  });
});

describe('log timestamps', () => {
  it('formatLogTimestamp: Go RFC3339Nano output (trailing zeros dropped, zero offset as Z)', () => {
    const cases: [string, string][] = [
      ['2026-01-01T00:00:00.000000000Z', '2026-01-01T00:00:00Z'],
      ['2026-01-01T00:00:01.500000000Z', '2026-01-01T00:00:01.5Z'],
      ['2026-01-01T00:00:01.123456789Z', '2026-01-01T00:00:01.123456789Z'],
      ['2026-01-01T00:00:01.120Z', '2026-01-01T00:00:01.12Z'],
      ['2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z'],
      ['2026-01-01T02:00:01.100+02:00', '2026-01-01T02:00:01.1+02:00'],
      ['2026-01-01T00:00:01-00:00', '2026-01-01T00:00:01Z'],
    ];
    for (const [input, want] of cases) assert.equal(formatLogTimestamp(input), want, input);
  });

  it('logTimestampParts: ms since the epoch and the nanoseconds below, offsets applied', () => {
    assert.deepEqual(logTimestampParts('2026-01-01T00:00:01.123456789Z'), [Date.UTC(2026, 0, 1, 0, 0, 1, 123), 456789]);
    assert.deepEqual(logTimestampParts('2026-01-01T02:00:00+02:00'), [Date.UTC(2026, 0, 1), 0]);
    assert.deepEqual(logTimestampParts('2025-12-31T23:30:00.5-00:30'), [Date.UTC(2026, 0, 1, 0, 0, 0, 500), 0]);
    assert.equal(logTimestampParts('yesterday'), undefined);
  });
});
