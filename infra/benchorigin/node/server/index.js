// The API process: the seed's Express app with its metrics middleware, the
// bulk campaign routes (requireAuth, the tenant rate limiter, BullMQ), a
// /health and the /metrics endpoint, on 127.0.0.1:PORT. Left out of the
// seed's server: OpenTelemetry (its exporter needs a collector; the
// product is measured with tracing off) and the compression middleware
// (its threshold is 1 KB, above every answer measured).
const express = require('express');
const { metricsMiddleware, metricsHandler } = require('./telemetry/metrics');
const bulkCampaignRoutes = require('./routes/bulkCampaignRoutes');
const { logger } = require('./utils/logger');

const app = express();
app.use(metricsMiddleware);
app.use(express.json({ limit: '10mb' }));
app.get('/health', (req, res) => res.json({ ok: true }));
app.get('/metrics', metricsHandler);
app.use('/api/bulk-campaigns', bulkCampaignRoutes);

const server = app.listen(parseInt(process.env.PORT) || 3000, '127.0.0.1', () => {
  logger.info('ready', { port: server.address().port });
});
