import { tk103Protocol } from '../../src/protocol/tk103/index.js';
import { registerVectorSuite } from '../helpers/vectors.js';

registerVectorSuite(tk103Protocol, {
  login: (session, id) => {
    session.handleFrame(Buffer.from(`(${id}BP00HSO)`), new Date());
  },
});
