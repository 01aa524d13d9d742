// The seed's tenantRateLimiter.js. Changed: rate-limit-redis 4 and later
// export RedisStore by name; the tenant's plan comes from TenantStore
// where the seed queries Supabase; the fallback key of a request without a
// tenant goes through ipKeyGenerator, as express-rate-limit 8 requires
// (never reached here: every request is authenticated first).
const { rateLimit, ipKeyGenerator } = require('express-rate-limit');
const { RedisStore } = require('rate-limit-redis');
const redisClient = require('../utils/redisClient');
const TenantStore = require('../services/TenantStore');
const { logger } = require('../utils/logger');

// Limites por plano
const PLAN_LIMITS = {
  free: { windowMs: 60000, max: 100 },      // 100 req/min
  pro: { windowMs: 60000, max: 500 },       // 500 req/min
  enterprise: { windowMs: 60000, max: 2000 }, // 2000 req/min
};

// Cache de planos por tenant (evita query a cada request)
const tenantPlanCache = new Map();

async function getTenantPlan(tenantId) {
  if (tenantPlanCache.has(tenantId)) {
    return tenantPlanCache.get(tenantId);
  }

  const cacheKey = `tenant:plan:${tenantId}`;
  const cached = await redisClient.get(cacheKey);
  if (cached) {
    tenantPlanCache.set(tenantId, cached);
    return cached;
  }

  const plan = (await TenantStore.planOf(tenantId)) || 'free';
  tenantPlanCache.set(tenantId, plan);
  await redisClient.set(cacheKey, plan, 300); // 5 min cache

  return plan;
}

function createTenantRateLimiter() {
  return rateLimit({
    windowMs: 60000, // 1 minuto
    max: async (req) => {
      const tenantId = req.context?.tenantId;
      if (!tenantId) return 100; // Default para requests sem tenant

      const plan = await getTenantPlan(tenantId);
      return PLAN_LIMITS[plan]?.max || 100;
    },
    keyGenerator: (req) => {
      // Chave única por tenant
      return `tenant:${req.context?.tenantId || ipKeyGenerator(req.ip)}`;
    },
    store: new RedisStore({
      sendCommand: (...args) => redisClient.client.call(...args),
    }),
    standardHeaders: true,
    legacyHeaders: false,
    handler: (req, res) => {
      logger.warn('Rate limit exceeded', {
        tenantId: req.context?.tenantId,
        ip: req.ip,
        path: req.path,
      });

      res.status(429).json({
        error: 'Too many requests',
        code: 'RATE_LIMIT_EXCEEDED',
        retryAfter: Math.ceil(req.rateLimit.resetTime / 1000),
      });
    },
  });
}

module.exports = { createTenantRateLimiter, getTenantPlan };
