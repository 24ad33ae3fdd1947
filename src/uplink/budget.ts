/**
 * Bytes sent today / this month, persisted in the outbox's meta table so a restart does not hand a
 * metered SIM a fresh budget. Ops resets them from cron (`resetDaily`, `resetMonthly`).
 */
import { UPLINK_META, type UplinkOutbox } from './outbox.js';

/** Persisting on every publish would add a write per batch next to ingest's commits; once a second
 * bounds what a crash can forget to one second of traffic. */
const PERSIST_EVERY_MS = 1000;

export class ByteBudget {
  private today: number;
  private month: number;
  private persistedAtMs = -Infinity;
  private dirty = false;

  constructor(
    private readonly meta: Pick<UplinkOutbox, 'getMeta' | 'setMeta'>,
    private readonly limits: { perDay: number; perMonth: number },
    private readonly now: () => number,
  ) {
    this.today = finiteOrZero(meta.getMeta(UPLINK_META.bytesToday));
    this.month = finiteOrZero(meta.getMeta(UPLINK_META.bytesMonth));
  }

  get bytesToday(): number {
    return this.today;
  }

  get bytesMonth(): number {
    return this.month;
  }

  add(bytes: number): void {
    this.today += bytes;
    this.month += bytes;
    this.dirty = true;
    if (this.now() - this.persistedAtMs >= PERSIST_EVERY_MS || this.exhausted()) this.flush();
  }

  exhausted(): boolean {
    const { perDay, perMonth } = this.limits;
    return (perDay > 0 && this.today >= perDay) || (perMonth > 0 && this.month >= perMonth);
  }

  resetDaily(): void {
    this.today = 0;
    this.dirty = true;
    this.flush();
  }

  resetMonthly(): void {
    this.month = 0;
    this.dirty = true;
    this.flush();
  }

  flush(): void {
    if (!this.dirty) return;
    this.meta.setMeta(UPLINK_META.bytesToday, String(this.today));
    this.meta.setMeta(UPLINK_META.bytesMonth, String(this.month));
    this.dirty = false;
    this.persistedAtMs = this.now();
  }
}

function finiteOrZero(text: string | undefined): number {
  const n = Number(text ?? 0);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}
