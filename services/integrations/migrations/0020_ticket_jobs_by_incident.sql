-- An inbound ticket event that names the Bulwark incident it was opened for
-- (a Jira description's "Bulwark incident <id>", ServiceNow's
-- correlation_id) is linked to that incident only when Bulwark has a ticket
-- job for the incident on the connection and the incident has no ticket
-- there yet (inbound.c). Without the check a cloned Jira issue, whose
-- description names the incident of the issue it was cloned from, broke
-- ticket_links' UNIQUE (tenant_id, connection_id, incident_id) and was
-- answered 409 at every event, and any issue naming any incident's id took
-- that incident over. This index finds an incident's jobs on a connection,
-- whatever their state (ticket_jobs_pending_by_incident holds only the
-- pending ones, and Jira's webhook may come after the job is done).
CREATE INDEX ticket_jobs_by_incident
    ON integrations.ticket_jobs (tenant_id, connection_id, incident_id);
