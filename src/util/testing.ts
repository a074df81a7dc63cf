// Helpers for unit tests (imported by *.test.ts only).

export interface Tracked<T> {
  readonly settled: boolean;
  readonly value?: T;
  readonly error?: unknown;
}

/** Tracks a promise's outcome without awaiting it (to check it is still pending as fake time passes). */
export function track<T>(p: Promise<T>): Tracked<T> {
  const s: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  p.then(
    (v) => {
      s.settled = true;
      s.value = v;
    },
    (e: unknown) => {
      s.settled = true;
      s.error = e;
    },
  );
  return s;
}
