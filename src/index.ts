/** Entry of the action bundle (dist/index.js): calls run() and nothing else. */
import { run } from './action.js';

await run();
