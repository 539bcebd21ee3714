// Run by hubConcurrent.test.ts in a separate process: downloads one file of a Hub repository
// (endpoint and cache from the environment) and prints where it landed as JSON.
import { hubDownloadFile } from '../../src/loading/hub/hubDownloadFile.js';
import { hubSettings } from '../../src/loading/hub/HubOptions.js';

const [repoId, file] = process.argv.slice(2);
const result = await hubDownloadFile(hubSettings(), { repoId, revision: 'main', file });
process.stdout.write(JSON.stringify(result));
