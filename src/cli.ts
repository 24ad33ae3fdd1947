#!/usr/bin/env node
/**
 * `tkgw`'s entry point (the command line itself is `cli/main.ts`). V8's memory settings go first,
 * and the rest is imported only after them: an ES module graph is loaded and parsed in full
 * before its first module runs, and parsing commander, zod and the gateway's own modules already
 * grew the young generation to 8 MB (7.3 MB resident) that a later setting cannot take back.
 */
import './cli/v8-memory.js';

await import('./cli/main.js');
