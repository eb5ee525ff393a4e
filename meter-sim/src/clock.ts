/**
 * Simulated time. At speed 1 it is the wall clock. Faster, it starts at `origin` and runs `speed` times the
 * wall clock until it reaches the present, then stays on the wall clock: the ledger refuses readings for
 * periods that have not ended yet, so a simulation can replay the past quickly but never run ahead.
 */
export class SimClock {
  private readonly realStart: number;

  constructor(
    readonly speed: number,
    private readonly originSeconds: number,
    private readonly wallSeconds: () => number = () => Date.now() / 1000,
  ) {
    this.realStart = wallSeconds();
  }

  static wallClock(): SimClock {
    return new SimClock(1, Date.now() / 1000);
  }

  nowSeconds(): number {
    const wall = this.wallSeconds();
    if (this.speed === 1) return wall;
    return Math.min(wall, this.originSeconds + (wall - this.realStart) * this.speed);
  }

  /** Wall-clock milliseconds until simulated time reaches `seconds` (0 if it has). */
  realMsUntil(seconds: number): number {
    const now = this.nowSeconds();
    if (seconds <= now) return 0;
    const wall = this.wallSeconds();
    const simulatedCatchUp =
      this.speed === 1 ? Infinity : this.originSeconds + (wall - this.realStart) * this.speed;
    // While simulated time runs fast it gets there at `speed`; once it is the wall clock, in real time.
    const rate = simulatedCatchUp < wall ? this.speed : 1;
    return Math.ceil(((seconds - now) / rate) * 1000);
  }
}
