// The seed's routes/bulkCampaignRoutes.js ("Uso nas Rotas"). Changed: the
// tenant rate limiter runs on each route after requireAuth (it is keyed by
// the tenant requireAuth sets); generateId, undefined in the seed, is a
// random UUID.
const crypto = require('node:crypto');
const express = require('express');
const { campaignQueue } = require('../queues');
const { requireAuth } = require('../middleware/requireAuth');
const { createTenantRateLimiter } = require('../middleware/tenantRateLimiter');
const { logger } = require('../utils/logger');

const router = express.Router();
const tenantRateLimiter = createTenantRateLimiter();
const generateId = () => crypto.randomUUID();

router.post('/send', requireAuth, tenantRateLimiter, async (req, res) => {
  try {
    const { contacts, message, scheduledAt } = req.body;
    const tenantId = req.context?.tenantId;

    // Criar job na fila
    const job = await campaignQueue.add('send-campaign', {
      campaignId: generateId(),
      tenantId,
      contacts,
      message,
    }, {
      delay: scheduledAt ? new Date(scheduledAt) - Date.now() : 0,
      attempts: 3,
      backoff: {
        type: 'exponential',
        delay: 5000,
      },
    });

    res.json({
      success: true,
      data: {
        jobId: job.id,
        status: 'queued',
        contactCount: contacts.length,
      },
    });
  } catch (error) {
    logger.error('Failed to queue campaign', { error: error.message });
    res.status(500).json({ error: error.message });
  }
});

// Endpoint para verificar status
router.get('/status/:jobId', requireAuth, tenantRateLimiter, async (req, res) => {
  const job = await campaignQueue.getJob(req.params.jobId);

  if (!job) {
    return res.status(404).json({ error: 'Job not found' });
  }

  const state = await job.getState();
  const progress = job.progress;

  res.json({
    success: true,
    data: {
      jobId: job.id,
      state,
      progress,
      result: job.returnvalue,
    },
  });
});

module.exports = router;
