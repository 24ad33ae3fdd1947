/**
 * One run at a time: a request during a run makes exactly one more run right after it, however
 * many came, so checkpoints asked for while one copies are not queued one by one.
 */
export class SerialRunner {
  private running = false;
  private again = false;
  private waiters: Array<() => void> = [];

  /** @param stopped once true, no further run starts */
  constructor(
    private readonly run: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  request(): void {
    if (this.stopped()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.runAll();
  }

  /** Resolves when no run is going on. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async runAll(): Promise<void> {
    do {
      this.again = false;
      await this.run();
    } while (this.again && !this.stopped());
    this.running = false;
    for (const w of this.waiters.splice(0)) w();
  }
}
