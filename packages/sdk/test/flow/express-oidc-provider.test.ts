import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('express', 'oidc-provider');
