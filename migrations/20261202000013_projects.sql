-- Projects: the reference org-owned resource, and the helper that makes a
-- table org-owned in one line.
--
-- A forker's own tables follow the same three steps (docs/adding-a-resource.md):
-- create the table with org_id first_key_column its primary key, add its indexes, and
-- `select app.make_org_owned('the_table');`.

-- ---------------------------------------------------------------------------
-- app.make_org_owned(table): row-level security enabled and forced, the one
-- policy on the org in context, the runtime role's grant, and the trigger
-- that keeps updated_at (when the table has one). It refuses a table whose
-- primary key does not start with org_id, so the isolation rules cannot be
-- half-applied.
-- ---------------------------------------------------------------------------

create function app.make_org_owned(target regclass) returns void
    language plpgsql
    as $$
declare
    bare text := (select c.relname from pg_class c where c.oid = target);
    first_key_column text;
begin
    select a.attname into first_key_column
    from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = target and i.indisprimary;
    if first_key_column is distinct from 'org_id' then
        raise exception 'table % must have a primary key that starts with org_id', target;
    end if;

    execute format('alter table %s enable row level security', target);
    execute format('alter table %s force row level security', target);
    execute format(
        'create policy %I on %s using (org_id = (select app.current_org_id())) '
        'with check (org_id = (select app.current_org_id()))',
        bare || '_in_context', target);
    execute format('grant select, insert, update, delete on %s to app_runtime', target);
    if exists (select 1 from pg_attribute
               where attrelid = target and attname = 'updated_at' and not attisdropped) then
        execute format(
            'create trigger %I before update on %s for each row execute function app.touch_updated_at()',
            bare || '_touch', target);
    end if;
end
$$;

comment on function app.make_org_owned(regclass) is
    'Makes a table org-owned: RLS enabled and forced, the org-context policy, the runtime grant, the updated_at trigger.';

-- Only migrations (app_owner) call it.
revoke all on function app.make_org_owned(regclass) from public;

-- resource: project

create table project (
    org_id      uuid not null references organization (org_id) on delete cascade,
    project_id  uuid not null,
    name        text not null,
    description text not null default '',
    -- Members may change the projects they created; the account may be gone.
    created_by  uuid references app_user (user_id) on delete set null,
    archived_at timestamptz,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint project_pkey primary key (org_id, project_id),
    constraint project_name_shape check (name = btrim(name) and char_length(name) between 1 and 100),
    constraint project_description_length check (char_length(description) <= 2000)
);

-- One name per organization, compared case-insensitively.
create unique index project_name_key on project (org_id, lower(name));
-- The list, newest first (active and archived each walk their own stretch).
create index project_org_recent_idx
    on project (org_id, (archived_at is not null), created_at desc, project_id desc);
-- The home page's recently changed projects.
create index project_org_updated_idx on project (org_id, updated_at desc);

select app.make_org_owned('project');
-- end resource: project
