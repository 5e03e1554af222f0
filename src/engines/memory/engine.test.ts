import { createEventStore } from '../../store/create-store.js';
import { describeConformance } from '../../store/conformance/suite.js';
import { createMemoryEngine } from './engine.js';

describeConformance('memory', async () => createEventStore(createMemoryEngine()));
