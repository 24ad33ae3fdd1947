// Child process for the kill -9 test: enqueues rows forever and prints each seq once committed.
import { openStore } from '../../src/store/store.js';

const dir = process.argv[2] as string;
const { store } = openStore({ dataDir: dir, quotaBytes: 1e9, synchronous: 'full', groupCommitMs: 2, groupCommitMaxRows: 200, allowTmpfs: true });
let i = 0;
function burst(): void {
  for (let k = 0; k < 50; k++) {
    const n = i++;
    store
      .enqueue({ deviceId: 'd', lane: 'pos', type: 'position', protected: false, receivedAtMs: Date.now(), payload: `{"n":${n}}`, raw: null })
      .then((row) => process.stdout.write(`${row.seq}\n`));
  }
  setTimeout(burst, 1);
}
burst();
