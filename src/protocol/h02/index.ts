import type { ProtocolModule } from '../types.js';
import { H02Framer } from './framer.js';
import { H02Session } from './session.js';

export { decodeH02, statusAlarms } from './decoder.js';
export { encodeH02Relay } from './encoder.js';
export { H02Framer } from './framer.js';
export { H02Session } from './session.js';

export const h02Protocol: ProtocolModule = {
  family: 'h02',
  createFramer: (limits) => new H02Framer(limits),
  createSession: (options) => new H02Session(options),
};
