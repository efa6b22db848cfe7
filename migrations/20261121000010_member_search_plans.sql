-- Member transactions reuse one generic plan per prepared statement (see
-- Tenant::begin in app/src/domain/tenancy.rs): under row-level security,
-- planning a page's query cost more than running it. The member search is
-- the exception: its plans depend on the pattern (the walk of the newest
-- members must not be traded for a trigram scan planned for "any pattern"),
-- so its statements are planned for the pattern they are given.
set role app_lookup;
alter function lookup.members_matching(text, timestamptz, uuid, integer)
    set plan_cache_mode = force_custom_plan;
reset role;
