-- More reasons a session's row is closed: the browser signed in again (its
-- earlier session gives way rather than staying listed until it lapses);
-- the organization's single sign-on changed under the session (it came to
-- require SSO, which the session did not use, or replaced the provider the
-- session signed in through); or the organization came to require
-- two-step sign-in, which the session did not use.
alter table user_session drop constraint user_session_ended_reason_check;
alter table user_session add constraint user_session_ended_reason_check
    check (ended_reason in ('signed_out', 'switched', 'ended_by_user', 'ended_by_admin',
                            'replaced', 'sso_required', 'provider_replaced',
                            'mfa_required'));
