// The seed's workers/campaignWorker.js. Changed: no 100 ms sleep after
// each send and no 100-a-minute limiter, so that the worker's CPU per send
// is measured rather than its waiting (the fake WuzAPI answers at once);
// concurrency 5 as the seed.
const { Worker } = require('bullmq');
const { connection } = require('../queues/connection');
const { logger } = require('../utils/logger');
const CampaignService = require('../services/CampaignService');

const campaignWorker = new Worker('campaigns', async (job) => {
  const { campaignId, tenantId, contacts, message } = job.data;

  logger.info('Processing campaign', { campaignId, tenantId, contactCount: contacts.length });

  let processed = 0;
  let failed = 0;

  for (const contact of contacts) {
    try {
      await CampaignService.sendMessage(contact, message);
      processed++;

      // Atualizar progresso
      await job.updateProgress(Math.round((processed / contacts.length) * 100));
    } catch (error) {
      failed++;
      logger.warn('Failed to send message', { contact, error: error.message });
    }
  }

  return { processed, failed, total: contacts.length };
}, {
  connection,
  concurrency: 5, // 5 jobs simultâneos
});

campaignWorker.on('completed', (job, result) => {
  logger.info('Campaign completed', { jobId: job.id, result });
});

campaignWorker.on('failed', (job, error) => {
  logger.error('Campaign failed', { jobId: job.id, error: error.message });
});

module.exports = campaignWorker;
