import { buildGt06Frame, gt06Protocol } from '../../src/protocol/gt06/index.js';
import { registerVectorSuite } from '../helpers/vectors.js';

/** A 0x01 login for `imei` (terminal id = 0 nibble + 15 digits, BCD). */
export function gt06Login(imei: string, serial = 1): Buffer {
  return buildGt06Frame(0x01, Buffer.from(`0${imei}`, 'hex'), serial);
}

registerVectorSuite(gt06Protocol, {
  login: (session, id) => {
    session.handleFrame(gt06Login(id), new Date());
  },
});
