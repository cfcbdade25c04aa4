import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('next', 'sesame');
