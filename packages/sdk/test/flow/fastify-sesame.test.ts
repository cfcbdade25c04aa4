import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('fastify', 'sesame');
