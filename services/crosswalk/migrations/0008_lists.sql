-- ListControls for sync and screens (docs/DESIGN.md, "Ids and lists"): an
-- index behind each order by time it offers, within the entity, ties by ref.
-- The standard's order (the default) joins the shipped requirements for
-- their position; an entity's SoA holds at most 123 rows, so that join is
-- bounded. update_time already moves with every change (PUT and import set
-- it on the rows they change, and only those).
CREATE INDEX soa_controls_by_create ON crosswalk.soa_controls (tenant_id, entity_id, create_time, ref);
CREATE INDEX soa_controls_by_update ON crosswalk.soa_controls (tenant_id, entity_id, update_time, ref);
