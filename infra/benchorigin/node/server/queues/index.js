// The seed's queues/index.js. Changed: only the campaigns queue (the
// imports and reports queues are idle on every path measured), and no
// QueueScheduler: BullMQ 2 and later have none, the worker itself moves
// delayed jobs when they are due.
const { Queue } = require('bullmq');
const { connection } = require('./connection');
const { logger } = require('../utils/logger');

const campaignQueue = new Queue('campaigns', { connection });

campaignQueue.on('error', (error) => {
  logger.error(`Queue ${campaignQueue.name} error`, { error: error.message });
});

module.exports = { campaignQueue, connection };
