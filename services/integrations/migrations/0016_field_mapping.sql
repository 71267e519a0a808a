-- A connection's field mapping (issue 11, item 5: "awareAt from
-- fields.created unless a mapped custom field says otherwise"): the Jira
-- field or ServiceNow column an incident made from a ticket takes its
-- awareAt from. Empty: the ticket's creation time, as before. A column
-- with a constant default: no table rewrite.
ALTER TABLE integrations.connections
    ADD COLUMN aware_at_field text NOT NULL DEFAULT ''
        CHECK (aware_at_field ~ '^[A-Za-z0-9_]{0,100}$');
