import { MemoryRevocationStore } from '../revocation-store-memory.ts';
import { MemorySessionStore } from './memory-session-store.ts';
import { describeRevocationStoreSuite } from './revocation-store-suite.ts';
import { describeSessionStoreSuite } from './session-store-suite.ts';

describeSessionStoreSuite('memory', () => new MemorySessionStore());
describeRevocationStoreSuite('memory', () => new MemoryRevocationStore());
