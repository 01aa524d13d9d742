// The campaign worker's process: the seed's campaignWorker on its own, so
// that its CPU is the sends' alone.
const campaignWorker = require('./workers/campaignWorker');
const { logger } = require('./utils/logger');

campaignWorker.waitUntilReady().then(() => logger.info('ready', {}));
