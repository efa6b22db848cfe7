-- Deleting an organization removes its audit log with it, so the deletion
-- itself is recorded here, outside the organization: which one, who deleted
-- it, when and from where. The table is not org-owned (its organization no
-- longer exists), so it has no org_id column and no row-level security; the
-- runtime role may only add rows, never read, change or remove them. It is
-- the operator's record, read with a maintenance or owner connection.

create table deleted_organization (
    deleted_org_id  uuid primary key,
    slug            text not null,
    name            text not null,
    deleted_at      timestamptz not null default now(),
    actor_user_id   uuid,
    actor_email     text,
    ip_address      inet,
    user_agent      text,
    -- What went with it (member and audit event counts).
    details         jsonb not null default '{}'::jsonb
);

create function app.deleted_organization_append_only() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'deleted_organization is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger deleted_organization_append_only before update or delete on deleted_organization
    for each row execute function app.deleted_organization_append_only();
create trigger deleted_organization_no_truncate before truncate on deleted_organization
    for each statement execute function app.deleted_organization_append_only();

revoke all on deleted_organization from public;
grant insert on deleted_organization to app_runtime;
