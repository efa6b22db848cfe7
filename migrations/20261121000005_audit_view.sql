-- The audit view: filter indexes, per-organization retention, and the one
-- path that may remove audit events.
--
--   app_maintenance  cannot log in. Owns maintenance.purge_expired_audit_events(),
--                    the only code that can delete audit events (other than
--                    deleting a whole organization): events older than the
--                    organization's chosen retention, recording each removal
--                    as an event of its own.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_maintenance') then
        raise exception 'role app_maintenance must exist: run db/roles.sql as a superuser first';
    end if;
end
$$;

-- The actor's name as it was, next to their email.
alter table audit_event add column actor_name text;

-- Owners choose how long events are kept; null keeps them forever.
alter table organization add column audit_retention_days integer
    constraint organization_audit_retention_range check (audit_retention_days between 1 and 3650);

-- Filters: by action (the view's groups are lists of actions) and by actor,
-- each newest first, so a filtered page reads a short stretch of one index.
create index audit_event_org_action_time_idx
    on audit_event (org_id, action, occurred_at desc, audit_event_id desc);
create index audit_event_org_actor_time_idx
    on audit_event (org_id, lower(actor_email), occurred_at desc, audit_event_id desc);

-- Append-only, except for the cascade of deleting an organization (see the
-- foundation migration) and for the retention purge, which runs as
-- app_maintenance inside its SECURITY DEFINER function.
create or replace function app.audit_event_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'DELETE'
       and old.org_id = nullif(current_setting('app.deleting_org_id', true), '')::uuid then
        return old;
    end if;
    if tg_op = 'DELETE' and current_user = 'app_maintenance' then
        return old;
    end if;
    raise exception 'audit_event is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create schema maintenance;
grant usage on schema maintenance to app_runtime, app_maintenance;
grant usage on schema app to app_maintenance;
grant select (org_id, audit_retention_days) on organization to app_maintenance;
grant select (org_id, audit_event_id, occurred_at), delete, insert on audit_event to app_maintenance;
create policy organization_maintenance on organization for select to app_maintenance using (true);
create policy audit_event_maintenance_read on audit_event for select to app_maintenance using (true);
create policy audit_event_maintenance_purge on audit_event for delete to app_maintenance using (true);
create policy audit_event_maintenance_record on audit_event for insert to app_maintenance
    with check (action = 'audit.purged');

-- Removes, in every organization with a retention, the events older than
-- it, and records in that organization how many went and up to when.
-- Returns one row per organization that lost events.
create function maintenance.purge_expired_audit_events()
    returns table (org_id uuid, removed bigint)
    language plpgsql security definer
    set search_path = pg_catalog, public
    as $$
declare
    org record;
    cutoff timestamptz;
    n bigint;
begin
    for org in
        select o.org_id, o.audit_retention_days from organization o where o.audit_retention_days is not null
    loop
        cutoff := now() - make_interval(days => org.audit_retention_days);
        delete from audit_event a where a.org_id = org.org_id and a.occurred_at < cutoff;
        get diagnostics n = row_count;
        if n > 0 then
            insert into audit_event (org_id, audit_event_id, action, details)
            values (org.org_id, gen_random_uuid(), 'audit.purged',
                    jsonb_build_object('removed', n, 'before', cutoff,
                                       'retention_days', org.audit_retention_days));
            purge_expired_audit_events.org_id := org.org_id;
            removed := n;
            return next;
        end if;
    end loop;
end
$$;
revoke all on function maintenance.purge_expired_audit_events() from public;
grant execute on function maintenance.purge_expired_audit_events() to app_runtime, app_maintenance;
-- A function's owner needs CREATE on its schema; app_maintenance cannot log
-- in, so only this function ever runs as it. Grants first: after the owner
-- changes, app_owner can no longer grant on it.
grant create on schema maintenance to app_maintenance;
alter function maintenance.purge_expired_audit_events() owner to app_maintenance;
