-- name: skip-opted-out-inline
-- Inline recipients whose phone opted out, with or without a contact left.
UPDATE campaign_recipients r SET status = 'skipped', skip_reason = 'opted_out'
FROM opt_outs o
WHERE r.campaign_id = $1 AND o.tenant_id = $2 AND o.phone = r.phone AND r.status <> 'skipped';
