import { h02Protocol } from '../../src/protocol/h02/index.js';
import { registerVectorSuite } from '../helpers/vectors.js';

registerVectorSuite(h02Protocol, {
  login: (session, id) => {
    session.handleFrame(Buffer.from(`*HQ,${id},V0#`), new Date());
  },
});
