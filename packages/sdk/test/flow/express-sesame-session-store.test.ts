import { describeFlowSuite } from './flow-suite.ts';

// The same flow with sessions kept server-side: the cookie holds only an opaque id.
describeFlowSuite('express', 'sesame', { sessionStore: true });
