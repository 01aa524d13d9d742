// The seed's utils/logger is not part of its design: one JSON line a call
// on stdout, the least a structured logger does.
function write(level, msg, meta) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...meta }) + '\n');
}

const logger = {
  info: (msg, meta) => write('info', msg, meta),
  warn: (msg, meta) => write('warn', msg, meta),
  error: (msg, meta) => write('error', msg, meta),
};

module.exports = { logger };
