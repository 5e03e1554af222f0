import { describeGroupProperties } from '../../bus/groups/conformance/properties.js';
import { describeGroupConformance } from '../../bus/groups/conformance/suite.js';
import { createEventStore } from '../../store/create-store.js';
import { createMemoryEngine } from './engine.js';

describeGroupConformance('memory', { open: async () => createEventStore(createMemoryEngine()) });
describeGroupProperties('memory', { open: async () => createEventStore(createMemoryEngine()) });
