-- The runtime role writes password hashes (sign-up, reset) but never reads
-- them back: only the sign-in look-up function (security definer, as
-- app_lookup) does. A query that selects the column, or `select *`, from a
-- server-side bug or an injection, fails with "permission denied".

-- What the application needs to know without reading the hash.
alter table app_user
    add column has_password boolean generated always as (password_hash is not null) stored;

revoke select on app_user from app_runtime;

-- Every other column stays readable. A column added by a later migration is
-- not readable by the runtime role until that migration grants it.
do $$
declare
    readable text;
begin
    select string_agg(quote_ident(attname), ', ' order by attnum)
      into readable
      from pg_attribute
     where attrelid = 'public.app_user'::regclass
       and attnum > 0
       and not attisdropped
       and attname <> 'password_hash';
    execute format('grant select (%s) on public.app_user to app_runtime', readable);
end
$$;
