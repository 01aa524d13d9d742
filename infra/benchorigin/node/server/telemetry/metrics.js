// The seed's telemetry/metrics.js (Prometheus through prom-client), as
// written there.
const client = require('prom-client');
const { logger } = require('../utils/logger');

// Criar registro
const register = new client.Registry();

// Adicionar métricas padrão (CPU, memória, etc.)
client.collectDefaultMetrics({ register });

// Métricas customizadas
const httpRequestsTotal = new client.Counter({
  name: 'http_requests_total',
  help: 'Total number of HTTP requests',
  labelNames: ['method', 'route', 'status_code', 'tenant_id'],
  registers: [register],
});

const httpRequestDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Duration of HTTP requests in seconds',
  labelNames: ['method', 'route', 'status_code'],
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5],
  registers: [register],
});

const cacheHitsTotal = new client.Counter({
  name: 'redis_cache_hits_total',
  help: 'Total number of Redis cache hits',
  labelNames: ['cache_key'],
  registers: [register],
});

const cacheMissesTotal = new client.Counter({
  name: 'redis_cache_misses_total',
  help: 'Total number of Redis cache misses',
  labelNames: ['cache_key'],
  registers: [register],
});

const activeSessionsGauge = new client.Gauge({
  name: 'active_sessions_total',
  help: 'Number of active sessions',
  registers: [register],
});

const queueJobsGauge = new client.Gauge({
  name: 'queue_jobs_total',
  help: 'Number of jobs in queue',
  labelNames: ['queue_name', 'status'],
  registers: [register],
});

// Middleware para coletar métricas HTTP
function metricsMiddleware(req, res, next) {
  const start = Date.now();

  res.on('finish', () => {
    const duration = (Date.now() - start) / 1000;
    const route = req.route?.path || req.path;
    const tenantId = req.context?.tenantId || 'unknown';

    httpRequestsTotal.inc({
      method: req.method,
      route,
      status_code: res.statusCode,
      tenant_id: tenantId,
    });

    httpRequestDuration.observe({
      method: req.method,
      route,
      status_code: res.statusCode,
    }, duration);
  });

  next();
}

// Endpoint /metrics
async function metricsHandler(req, res) {
  try {
    res.set('Content-Type', register.contentType);
    res.end(await register.metrics());
  } catch (error) {
    logger.error('Error generating metrics', { error: error.message });
    res.status(500).end();
  }
}

module.exports = {
  register,
  metricsMiddleware,
  metricsHandler,
  httpRequestsTotal,
  httpRequestDuration,
  cacheHitsTotal,
  cacheMissesTotal,
  activeSessionsGauge,
  queueJobsGauge,
};
