/**
 * Scheduled work with node-cron: health, WAL checkpoint, audit retention, vacuum, budget resets.
 * Each job is guarded so a failure is logged and the schedule goes on, and a run still going when
 * its next time comes (a vacuum on a slow SD card) is skipped instead of started beside it.
 *
 * node-cron 3, not 4: version 4 works out every schedule's time through `Intl.DateTimeFormat`,
 * and the first use of `Intl` pages in ICU's data and code, ~6-8 MB of resident memory for the
 * life of the process (a bare `node`: 40.4 -> 48.6 MB), against a 100 MB goal with 10,000
 * trackers. Version 3 reads the local time from `Date` and only builds a formatter for the
 * `timezone` option, which the gateway never passes (schedules run in the box's local time).
 * test/ops/jobs.test.ts runs the scheduler with `Intl` unreachable, so an upgrade that brings it
 * back fails there. Version 3 has no overlap guard of its own; `running` is it.
 *
 * Version 3 also stops running a schedule when the wall clock moves back: it only fires for a time
 * later than its last run, so after NTP put a Pi's clock back an hour (a board without a real-time
 * clock boots on a saved time) the health report would be silent for that hour (seen with
 * libfaketime: no run after a 2 h step back). The scheduler compares the wall clock with the
 * monotonic one every second and restarts its schedules, which start over from the new time,
 * when the wall clock fell behind by more than CLOCK_STEP_BACK_MS.
 */
import cron, { type ScheduledTask } from 'node-cron';

export interface JobLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface JobClocks {
  wallMs(): number;
  monotonicMs(): number;
}

/** a wall clock this far behind the monotonic clock's progress is a step back, not drift */
export const CLOCK_STEP_BACK_MS = 2000;
const CLOCK_CHECK_MS = 1000;

const systemClocks: JobClocks = { wallMs: Date.now, monotonicMs: () => performance.now() };

export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<string>();
  private skippedRuns = 0;
  private restarts = 0;
  private clockCheck: NodeJS.Timeout | undefined;
  /** both clocks at the last check; taken when the first schedule starts the check */
  private lastWallMs = 0;
  private lastMonotonicMs = 0;

  constructor(
    private readonly log: JobLogger,
    private readonly clocks: JobClocks = systemClocks,
  ) {}

  /** times the schedules were restarted after the wall clock stepped back */
  get clockRestarts(): number {
    return this.restarts;
  }

  /**
   * Restarts the schedules if the wall clock fell behind the monotonic clock since the last
   * check; runs every second on its own (exposed for tests with fake clocks).
   */
  checkClock(): void {
    const wall = this.clocks.wallMs();
    const monotonic = this.clocks.monotonicMs();
    const behindMs = monotonic - this.lastMonotonicMs - (wall - this.lastWallMs);
    this.lastWallMs = wall;
    this.lastMonotonicMs = monotonic;
    if (behindMs <= CLOCK_STEP_BACK_MS || this.tasks.length === 0) return;
    this.restarts++;
    for (const t of this.tasks) {
      t.stop();
      t.start();
    }
    this.log.info({ behindMs: Math.round(behindMs), schedules: this.tasks.length }, 'wall clock moved back: schedules restarted from the new time');
  }

  /** runs skipped because the job's previous run had not finished */
  get skipped(): number {
    return this.skippedRuns;
  }

  add(name: string, expression: string, run: () => unknown): void {
    const task = cron.schedule(
      expression,
      () => {
        if (this.running.has(name)) {
          this.skippedRuns++;
          this.log.debug({ job: name }, 'job still running: this run skipped');
          return;
        }
        this.running.add(name);
        void (async () => {
          try {
            await run();
            this.log.debug({ job: name }, 'job done');
          } catch (err) {
            this.log.warn({ job: name, err: String(err) }, 'scheduled job failed');
          } finally {
            this.running.delete(name);
          }
        })();
      },
      { name },
    );
    this.tasks.push(task);
    if (!this.clockCheck) {
      this.lastWallMs = this.clocks.wallMs();
      this.lastMonotonicMs = this.clocks.monotonicMs();
      this.clockCheck = setInterval(() => this.checkClock(), CLOCK_CHECK_MS);
      this.clockCheck.unref();
    }
  }

  stop(): void {
    for (const t of this.tasks) t.stop();
    this.tasks.length = 0;
    if (this.clockCheck) clearInterval(this.clockCheck);
    this.clockCheck = undefined;
  }
}
