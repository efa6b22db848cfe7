-- Searching the member list by name or email. As the runtime role the search
-- had to read every member of a 10,000-member organization: `ilike` is not
-- leakproof, so under row-level security PostgreSQL may only apply it after
-- app_user's per-row policy (an `exists` over membership, once per member),
-- and never inside an index.
--
-- So the search runs in a function owned by app_lookup, which reads the
-- columns below without per-row policies, and which scopes itself to the
-- organization in context (`m.org_id = app.current_org_id()`; with no org
-- context it finds nobody). Like every lookup function it is callable by
-- app_runtime only; server/tests/isolation.rs proves it never returns
-- another organization's members. Trigram indexes let a search for a rare
-- name or address find its members without reading all of them (pg_trgm is
-- a trusted extension: the database owner may create it).

create extension if not exists pg_trgm;
create index app_user_display_name_trgm_idx on app_user using gin (display_name gin_trgm_ops);
create index app_user_email_trgm_idx on app_user using gin (email gin_trgm_ops);

grant select (org_id, user_id, role, created_at, last_sign_in_at) on membership to app_lookup;
create policy membership_lookup on membership for select to app_lookup using (true);

grant create on schema lookup to app_lookup;
set role app_lookup;

-- A page of the context organization's members whose name or email matches
-- p_pattern (an ILIKE pattern), newest first, strictly after the cursor
-- (p_after_joined, p_after_user) when one is given.
--
-- Two ways to find them. A pattern with at least three characters between
-- its wildcards first asks the trigram indexes for the users it matches
-- (anywhere, at most 1,000): if there are that few, the page is those users'
-- memberships in this org. Otherwise the match is common, and walking the
-- org's members from the newest finds a page of them quickly. (PostgreSQL's
-- row estimates for such patterns are far off, so this is decided here
-- rather than left to the planner.)
create function lookup.members_matching(p_pattern text, p_after_joined timestamptz,
                                        p_after_user uuid, p_limit integer)
    returns table (user_id uuid, display_name text, email text, role text,
                   created_at timestamptz, last_sign_in_at timestamptz)
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    v_org uuid := app.current_org_id();
    v_joined timestamptz := coalesce(p_after_joined, 'infinity');
    v_user uuid := coalesce(p_after_user, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
    v_candidates uuid[];
begin
    if v_org is null then
        return;
    end if;
    if length(p_pattern) >= 5 then
        v_candidates := array(
            select u.user_id from public.app_user u
            where u.display_name ilike p_pattern or u.email ilike p_pattern
            limit 1001);
        if cardinality(v_candidates) <= 1000 then
            return query
                select m.user_id, u.display_name, u.email, m.role, m.created_at, m.last_sign_in_at
                from public.membership m
                join public.app_user u on u.user_id = m.user_id
                where m.org_id = v_org
                  and m.user_id = any (v_candidates)
                  and (m.created_at, m.user_id) < (v_joined, v_user)
                order by m.created_at desc, m.user_id desc
                limit p_limit;
            return;
        end if;
    end if;
    -- The walk. `|| ''` keeps the planner off the trigram indexes, which
    -- it would otherwise pick for a pattern it wrongly thinks rare.
    return query
        select m.user_id, u.display_name, u.email, m.role, m.created_at, m.last_sign_in_at
        from public.membership m
        join public.app_user u on u.user_id = m.user_id
        where m.org_id = v_org
          and (m.created_at, m.user_id) < (v_joined, v_user)
          and ((u.display_name || '') ilike p_pattern or (u.email || '') ilike p_pattern)
        order by m.created_at desc, m.user_id desc
        limit p_limit;
end
$$;

revoke all on function lookup.members_matching(text, timestamptz, uuid, integer) from public;
grant execute on function lookup.members_matching(text, timestamptz, uuid, integer) to app_runtime;

reset role;
revoke create on schema lookup from app_lookup;
