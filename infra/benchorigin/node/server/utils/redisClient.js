// The seed's utils/redisClient: get, set with a TTL in seconds, and the
// ioredis client itself as .client (the rate limiter's store calls it).
const Redis = require('ioredis');
const { connection } = require('../queues/connection');

const client = new Redis(connection);

module.exports = {
  client,
  get: (key) => client.get(key),
  set: (key, value, ttlSeconds) => client.set(key, value, 'EX', ttlSeconds),
};
