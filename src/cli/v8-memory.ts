/**
 * Imported first by the command line, before any other module is evaluated, so the settings hold
 * from the gateway's first allocation whoever starts it (npm start, systemd, pm2, the bench): a
 * flag on the `node` command line would depend on every launcher remembering it, and NODE_OPTIONS
 * does not accept all of them.
 *
 * By default `tkgw start` keeps V8's young generation at its initial 1 MB semi-spaces. Node 20
 * grows them to 16 MB each under allocation pressure (loading the modules at start already does),
 * and both stay resident: ~25 MB of RSS that only makes scavenges rarer. The gateway's garbage
 * is short-lived (frames, records, rows gone once committed), so small semi-spaces scavenge more
 * often but copy no more: measured no CPU cost per ingested record (10.33 vs 10.4 us of
 * main-thread CPU, 3 alternating runs each; 9.34 vs 9.30 in another set) for about 25 MB less RSS
 * with 10,000 reporting trackers.
 * `--max-semi-space-size` only works on the command line (the heap is sized before any module
 * runs); a growth factor of 1 set here has the same effect. TKGW_V8_FIXED_YOUNG_GEN=0 turns it
 * off (to measure against V8's default).
 *
 * It also caps how far the old generation may grow past what the last mark-compact kept:
 * `--heap-growing-percent=30` (TKGW_V8_HEAP_GROWING_PERCENT, 0 for V8's own choice). On a box
 * with this much memory V8 lets it grow to up to 4x the live heap when the mutator was idle at
 * the last mark-compact, which a depot's gateway is between report waves: one trace had 16.5 MB
 * live at idle, then the 10,000-login storm filled the heap to 60 MB before the next collection,
 * and the pages stayed committed. With 30 % the same load peaked at 103-105.5 MB instead of
 * 106.5-127.2 (3 alternating runs each). The cost is more mark-compacts, mostly on V8's helper
 * threads: under the ingest flood 15.3 vs 15.1 us of main-thread CPU per record and 21.7 vs 19.7
 * us for the whole process (3 alternating runs each). V8 reads the flag at every collection, so
 * setting it here works. Under a flood the gateway lifts the cap (src/ops/heap-growth.ts).
 *
 * At a depot's pace `tkgw start` also runs without V8's optimizing compiler (`--no-opt`; the
 * interpreter and the baseline compiler run everything), and turns it on while ingest floods,
 * with the heap cap (src/ops/heap-growth.ts). TurboFan's compiled code, the pages of the `node`
 * binary it runs from and its compile zones were ~9-17 MB of a gateway with 10,000 trackers
 * reporting every 10 s (60 s probes: 92.2 and 94.3 MB with it off against 101.1 and 111.1 on);
 * the cost is CPU, 8.8-10.1 % of one core here against 5.0-6.0 % at that load, which a Pi 4 has
 * to spare at a depot's pace; under a flood, where CPU is what runs short, it is on. V8 reads the
 * flag at each tiering decision (measured: a hot loop 13x slower after --no-opt at run time, back
 * to full speed at once after --opt). Code optimized during a flood stays optimized afterwards.
 * TKGW_V8_OPTIMIZER=always keeps it on throughout.
 *
 * TKGW_V8_OPTIMIZE_FOR_SIZE=1 also turns on V8's --optimize-for-size for boxes short of memory (a
 * Pi Zero-class board): the old generation grows in smaller steps and V8 optimizes less eagerly.
 * It cost 19-20% more CPU per ingested record on the event loop (3 alternating runs each); a Pi 4
 * has memory to spare and slow cores, so it stays opt-in.
 */
import v8 from 'node:v8';

export function v8FlagsFor(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  // Only the long-running gateway: short commands (decode, status, simulate...) gain nothing.
  if (argv[2] !== 'start') return [];
  const flags: string[] = [];
  if (env['TKGW_V8_FIXED_YOUNG_GEN'] !== '0') flags.push('--semi-space-growth-factor=1');
  const growing = env['TKGW_V8_HEAP_GROWING_PERCENT'] ?? '30';
  if (growing !== '0') flags.push(`--heap-growing-percent=${growing}`);
  if (env['TKGW_V8_OPTIMIZE_FOR_SIZE'] === '1') flags.push('--optimize-for-size');
  if (env['TKGW_V8_OPTIMIZER'] !== 'always') flags.push('--no-opt');
  return flags;
}

const chosen = v8FlagsFor(process.argv, process.env);
const growingFlag = chosen.findIndex((f) => f.startsWith('--heap-growing-percent='));
const optimizerFlag = chosen.indexOf('--no-opt');
const cappedPercent = growingFlag >= 0 ? Number((chosen[growingFlag] as string).split('=')[1]) : 0;

/** true when `tkgw start` chose settings that follow the ingest rate (setFloodMode) */
export const governsFloodMode = growingFlag >= 0 || optimizerFlag >= 0;

/**
 * Under a flood: V8's own heap growth and its optimizing compiler; at a depot's pace: the cap
 * and no optimizing compiler. Kept in `chosen` too, so a worker started later (the store's
 * checkpoint worker comes with floods) gets the settings of the moment.
 */
export function setFloodMode(flood: boolean): void {
  const changed: string[] = [];
  if (growingFlag >= 0) changed.push((chosen[growingFlag] = `--heap-growing-percent=${flood ? 0 : cappedPercent}`));
  if (optimizerFlag >= 0) changed.push((chosen[optimizerFlag] = flood ? '--opt' : '--no-opt'));
  for (const flag of changed) v8.setFlagsFromString(flag);
}

function applyV8Flags(): void {
  for (const flag of chosen) v8.setFlagsFromString(flag);
}

applyV8Flags();
// Starting a worker thread (the store's checkpointer) puts V8's run-time flags back to their
// defaults in Node 20 (measured: the young generation grew to 16 MB semi-spaces again under
// load), so they are set again once each worker is up, whoever starts it.
if (chosen.length > 0) process.on('worker', (worker) => worker.once('online', applyV8Flags));
