-- The audit view's "by actor's email" filter as an index range. Under
-- row-level security PostgreSQL only uses leakproof operators and functions
-- for index conditions ahead of the policy, and lower() is not leakproof, so
-- an index on lower(actor_email) went unused for the runtime role (the
-- benchmark saw a rare actor's page take seconds in a million events). A
-- stored lower-case copy compared with plain text equality is usable.
alter table audit_event
    add column actor_email_key text generated always as (lower(actor_email)) stored;

drop index audit_event_org_actor_time_idx;
create index audit_event_org_actor_time_idx
    on audit_event (org_id, actor_email_key, occurred_at desc, audit_event_id desc);
