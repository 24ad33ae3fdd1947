// systeminformation ships types for its index only. The health job imports the part it uses
// (src/ops/health.ts says why); its functions are the index's.
declare module 'systeminformation/lib/memory.js' {
  export const mem: typeof import('systeminformation').mem;
}
