// requireAuth, which the seed uses and leaves undefined, as the product's
// API authenticates: "Authorization: Bearer <key>", the key's SHA-256
// looked up (TenantStore) and remembered in-process for 5 seconds, then
// req.context.tenantId set; 401 without a known key.
const crypto = require('node:crypto');
const TenantStore = require('../services/TenantStore');

const TTL_MS = 5000;
const keys = new Map(); // sha256 hex -> { tenantId, expires }

async function requireAuth(req, res, next) {
  const header = req.headers.authorization || '';
  const [scheme, key] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !key) {
    return res.status(401).json({ error: 'Unauthorized' });
  }
  const hash = crypto.createHash('sha256').update(key).digest('hex');
  const now = Date.now();
  let entry = keys.get(hash);
  if (!entry || entry.expires <= now) {
    const tenantId = await TenantStore.tenantOfKeyHash(hash);
    if (!tenantId) {
      return res.status(401).json({ error: 'Unauthorized' });
    }
    entry = { tenantId, expires: now + TTL_MS };
    keys.set(hash, entry);
  }
  req.context = { tenantId: entry.tenantId };
  next();
}

module.exports = { requireAuth };
