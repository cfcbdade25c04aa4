import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('hono', 'sesame');
