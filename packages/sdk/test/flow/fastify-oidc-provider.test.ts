import { describeFlowSuite } from './flow-suite.ts';

describeFlowSuite('fastify', 'oidc-provider');
