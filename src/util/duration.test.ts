import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['2m0s', 120_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['0', 0],
    ['0s', 0],
    ['10s', 10_000],
    ['1h0m0s', 3_600_000],
    ['4h0m0s', 14_400_000],
    ['1m30s', 90_000],
    ['300ms', 300],
    ['1.5h', 5_400_000],
    ['2h45m30.5s', 2 * 3_600_000 + 45 * 60_000 + 30_500],
    ['1000000ns', 1],
    ['1000us', 1],
    ['1000µs', 1],
    ['-1.5s', -1500],
    ['-2m0s', -120_000],
    [' 10s ', 10_000], // surrounding spaces are trimmed
    ['1s500ms', 1500], // units may repeat out of the usual order, as in Go
  ];
  for (const [input, ms] of valid) {
    it(`parses ${JSON.stringify(input)} as ${ms} ms`, () => {
      assert.equal(parseDuration(input), ms);
    });
  }

  const malformed = ['', '10', 'abc', '1x', '-', 's', '1m 30s', '1h-30m', '10S', '1.2.3s', 'm10', '10s!', '5 s', '1e3ms'];
  for (const input of malformed) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseDuration(input),
        (e: unknown) => e instanceof Error && e.message.includes(`invalid duration "${input}"`),
      );
    });
  }

  // Go's time.ParseDuration grammar is [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with "0" special-cased after
  // the sign: all of these are valid Go durations.
  const goValid: [string, number][] = [
    ['.5s', 500],
    ['+1s', 1000],
    ['-0', 0],
    ['1.s', 1000],
  ];
  for (const [input, ms] of goValid) {
    it(
      `accepts the Go duration ${JSON.stringify(input)}`,
      () => {
        assert.equal(parseDuration(input), ms);
      },
    );
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [120_000, '2m0s'],
    [5_400_000, '1h30m0s'],
    [500, '500ms'],
    [1500, '1.5s'],
    [10_000, '10s'],
    [1000, '1s'],
    [999, '999ms'],
    [0.5, '0.5ms'],
    [60_000, '1m0s'],
    [61_000, '1m1s'],
    [3_600_000, '1h0m0s'],
    [3_601_000, '1h0m1s'],
    [86_400_000, '24h0m0s'],
    [90_250, '1m30.25s'],
    [-1500, '-1.5s'],
    [-500, '-500ms'],
    [-120_000, '-2m0s'],
  ];
  for (const [ms, text] of cases) {
    it(`formats ${ms} ms as ${text}`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }

  // Rounding to milliseconds must carry into the next unit: Go never prints "60s" inside a minute
  // or "1000ms".
  const carry: [number, string][] = [
    [59_999.9999, '1m0s'],
    [119_999.9999, '2m0s'],
    [999.9996, '1s'],
  ];
  for (const [ms, text] of carry) {
    it(
      `formats ${ms} ms as ${text} (rounding carries)`,
      () => {
        assert.equal(formatDuration(ms), text);
      },
    );
  }
});

describe('parseDuration / formatDuration round trips', () => {
  const texts = ['2m0s', '1h30m0s', '500ms', '1.5s', '0s', '10s', '1h0m1s', '-1.5s', '36h0m0s', '1m30.25s', '0.5ms'];
  for (const text of texts) {
    it(`format(parse(${JSON.stringify(text)})) is the same text`, () => {
      assert.equal(formatDuration(parseDuration(text)), text);
    });
  }
  const inputs = ['1h30m', '90s', '2m', '1500ms', '0', '3600s'];
  for (const input of inputs) {
    it(`parse(format(parse(${JSON.stringify(input)}))) keeps the value`, () => {
      const ms = parseDuration(input);
      assert.equal(parseDuration(formatDuration(ms)), ms);
    });
  }
  for (const ms of [0, 1, 999, 1000, 1500, 59_000, 60_000, 3_600_000, 5_400_000, -42_000]) {
    it(`parse(format(${ms})) is ${ms}`, () => {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    });
  }
});

describe('parseDuration: exact decimal fractions', () => {
  // Go parses durations with integer arithmetic; "1.001s" is exactly 1001 ms there.
  const cases: [string, number][] = [
    ['1.001s', 1001],
    ['1.005s', 1005],
  ];
  for (const [input, ms] of cases) {
    it(
      `parses ${JSON.stringify(input)} as exactly ${ms} ms`,
      () => {
        assert.equal(parseDuration(input), ms);
        assert.equal(parseDuration(formatDuration(ms)), ms);
      },
    );
  }
});

describe('parseDuration: more of Go’s grammar', () => {
  const valid: [string, number][] = [
    ['1μs', 0.001], // U+03BC, which Go accepts as well as U+00B5
    ['+0', 0],
    ['+.5h', 1_800_000],
    ['1.0000000001s', 1000], // digits below a nanosecond are dropped, as in Go
    ['1.5ns', 0.000001],
    ['2562047h', 2562047 * 3_600_000], // close to Go's limit (2562047h47m16.854775807s)
  ];
  for (const [input, ms] of valid) {
    it(`parses ${JSON.stringify(input)} as ${ms} ms`, () => {
      assert.equal(parseDuration(input), ms);
    });
  }
  for (const input of ['.s', '+', '-', '+-1s', '1..5s', '..5s', '1.5.s', '2562048h', '1d', '1sec', '1 s']) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseDuration(input), /invalid duration/);
    });
  }
});

describe('formatDuration: small and rounded values', () => {
  const cases: [number, string][] = [
    [0.0004, '0s'], // below the microsecond it prints
    [-0.0004, '0s'],
    [0.001, '0.001ms'],
    [1000.4, '1s'],
    [1000.5, '1.001s'],
    [3_599_999.9, '1h0m0s'],
  ];
  for (const [ms, text] of cases) {
    it(`formats ${ms} ms as ${text}`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }
});
