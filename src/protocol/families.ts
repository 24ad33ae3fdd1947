import { gps103Protocol } from './gps103/index.js';
import { gt06Protocol } from './gt06/index.js';
import { h02Protocol } from './h02/index.js';
import { tk103Protocol } from './tk103/index.js';
import type { ProtocolFamily, ProtocolModule } from './types.js';

export const PROTOCOL_MODULES: Readonly<Record<ProtocolFamily, ProtocolModule>> = {
  h02: h02Protocol,
  gt06: gt06Protocol,
  tk103: tk103Protocol,
  gps103: gps103Protocol,
};
