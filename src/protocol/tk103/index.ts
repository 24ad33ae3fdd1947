import type { ProtocolModule } from '../types.js';
import { Tk103Framer } from './framer.js';
import { Tk103Session } from './session.js';

export { decodeTk103, splitTk103 } from './decoder.js';
export { Tk103Framer } from './framer.js';
export { Tk103Session } from './session.js';

export const tk103Protocol: ProtocolModule = {
  family: 'tk103',
  createFramer: (limits) => new Tk103Framer(limits),
  createSession: () => new Tk103Session(),
};
