//! Server functions of the organization settings page (owners only).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {
    super::context::{ctx, member_of, session_error, url_encode, with_status},
    super::navigation::redirect,
    crate::{
        domain::{
            orgs::{self, SettingsRefused},
            session,
        },
        roles::Permission,
        validation::{OrgName, OrgSlug},
    },
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub name: String,
    pub slug: String,
}

#[server(prefix = "/api", endpoint = "settings/get")]
pub async fn get_org_settings(slug: String) -> Result<OrgSettings, AppError> {
    with_status(
        async move {
            let ctx = ctx().await?;
            let (tx, _) = member_of(&ctx, &slug, Permission::ManageOrganization).await?;
            let org = tx.org().clone();
            tx.commit().await?;
            Ok(OrgSettings {
                name: org.name,
                slug: org.slug,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "settings/rename")]
pub async fn rename_org(slug: String, name: String) -> Result<(), AppError> {
    with_status(
        async move {
            let ctx = ctx().await?;
            let (mut tx, _) = member_of(&ctx, &slug, Permission::ManageOrganization).await?;
            let name = OrgName::parse(&name)
                .map_err(|m| AppError::field("name", m).keeping(&[("name", name.as_str())]))?;
            let changed = orgs::rename(&mut tx, &ctx.meta, &name).await?;
            tx.commit().await?;
            let code = if changed { "renamed" } else { "unchanged" };
            redirect(&format!("/o/{slug}/settings?notice={code}"));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "settings/change_slug")]
pub async fn change_org_slug(slug: String, new_slug: String) -> Result<(), AppError> {
    with_status(
        async move {
            let ctx = ctx().await?;
            let (mut tx, _) = member_of(&ctx, &slug, Permission::ManageOrganization).await?;
            let keep = [("new_slug", new_slug.as_str())];
            let parsed = OrgSlug::parse(&new_slug)
                .map_err(|m| AppError::field("new_slug", m).keeping(&keep))?;
            match orgs::change_slug(&mut tx, &ctx.meta, &parsed).await? {
                Ok(changed) => {
                    tx.commit().await?;
                    let code = if changed { "slug_changed" } else { "unchanged" };
                    redirect(&format!(
                        "/o/{}/settings?notice={code}&old={}",
                        parsed.as_str(),
                        url_encode(&slug)
                    ));
                    Ok(())
                }
                Err(_) => Err(AppError::field(
                    "new_slug",
                    "That URL name is taken. Try another one.",
                )
                .keeping(&keep)),
            }
        }
        .await,
    )
}

/// Deletes the organization, once its name has been typed exactly.
#[server(prefix = "/api", endpoint = "settings/delete")]
pub async fn delete_org(slug: String, confirm_name: String) -> Result<(), AppError> {
    with_status(
        async move {
            let ctx = ctx().await?;
            let (mut tx, _) = member_of(&ctx, &slug, Permission::ManageOrganization).await?;
            match orgs::delete(&mut tx, &ctx.meta, &confirm_name).await? {
                Ok(name) => {
                    tx.commit().await?;
                    session::end(&ctx.session).await.map_err(session_error)?;
                    redirect(&format!("/login?deleted={}", url_encode(&name)));
                    Ok(())
                }
                Err(SettingsRefused::NameMismatch) => Err(AppError::field(
                    "confirm_name",
                    "Type the organization's name exactly as shown to confirm.",
                )),
                Err(SettingsRefused::SlugTaken) => Err(AppError::Internal),
            }
        }
        .await,
    )
}
