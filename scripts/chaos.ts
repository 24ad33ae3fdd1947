/** `npm run test:chaos`: the long chaos run; prints the figures the README quotes. */
import { runChaos } from '../test/chaos/runner.js';

const report = await runChaos({ devices: 40, reports: 1500, intervalMs: 20, faultEverySec: 5, quotaMb: 4, uplinkBytesPerSec: 1024 * 1024, drainTimeoutSec: 300, log: (l) => console.log(l) });
console.log(JSON.stringify(report, null, 2));
process.exit(report.lost === 0 && report.duplicatesWithOtherSeq === 0 ? 0 : 1);
