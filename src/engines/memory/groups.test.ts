import { describeGroupConformance } from '../../bus/groups/conformance/suite.js';
import { createEventStore } from '../../store/create-store.js';
import { createMemoryEngine } from './engine.js';

describeGroupConformance('memory', { open: async () => createEventStore(createMemoryEngine()) });
