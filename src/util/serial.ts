// Runs async jobs one at a time, in the order they were asked for (a GC pass asked for by the
// eviction manager waits for the periodic pass under way, as the kubelet's GC mutexes make it).

export class Serializer {
  private chain: Promise<unknown> = Promise.resolve();

  /** Runs fn after every job asked for before it has settled; a failed job does not stop the next. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
