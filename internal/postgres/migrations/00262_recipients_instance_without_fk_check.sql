-- +goose Up
-- A claim writes the sending instance to its recipient (NULL, or a pool's
-- earlier choice, to the instance), and a foreign key then checks the
-- instance on every claim: a query of its own and a row lock (FOR KEY
-- SHARE, a WAL record) on the instance, once a send. Every instance_id
-- written comes from the instances row read in the same statement (the
-- claim's job, the pool's members), and instances are deleted only with
-- their tenant; so the check goes, and what the key did on a delete (SET
-- NULL) is a trigger on instances.
ALTER TABLE campaign_recipients DROP CONSTRAINT campaign_recipients_instance_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION forget_deleted_instance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_recipients SET instance_id = NULL WHERE instance_id = OLD.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER instances_forget_recipients AFTER DELETE ON instances
    FOR EACH ROW EXECUTE FUNCTION forget_deleted_instance();

-- +goose Down
DROP TRIGGER instances_forget_recipients ON instances;
DROP FUNCTION forget_deleted_instance();
UPDATE campaign_recipients r SET instance_id = NULL
WHERE r.instance_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = r.instance_id);
ALTER TABLE campaign_recipients ADD CONSTRAINT campaign_recipients_instance_id_fkey
    FOREIGN KEY (instance_id) REFERENCES instances (id) ON DELETE SET NULL;
