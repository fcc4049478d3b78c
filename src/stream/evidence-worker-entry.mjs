// Worker threads do not inherit their parent's TypeScript loader: register tsx here,
// then load the thread's module itself.
import { register } from 'tsx/esm/api';

register();
await import('./evidence-worker.ts');
