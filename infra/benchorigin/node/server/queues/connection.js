// The seed's connection options (queues/index.js), in a module of their
// own so that the worker process does not create the queues.
module.exports = {
  connection: {
    host: process.env.REDIS_HOST || 'localhost',
    port: parseInt(process.env.REDIS_PORT) || 6379,
    password: process.env.REDIS_PASSWORD,
  },
};
