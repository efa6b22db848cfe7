//! Server functions of the organization settings page (owners only).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{
        act_in_org_confirmed, in_org, in_org_confirmed, session_error, url_encode, with_ctx,
    },
    super::navigation::redirect,
    crate::{
        domain::{orgs, session},
        roles::Permission,
        validation::{OrgName, OrgSlug},
    },
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub name: String,
    pub slug: String,
    /// Two-step sign-in is required of every member.
    pub mfa_required: bool,
}

#[server(prefix = "/api", endpoint = "settings/get")]
pub async fn get_org_settings(slug: String) -> Result<OrgSettings, AppError> {
    in_org(&slug, Permission::ManageOrganization, async |_, tx| {
        let org = tx.org().clone();
        Ok(OrgSettings {
            name: org.name,
            slug: org.slug,
            mfa_required: orgs::mfa_required(tx).await?,
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "settings/rename")]
pub async fn rename_org(slug: String, name: String) -> Result<(), AppError> {
    in_org(&slug, Permission::ManageOrganization, async |ctx, tx| {
        let name = OrgName::parse(&name)
            .map_err(|m| AppError::field("name", m).keeping(&[("name", name.as_str())]))?;
        let changed = orgs::rename(tx, &ctx.meta, &name).await?;
        let code = if changed { "renamed" } else { "unchanged" };
        redirect(&format!("/o/{slug}/settings?notice={code}"));
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "settings/change_slug")]
pub async fn change_org_slug(slug: String, new_slug: String) -> Result<(), AppError> {
    in_org(&slug, Permission::ManageOrganization, async |ctx, tx| {
        let keep = [("new_slug", new_slug.as_str())];
        let parsed =
            OrgSlug::parse(&new_slug).map_err(|m| AppError::field("new_slug", m).keeping(&keep))?;
        let changed = orgs::change_slug(tx, &ctx.meta, &parsed)
            .await
            .map_err(|e| AppError::from(e).keeping(&keep))?;
        let code = if changed { "slug_changed" } else { "unchanged" };
        redirect(&format!(
            "/o/{}/settings?notice={code}&old={}",
            parsed.as_str(),
            url_encode(&slug)
        ));
        Ok(())
    })
    .await
}

/// Requires two-step sign-in of every member (`required` = "true"), or
/// makes it optional again. Members are told by mail when it is required.
#[server(prefix = "/api", endpoint = "settings/require_mfa")]
pub async fn require_mfa(
    slug: String,
    required: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    let confirm = reauth.as_deref();
    in_org_confirmed(
        &slug,
        Permission::ManageOrganization,
        confirm,
        &[],
        async |ctx, tx| {
            let required = match required.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(AppError::field("required", "Choose on or off.")),
            };
            let current = session::org_session(&ctx.session)
                .await
                .map_err(session_error)?
                .ok_or(AppError::Unauthenticated)?;
            let changed =
                orgs::set_mfa_required(tx, &ctx.meta, ctx.base_url(), required, current.session_id)
                    .await?;
            let code = match (changed, required) {
                (false, _) => "unchanged",
                (true, true) => "mfa_required",
                (true, false) => "mfa_optional",
            };
            redirect(&format!("/o/{slug}/settings?notice={code}"));
            Ok(())
        },
    )
    .await
}

/// Deletes the organization, once its name has been typed exactly.
#[server(prefix = "/api", endpoint = "settings/delete")]
pub async fn delete_org(
    slug: String,
    confirm_name: String,
    reauth: Option<String>,
) -> Result<(), AppError> {
    with_ctx(async move |ctx| {
        let keep = [("confirm_name", confirm_name.as_str())];
        let name = act_in_org_confirmed(
            &ctx,
            &slug,
            Permission::ManageOrganization,
            reauth.as_deref(),
            &keep,
            async |ctx, tx| Ok(orgs::delete(tx, &ctx.meta, &confirm_name).await?),
        )
        .await?;
        // After the commit: the organization is gone, and so is the session.
        session::end(&ctx.session).await.map_err(session_error)?;
        redirect(&format!("/login?deleted={}", url_encode(&name)));
        Ok(())
    })
    .await
}
