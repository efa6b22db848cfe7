-- The dashboard shows how many members an organization has. Counting them on
-- every page view cost 1.4 ms at 10,000 members (the benchmark's dashboard
-- spent a third of its time there), so the count is kept on the
-- organization, by statement-level triggers that see all the rows a
-- statement added or removed. They run as the caller, inside the same
-- organization context the membership change itself needs.

alter table organization add column member_count integer not null default 0
    constraint organization_member_count_not_negative check (member_count >= 0);

update organization o
   set member_count = (select count(*) from membership m where m.org_id = o.org_id);

create function app.membership_count_added() returns trigger
    language plpgsql
    as $$
begin
    update organization o set member_count = o.member_count + c.n
      from (select org_id, count(*) as n from added group by org_id) c
     where o.org_id = c.org_id;
    return null;
end
$$;

create function app.membership_count_removed() returns trigger
    language plpgsql
    as $$
begin
    -- When the organization itself is being deleted its row is already gone.
    update organization o set member_count = o.member_count - c.n
      from (select org_id, count(*) as n from removed group by org_id) c
     where o.org_id = c.org_id;
    return null;
end
$$;

create trigger membership_count_added after insert on membership
    referencing new table as added
    for each statement execute function app.membership_count_added();
create trigger membership_count_removed after delete on membership
    referencing old table as removed
    for each statement execute function app.membership_count_removed();
