-- ListIncidents for sync and screens (docs/DESIGN.md, "Ids and lists"): an
-- index behind every order it offers, alone and within one entity (the
-- entity filter reads the second kind, so a page of one entity's incidents
-- never scans the others'). update_time already moves with every change
-- (each appended event rewrites the incident's derived columns).
CREATE INDEX incidents_by_create ON incidents.incidents (tenant_id, create_time, incident_id);
CREATE INDEX incidents_by_update ON incidents.incidents (tenant_id, update_time, incident_id);
CREATE INDEX incidents_by_aware ON incidents.incidents (tenant_id, aware_at, incident_id);
CREATE INDEX incidents_of_entity_by_create
    ON incidents.incidents (tenant_id, entity_id, create_time, incident_id);
CREATE INDEX incidents_of_entity_by_update
    ON incidents.incidents (tenant_id, entity_id, update_time, incident_id);
CREATE INDEX incidents_of_entity_by_aware
    ON incidents.incidents (tenant_id, entity_id, aware_at, incident_id);

-- The list's pages by id, which these replace: the entity's come first in
-- the new ones, and state is a filter on them.
DROP INDEX incidents.incidents_by_entity;
DROP INDEX incidents.incidents_by_state;
