import { createEventStore } from '../create-store.js';
import { describeConformance } from '../conformance/suite.js';
import { createMemoryEngine } from './memory-engine.js';

describeConformance('memory', async () => createEventStore(createMemoryEngine()));
