import type { ProtocolModule } from '../types.js';
import { Gps103Framer } from './framer.js';
import { Gps103Session } from './session.js';

export { decodeGps103, fixTimeFrom } from './decoder.js';
export { Gps103Framer } from './framer.js';
export { Gps103Session } from './session.js';

export const gps103Protocol: ProtocolModule = {
  family: 'gps103',
  createFramer: (limits) => new Gps103Framer(limits),
  createSession: () => new Gps103Session(),
};
