-- The four cluster roles of the application (see migrations/*_foundation.sql
-- and docs/isolation.md). Idempotent; run as a superuser (or a
-- role with CREATEROLE) once per PostgreSQL cluster, before any migration.
--
-- Passwords are not set here. Local development uses trust authentication on
-- loopback; elsewhere set them afterwards, e.g.
--   alter role app_owner password '…'; alter role app_runtime password '…';

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_owner') then
        create role app_owner;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'app_runtime') then
        create role app_runtime;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'app_lookup') then
        create role app_lookup;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'app_maintenance') then
        create role app_maintenance;
    end if;
end
$$;

-- Owns the schema and runs migrations. NOINHERIT: it may hand function
-- ownership to app_lookup, but does not gain app_lookup's read policies.
alter role app_owner   login noinherit nosuperuser nocreatedb nocreaterole nobypassrls;
-- The server's pool. Never an owner, never above row-level security.
alter role app_runtime login inherit nosuperuser nocreatedb nocreaterole nobypassrls;
-- Owner of the pre-context look-up functions; nobody logs in as it.
alter role app_lookup  nologin noinherit nosuperuser nocreatedb nocreaterole nobypassrls;
alter role app_maintenance nologin noinherit nosuperuser nocreatedb nocreaterole nobypassrls;

grant app_lookup to app_owner;
grant app_maintenance to app_owner;
