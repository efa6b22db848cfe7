//! Owners and admins hear of every change to their organization's single
//! sign-on: whoever controls the provider and the domains decides who can
//! sign in, so a change made by another admin (or a stolen session) should
//! not go unnoticed.

use crate::domain::{
    mail::{self, enqueue},
    tenancy::OrgTx,
};

/// Mails `change` ("turned single sign-on on", …; read after the actor's
/// name) to every owner and admin of the org, in the caller's transaction.
pub async fn tell_admins(tx: &mut OrgTx, base_url: &str, change: &str) -> Result<(), sqlx::Error> {
    let actor = tx
        .actor()
        .map(|a| format!("{} ({})", a.display_name, a.email))
        .unwrap_or_else(|| "Someone".to_string());
    let Some(org) = tx.org_label().cloned() else {
        return Ok(());
    };
    let recipients = sqlx::query!(
        r#"
        select u.email, u.display_name
        from membership m join app_user u on u.user_id = m.user_id
        where m.org_id = $1 and m.role in ('owner', 'admin')
        order by u.email
        "#,
        tx.org_id().0
    )
    .fetch_all(tx.conn())
    .await?;
    let link = format!("{base_url}/o/{}/sso", org.slug);
    for r in recipients {
        let message = mail::sso_changed(
            &r.email,
            &r.display_name,
            &org.name,
            &actor,
            change,
            link.clone(),
        );
        enqueue(tx.conn(), &message).await?;
    }
    Ok(())
}
