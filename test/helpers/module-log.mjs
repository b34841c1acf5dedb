// `node --import ./test/helpers/module-log.mjs ...`: every module the process resolves, one URL a
// line, appended to the file TESSERA_TEST_MODULE_LOG names. How a test sees what a command loads.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url, { data: { file: process.env.TESSERA_TEST_MODULE_LOG } });
