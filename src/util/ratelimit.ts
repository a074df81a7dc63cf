// Token-bucket rate limiter (models k8s.io/client-go/util/flowcontrol.NewTokenBucketRateLimiter,
// which is golang.org/x/time/rate underneath): `qps` tokens a second refill a bucket holding at
// most `burst` tokens; the bucket starts full. The kubelet uses it for registryPullQPS /
// registryBurst (and its API client QPS).
//
// Differences: time comes from the injected Clock, so tests drive it with FakeClock; only the
// non-blocking TryAccept is offered (the image puller is the one user, and it fails a refused pull
// as upstream does rather than waiting).

import type { Clock } from './clock.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    /** Tokens added per second; must be > 0. */
    readonly qps: number,
    /** Bucket size: how many requests may go at once after a quiet period. */
    readonly burst: number,
  ) {
    if (!(qps > 0) || !Number.isFinite(qps)) throw new RangeError(`TokenBucket: qps must be a positive number (got ${qps})`);
    if (!(burst >= 0) || !Number.isInteger(burst)) throw new RangeError(`TokenBucket: burst must be a non-negative integer (got ${burst})`);
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes a token if one is available now; false (and nothing taken) otherwise. */
  tryAccept(): boolean {
    this.refill();
    // tolerate float drift: 0.2 s at 5 QPS must give exactly one token
    if (this.tokens >= 1 - 1e-9) {
      this.tokens = Math.max(0, this.tokens - 1);
      return true;
    }
    return false;
  }

  /** Tokens available now (fractional while refilling). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
    }
  }
}
