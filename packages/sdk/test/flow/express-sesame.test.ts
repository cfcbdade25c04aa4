import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('express', 'sesame');
