/**
 * Scheduled work with node-cron: health, WAL checkpoint, audit retention, vacuum, budget resets.
 * Each job is guarded so a failure is logged and the schedule goes on.
 */
import cron, { type ScheduledTask } from 'node-cron';

export interface JobLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(private readonly log: JobLogger) {}

  add(name: string, expression: string, run: () => unknown): void {
    const task = cron.schedule(
      expression,
      async () => {
        try {
          await run();
          this.log.debug({ job: name }, 'job done');
        } catch (err) {
          this.log.warn({ job: name, err: String(err) }, 'scheduled job failed');
        }
      },
      { name, noOverlap: true },
    );
    this.tasks.push(task);
  }

  stop(): void {
    for (const t of this.tasks) void t.stop();
    this.tasks.length = 0;
  }
}
