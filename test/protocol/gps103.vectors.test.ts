import { gps103Protocol } from '../../src/protocol/gps103/index.js';
import { registerVectorSuite } from '../helpers/vectors.js';

registerVectorSuite(gps103Protocol, {
  login: (session, id) => {
    session.handleFrame(Buffer.from(`##,imei:${id},A`), new Date());
  },
});
