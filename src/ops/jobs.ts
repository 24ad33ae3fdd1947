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
 */
import cron, { type ScheduledTask } from 'node-cron';

export interface JobLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<string>();
  private skippedRuns = 0;

  constructor(private readonly log: JobLogger) {}

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
  }

  stop(): void {
    for (const t of this.tasks) t.stop();
    this.tasks.length = 0;
  }
}
