// Stands in for the seed's SupabaseService: the tenants and their API
// keys, kept in Redis (tenant:<id> -> plan_type, apikey:<sha256 hex> ->
// tenant id) by the benchmark. Reached only on a cache miss: the first
// request of a tenant (plan) or once per key cache TTL (auth).
const redisClient = require('../utils/redisClient');

module.exports = {
  planOf: (tenantId) => redisClient.client.hget(`tenant:${tenantId}`, 'plan_type'),
  tenantOfKeyHash: (hash) => redisClient.get(`apikey:${hash}`),
};
