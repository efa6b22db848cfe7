-- A person sees the single sign-on identities linked to their account (the
-- account page lists them, with their organization and provider): their
-- own only, only reading, and only in their own user scope (no
-- organization in context). Linking and unlinking stay with the sign-in
-- flow and the organization's admins.
create policy sso_identity_own on sso_identity for select
    using ((select app.current_org_id()) is null and user_id = (select app.current_user_id()));
