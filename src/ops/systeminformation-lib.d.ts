// systeminformation ships types for its index only. The health job imports the two parts it uses
// (src/ops/health.ts says why); their functions are the index's.
declare module 'systeminformation/lib/cpu.js' {
  export const currentLoad: typeof import('systeminformation').currentLoad;
}
declare module 'systeminformation/lib/memory.js' {
  export const mem: typeof import('systeminformation').mem;
}
