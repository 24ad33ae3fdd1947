import type { ProtocolModule } from '../types.js';
import { Gt06Framer } from './framer.js';
import { Gt06Session } from './session.js';

export { decodeGt06, imeiFromTerminalId, parsePacket } from './decoder.js';
export { buildGt06Frame, encodeGt06Command, gt06Ack, gt06TimeReply, relayCommandText } from './encoder.js';
export { Gt06Framer } from './framer.js';
export { Gt06Session } from './session.js';

export const gt06Protocol: ProtocolModule = {
  family: 'gt06',
  createFramer: (limits) => new Gt06Framer(limits),
  createSession: (options) => new Gt06Session(options),
};
