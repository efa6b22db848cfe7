-- Searching the member list by name or email. As the runtime role the search
-- read every member of a 10,000-member organization and took 55 ms of
-- database time: `ilike` is not leakproof, so PostgreSQL may only apply it
-- after app_user's row-level policy, whose `exists` over membership then ran
-- once per member. (Without RLS the same search is several times faster.)
--
-- This function runs the search as app_lookup, which reads the columns below
-- without per-row policies, and scopes it itself to the organization in
-- context: `m.org_id = app.current_org_id()`. With no org context it returns
-- nothing. Like every lookup function it is owned by app_lookup and callable
-- by app_runtime only; server/tests/isolation.rs proves it never returns
-- another organization's members.

grant select (org_id, user_id, role, created_at, last_sign_in_at) on membership to app_lookup;
create policy membership_lookup on membership for select to app_lookup using (true);

grant create on schema lookup to app_lookup;
set role app_lookup;

-- A page of the context organization's members whose name or email matches
-- p_pattern (an ILIKE pattern), newest first, strictly after the cursor
-- (p_after_joined, p_after_user) when one is given.
create function lookup.members_matching(p_pattern text, p_after_joined timestamptz,
                                        p_after_user uuid, p_limit integer)
    returns table (user_id uuid, display_name text, email text, role text,
                   created_at timestamptz, last_sign_in_at timestamptz)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select m.user_id, u.display_name, u.email, m.role, m.created_at, m.last_sign_in_at
        from public.membership m
        join public.app_user u on u.user_id = m.user_id
        where m.org_id = (select app.current_org_id())
          and (m.created_at, m.user_id)
              < (coalesce(p_after_joined, 'infinity'),
                 coalesce(p_after_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
          and (u.display_name ilike p_pattern or u.email ilike p_pattern)
        order by m.created_at desc, m.user_id desc
        limit p_limit
    $$;

revoke all on function lookup.members_matching(text, timestamptz, uuid, integer) from public;
grant execute on function lookup.members_matching(text, timestamptz, uuid, integer) to app_runtime;

reset role;
revoke create on schema lookup from app_lookup;
