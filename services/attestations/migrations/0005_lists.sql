-- ListBoardMembers and ListCampaigns for sync and screens (docs/DESIGN.md,
-- "Ids and lists"): an index behind every order they offer, and the time a
-- campaign last changed.

-- Board members, within their entity (the list is an entity's): createTime,
-- updateTime (and updatedSince), name; ties by id. update_time already moves
-- with every change (the service's only UPDATE sets it).
CREATE INDEX board_members_by_create
    ON attestations.board_members (tenant_id, entity_id, create_time, member_id);
CREATE INDEX board_members_by_update
    ON attestations.board_members (tenant_id, entity_id, update_time, member_id);
CREATE INDEX board_members_by_name
    ON attestations.board_members (tenant_id, entity_id, name, member_id);

-- Campaigns: createTime and dueAt, of the tenant and within one entity (the
-- entity filter reads the second kind).
CREATE INDEX campaigns_by_create ON attestations.campaigns (tenant_id, create_time, campaign_id);
CREATE INDEX campaigns_by_due ON attestations.campaigns (tenant_id, due_at, campaign_id);
CREATE INDEX campaigns_of_entity_by_create
    ON attestations.campaigns (tenant_id, entity_id, create_time, campaign_id);
CREATE INDEX campaigns_of_entity_by_due
    ON attestations.campaigns (tenant_id, entity_id, due_at, campaign_id);

-- A campaign row never changes (it is evidence, append-only), but where it
-- stands does: every attestation recorded in it changes its tally and its
-- etag. Its update time lives here, one row per campaign, written by
-- triggers: at the campaign's creation, and by every record appended to it.
-- entity_id is copied so that one entity's campaigns by updateTime is one
-- index range too.
CREATE TABLE attestations.campaign_updates (
    tenant_id   uuid NOT NULL,
    campaign_id uuid NOT NULL,
    entity_id   uuid NOT NULL,
    update_time timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id),
    CONSTRAINT campaign_updates_campaign_fkey FOREIGN KEY (tenant_id, campaign_id)
        REFERENCES attestations.campaigns (tenant_id, campaign_id)
);
CREATE INDEX campaign_updates_by_update
    ON attestations.campaign_updates (tenant_id, update_time, campaign_id);
CREATE INDEX campaign_updates_of_entity_by_update
    ON attestations.campaign_updates (tenant_id, entity_id, update_time, campaign_id);

-- The campaigns recorded before this migration: their creation, or their
-- latest attestation. Row-level security is forced, so the owner running
-- this sees no tenant's rows; it is lifted for this transaction only (the
-- ALTERs lock the tables until it commits, so no one else ever reads
-- without it) and forced again below.
ALTER TABLE attestations.campaigns NO FORCE ROW LEVEL SECURITY;
ALTER TABLE attestations.records NO FORCE ROW LEVEL SECURITY;
INSERT INTO attestations.campaign_updates (tenant_id, campaign_id, entity_id, update_time)
SELECT c.tenant_id, c.campaign_id, c.entity_id,
       GREATEST(c.create_time, (SELECT max(r.recorded_at) FROM attestations.records r
                                 WHERE r.tenant_id = c.tenant_id
                                   AND r.campaign_id = c.campaign_id))
  FROM attestations.campaigns c;
ALTER TABLE attestations.campaigns FORCE ROW LEVEL SECURITY;
ALTER TABLE attestations.records FORCE ROW LEVEL SECURITY;

ALTER TABLE attestations.campaign_updates ENABLE ROW LEVEL SECURITY;
ALTER TABLE attestations.campaign_updates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attestations.campaign_updates
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
-- The triggers run as the service's role: they insert and move the row.
GRANT SELECT, INSERT, UPDATE ON attestations.campaign_updates TO bulwark_attestations;

CREATE FUNCTION attestations.campaign_created() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO attestations.campaign_updates (tenant_id, campaign_id, entity_id, update_time)
    VALUES (NEW.tenant_id, NEW.campaign_id, NEW.entity_id, NEW.create_time);
    RETURN NULL;
END
$$;
CREATE TRIGGER campaigns_created AFTER INSERT ON attestations.campaigns
    FOR EACH ROW EXECUTE FUNCTION attestations.campaign_created();

CREATE FUNCTION attestations.campaign_attested() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE attestations.campaign_updates SET update_time = now()
     WHERE tenant_id = NEW.tenant_id AND campaign_id = NEW.campaign_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_campaign_attested AFTER INSERT ON attestations.records
    FOR EACH ROW EXECUTE FUNCTION attestations.campaign_attested();
