//! Reading the audit log: filtered, newest first, in keyset pages; and the
//! same rows as a stream for the CSV export.

use super::tenancy::OrgTx;
use crate::audit::{ActionGroup, AuditAction};
use futures::Stream;
use time::OffsetDateTime;
use uuid::Uuid;

/// What the viewer asked for. Every part is optional and they combine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub group: Option<ActionGroup>,
    /// The actor's whole email address, or part of their email or name;
    /// case-insensitive.
    pub actor: Option<String>,
    /// Inclusive lower bound.
    pub from: Option<OffsetDateTime>,
    /// Exclusive upper bound.
    pub to: Option<OffsetDateTime>,
}

/// Where a page starts: strictly older than this event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: OffsetDateTime,
    pub id: Uuid,
}

impl Cursor {
    /// `{unix-microseconds}.{uuid}` for URLs.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.occurred_at.unix_timestamp_nanos() / 1000,
            self.id.simple()
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('.')?;
        Some(Self {
            occurred_at: super::members::time_from_micros(micros)?,
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub audit_event_id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub actor_user_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

impl EventRow {
    /// "Adam Admin changed a member's role", or the code for an action this
    /// version does not know.
    pub fn sentence(&self) -> String {
        let who = self
            .actor_name
            .clone()
            .or_else(|| self.actor_email.clone())
            .unwrap_or_else(|| "The system".to_string());
        match AuditAction::from_code(&self.action) {
            Some(action) => format!("{who} {}", action.sentence()),
            None => format!("{who}: {}", self.action),
        }
    }
}

// The event columns and the conditions every read shares. A NULL
// parameter switches its condition off: $1 org, $3 actor pattern, $4 from,
// $5 to, $6/$7 cursor, $8 exact actor email.
macro_rules! events_where {
    ($action:literal) => {
        concat!(
            r#"
    select audit_event_id, occurred_at, actor_user_id, actor_email, actor_name, action,
           target_type, target_id, target_label, host(ip_address) as ip_address, user_agent, details
    from audit_event
    where org_id = $1 and "#,
            $action,
            r#"
      and ($3::text is null or lower(actor_email) like $3 or lower(actor_name) like $3)
      and ($8::text is null or actor_email_key = $8)
      and ($4::timestamptz is null or occurred_at >= $4)
      and ($5::timestamptz is null or occurred_at < $5)
      and ($6::timestamptz is null or (occurred_at, audit_event_id) < ($6, $7))
    order by occurred_at desc, audit_event_id desc
"#
        )
    };
}

/// Every matching event, for the export; action groups are lists of codes.
const SELECT: &str = events_where!("($2::text[] is null or action = any($2))");

/// One page of a kind of event: PostgreSQL 15 cannot read an index in order
/// for `action = any(…)`, so each code's newest events come from their own
/// ordered stretch of the (org_id, action, occurred_at) index, at most a
/// page each, and are merged.
const PAGE_BY_ACTION: &str = concat!(
    "select e.* from unnest($2::text[]) as wanted(code) cross join lateral (",
    events_where!("action = wanted.code"),
    " limit $9) e order by e.occurred_at desc, e.audit_event_id desc limit $9"
);

fn like_pattern(text: &str) -> String {
    format!("%{}%", super::db::escape_like(&text.trim().to_lowercase()))
}

/// The actor filter: a whole email address is matched exactly (through the
/// (org_id, actor_email_key, occurred_at) index, fast at any size); any
/// other text matches part of a name or email, which reads the log from the
/// newest event until a page is full.
fn actor_condition(actor: Option<&str>) -> (Option<String>, Option<String>) {
    match actor.map(str::trim).filter(|a| !a.is_empty()) {
        None => (None, None),
        Some(a) => match crate::validation::Email::parse(a) {
            Ok(email) => (None, Some(email.as_str().to_lowercase())),
            Err(_) => (Some(like_pattern(a)), None),
        },
    }
}

fn query<'q>(
    sql: &'q str,
    org_id: Uuid,
    filter: &Filter,
    after: Option<Cursor>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, EventRow, sqlx::postgres::PgArguments> {
    let (pattern, exact) = actor_condition(filter.actor.as_deref());
    sqlx::query_as::<_, EventRow>(sql)
        .bind(org_id)
        .bind(filter.group.map(|g| g.codes()))
        .bind(pattern)
        .bind(filter.from)
        .bind(filter.to)
        .bind(after.map(|c| c.occurred_at))
        .bind(after.map(|c| c.id))
        .bind(exact)
}

/// One page, newest first, and the cursor of the next (older) page if any.
pub async fn page(
    tx: &mut OrgTx,
    filter: &Filter,
    after: Option<Cursor>,
    size: usize,
) -> Result<(Vec<EventRow>, Option<Cursor>), sqlx::Error> {
    // A plan cached for "no actor filter" would read a million rows for a
    // rare actor.
    tx.plan_for_these_parameters().await?;
    let org_id = tx.org_id().0;
    let limit = size as i64 + 1;
    let mut rows = match filter.group {
        Some(_) => {
            query(PAGE_BY_ACTION, org_id, filter, after)
                .bind(limit)
                .fetch_all(tx.conn())
                .await?
        }
        None => {
            let sql = format!("{SELECT} limit {limit}");
            query(&sql, org_id, filter, after)
                .fetch_all(tx.conn())
                .await?
        }
    };
    let next = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(|r| Cursor {
            occurred_at: r.occurred_at,
            id: r.audit_event_id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

/// Every matching event, newest first, as a stream (rows are read from the
/// database as the stream is polled, not gathered first). Planned, like
/// [`page`], for the filter given.
pub async fn stream<'t>(
    tx: &'t mut OrgTx,
    filter: &'t Filter,
) -> Result<impl Stream<Item = Result<EventRow, sqlx::Error>> + 't, sqlx::Error> {
    tx.plan_for_these_parameters().await?;
    let org_id = tx.org_id().0;
    Ok(query(SELECT, org_id, filter, None).fetch(tx.conn()))
}

/// Runs the retention purge (`maintenance.purge_expired_audit_events`, the
/// only path that removes audit events): returns how many events went, in
/// how many organizations. Each organization's log records its own purge.
pub async fn purge_expired(db: &super::db::Db) -> Result<(usize, i64), sqlx::Error> {
    let rows: Vec<(Uuid, i64)> =
        sqlx::query_as("select org_id, removed from maintenance.purge_expired_audit_events()")
            .fetch_all(db.pool())
            .await?;
    Ok((rows.len(), rows.iter().map(|(_, n)| n).sum()))
}

/// The CSV columns, in order (documented in docs/admin-console.md).
pub const CSV_COLUMNS: &[&str] = &[
    "occurred_at",
    "actor_name",
    "actor_email",
    "actor_user_id",
    "action",
    "description",
    "target_type",
    "target_label",
    "target_id",
    "ip_address",
    "user_agent",
    "details",
];

/// One CSV record (RFC 4180), ending in CRLF.
pub fn csv_record(fields: &[&str]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&csv_field(field));
    }
    line.push_str("\r\n");
    line
}

/// Quotes every field, and defuses spreadsheet formulas: a trigger
/// (= + - @) at the start of the field, or right after a character a
/// spreadsheet may split cells on (comma, semicolon, tab, line break), gets
/// an apostrophe in front, so whichever separator the program guesses, no
/// cell starts with a formula.
pub fn csv_field(value: &str) -> String {
    const TRIGGERS: [char; 4] = ['=', '+', '-', '@'];
    const SEPARATORS: [char; 5] = [',', ';', '\t', '\n', '\r'];
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut at_cell_start = true;
    for c in value.chars() {
        if at_cell_start && TRIGGERS.contains(&c) {
            out.push('\'');
        }
        if c == '"' {
            out.push('"');
        }
        out.push(c);
        at_cell_start = SEPARATORS.contains(&c);
    }
    out.push('"');
    out
}

/// The CSV record of one event.
pub fn csv_row(row: &EventRow) -> String {
    let at = row
        .occurred_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let user_id = row.actor_user_id.map(|u| u.to_string()).unwrap_or_default();
    let description = row.sentence();
    let details = row.details.to_string();
    csv_record(&[
        &at,
        row.actor_name.as_deref().unwrap_or_default(),
        row.actor_email.as_deref().unwrap_or_default(),
        &user_id,
        &row.action,
        &description,
        row.target_type.as_deref().unwrap_or_default(),
        row.target_label.as_deref().unwrap_or_default(),
        row.target_id.as_deref().unwrap_or_default(),
        row.ip_address.as_deref().unwrap_or_default(),
        row.user_agent.as_deref().unwrap_or_default(),
        &details,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused_after_any_separator() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("x;=1"), "\"x;'=1\"");
        assert_eq!(csv_field("x,+1\t@2\n-3"), "\"x,'+1\t'@2\n'-3\"");
        assert_eq!(csv_field("a-b=c"), "\"a-b=c\"");
        assert_eq!(csv_record(&["a", "b,c"]), "\"a\",\"b,c\"\r\n");
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            occurred_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("nonsense"), None);
    }

    #[test]
    fn actor_patterns_escape_like_wildcards() {
        assert_eq!(like_pattern(" Ad%am_ "), "%ad\\%am\\_%");
    }
}
