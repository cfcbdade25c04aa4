import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('hono', 'oidc-provider');
