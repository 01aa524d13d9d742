-- +goose Up
-- A send's mark writes sent_at, so it wrote an entry to the instance's sends
-- index and, for a first message to a new contact, one more to the delivery
-- guard's index of first messages. One index serves both: the instance's
-- sends keyed by whether each was a first message. The guard reads its
-- instance's new contacts as one range (instance, true) in sent_at order,
-- however few of the instance's sends they are; the health answer's last
-- sends of an instance, whatever the contact, merge the ranges true, false
-- and NULL (claimed before migration 00100), each read newest first and cut
-- at the answer's count.
DROP INDEX campaign_recipients_new_sent_idx;
DROP INDEX campaign_recipients_instance_sent_idx;
CREATE INDEX campaign_recipients_instance_sent_idx ON campaign_recipients (instance_id, new_contact, sent_at DESC)
    WHERE sent_at IS NOT NULL;

-- +goose Down
DROP INDEX campaign_recipients_instance_sent_idx;
CREATE INDEX campaign_recipients_instance_sent_idx ON campaign_recipients (instance_id, sent_at DESC)
    WHERE sent_at IS NOT NULL;
CREATE INDEX campaign_recipients_new_sent_idx ON campaign_recipients (instance_id, sent_at DESC)
    WHERE new_contact AND sent_at IS NOT NULL;
