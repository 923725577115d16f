//! Listing and counting runs: the filter, the page position, and the one
//! `WHERE` clause both SQL stores run for it.

use std::fmt::Write;

use super::{RunRecord, RunStatus};

/// Filters for [`Store::list_runs`] and [`Store::count_runs`] (which
/// counts by status, so it ignores `status`, `after` and `limit`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RunFilter {
    pub(crate) status: Option<RunStatus>,
    pub(crate) workflow_type: Option<String>,
    /// Only runs whose workflow id starts with this.
    pub(crate) workflow_id_prefix: Option<String>,
    /// Only runs listed after this one (the end of the page before).
    pub(crate) after: Option<ListPosition>,
    pub(crate) limit: Option<usize>,
}

/// Where a run stands in the list, newest first: its creation time, then
/// the store's own insertion order (SQLite's rowid, PostgreSQL's
/// `created_seq`), so that a page ends at a position the next one starts
/// after, however many runs are created meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListPosition {
    /// Microseconds since the epoch.
    pub(crate) created_at: i64,
    pub(crate) seq: i64,
}

/// A run of a list, with its position.
#[derive(Debug, Clone)]
pub(crate) struct ListedRun {
    pub(crate) run: RunRecord,
    pub(crate) position: ListPosition,
}

/// How many runs have each status (open held runs are counted as running,
/// and again in `held`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunCounts {
    pub(crate) by_status: Vec<(RunStatus, u64)>,
    pub(crate) held: u64,
}

/// The smallest string above every string that starts with `prefix`
/// (`None`: there is none), so that a prefix is an index range on any
/// byte-ordered text: `prefix <= id < prefix_end(prefix)`.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// How a store's SQL spells what [`RunFilter::sql`] needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// The `n`th parameter (from 1): `?1`, `$1`.
    pub(crate) param: fn(usize) -> String,
    /// The column of the insertion order: `rowid`, `created_seq`.
    pub(crate) seq: &'static str,
    /// A workflow id prefix is a range of the byte-ordered index (SQLite),
    /// or `starts_with` (PostgreSQL, whose text order is the database's collation).
    pub(crate) byte_ordered_text: bool,
}

/// What a statement built by [`RunFilter::sql`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A page of runs.
    List,
    /// The runs of each status (`runs_by_status` answers it without the table).
    Count,
    /// The held runs of each status (`runs_held`, a partial index, holds them).
    Held,
}

impl Shape {
    /// The statement of a count: `(status, count)` rows, in the order
    /// [`RunCounts::add_row`] takes them.
    pub(crate) fn count_statement(self, clause: &str) -> String {
        format!("SELECT status, count(*) FROM runs{clause} GROUP BY status")
    }
}

/// The tables whose rows belong to one run (`run_id`), deleted with it;
/// `runs` itself last.
pub(crate) const RUN_TABLES: [&str; 6] = ["events", "inbox", "activity_tasks", "timers", "replies", "run_parents"];

/// The statement that picks up to `limit` runs closed before `before` for
/// deletion: through `runs_by_status` (a run closes after it is created, so
/// `created_at < before` bounds the index range), with the parameters
/// `before` then `limit` in `dialect`'s form.
pub(crate) fn expired_runs_sql(dialect: Dialect) -> String {
    let closed: Vec<String> =
        RunStatus::ALL.iter().filter(|s| **s != RunStatus::Running).map(|s| format!("'{}'", s.as_str())).collect();
    format!(
        "SELECT run_id FROM runs WHERE status IN ({}) AND created_at < {p1} AND closed_at < {p1} LIMIT {p2}",
        closed.join(", "),
        p1 = (dialect.param)(1),
        p2 = (dialect.param)(2),
    )
}

/// A parameter of [`RunFilter::sql`]'s clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlValue {
    Text(String),
    Int(i64),
}

impl RunFilter {
    /// The clause after `FROM runs` of a `shape` statement (a list's with
    /// its `ORDER BY` and `LIMIT`; a count's with the filters on type and id
    /// prefix only), with its parameters in order. Only the filters given
    /// are written, so the planner sees each query shape as it is and can
    /// use the `created_at` index for the page position.
    pub(crate) fn sql(&self, dialect: Dialect, shape: Shape) -> (String, Vec<SqlValue>) {
        let mut sql = String::new();
        let mut params = Vec::new();
        let mut param = |value: SqlValue| {
            params.push(value);
            (dialect.param)(params.len())
        };
        let and = |sql: &mut String, condition: String| {
            sql.push_str(if sql.is_empty() { " WHERE " } else { " AND " });
            sql.push_str(&condition);
        };
        let counting = shape != Shape::List;
        if let (Some(status), false) = (self.status, counting) {
            let p = param(SqlValue::Text(status.as_str().to_owned()));
            and(&mut sql, format!("status = {p}"));
        }
        if let Some(workflow_type) = &self.workflow_type {
            let p = param(SqlValue::Text(workflow_type.clone()));
            and(&mut sql, format!("workflow_type = {p}"));
        }
        if let Some(prefix) = self.workflow_id_prefix.as_deref().filter(|p| !p.is_empty()) {
            let from = param(SqlValue::Text(prefix.to_owned()));
            if !dialect.byte_ordered_text {
                and(&mut sql, format!("starts_with(workflow_id, {from})"));
            } else if let Some(end) = prefix_end(prefix) {
                let to = param(SqlValue::Text(end));
                and(&mut sql, format!("workflow_id >= {from} AND workflow_id < {to}"));
            } else {
                and(&mut sql, format!("workflow_id >= {from}"));
            }
        }
        if shape == Shape::Held {
            and(&mut sql, "held IS NOT NULL".to_owned());
        }
        if counting {
            return (sql, params);
        }
        if let Some(after) = self.after {
            let at = param(SqlValue::Int(after.created_at));
            let seq = param(SqlValue::Int(after.seq));
            and(&mut sql, format!("created_at <= {at} AND (created_at < {at} OR {} < {seq})", dialect.seq));
        }
        let _ = write!(sql, " ORDER BY created_at DESC, {} DESC", dialect.seq);
        if let Some(limit) = self.limit {
            let p = param(SqlValue::Int(limit.min(i64::MAX as usize) as i64));
            let _ = write!(sql, " LIMIT {p}");
        }
        (sql, params)
    }
}

impl RunCounts {
    /// Adds a row of a [`Shape::Count`] or [`Shape::Held`] statement.
    pub(crate) fn add_row(&mut self, shape: Shape, status: &str, count: i64) -> crate::Result<()> {
        let status = RunStatus::parse(status)
            .ok_or_else(|| crate::Error::store(format!("a run has unknown status {status:?}")))?;
        let count = u64::try_from(count).map_err(crate::Error::store)?;
        match (shape, self.by_status.iter_mut().find(|(s, _)| *s == status)) {
            (Shape::Held, _) => self.held += count,
            (_, Some((_, n))) => *n += count,
            (_, None) => self.by_status.push((status, count)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_the_next_string_of_its_length() {
        assert_eq!(prefix_end("order-").as_deref(), Some("order."));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        for id in ["order-", "order-1", "order-\u{10FFFF}\u{10FFFF}", "order-zzzz"] {
            assert!(id >= "order-" && id < prefix_end("order-").unwrap().as_str(), "{id}");
        }
        assert!("order." >= prefix_end("order-").unwrap().as_str());
    }

    #[test]
    fn only_the_filters_given_are_written() {
        let sqlite = Dialect { param: |n| format!("?{n}"), seq: "rowid", byte_ordered_text: true };
        assert_eq!(RunFilter::default().sql(sqlite, Shape::List).0, " ORDER BY created_at DESC, rowid DESC");
        let filter = RunFilter {
            status: Some(RunStatus::Failed),
            workflow_id_prefix: Some("o-".into()),
            after: Some(ListPosition { created_at: 5, seq: 7 }),
            limit: Some(50),
            ..RunFilter::default()
        };
        let (sql, params) = filter.sql(sqlite, Shape::List);
        assert_eq!(
            sql,
            " WHERE status = ?1 AND workflow_id >= ?2 AND workflow_id < ?3 AND created_at <= ?4 \
             AND (created_at < ?4 OR rowid < ?5) ORDER BY created_at DESC, rowid DESC LIMIT ?6"
        );
        assert_eq!(params.len(), 6);
        let (sql, params) = filter.sql(sqlite, Shape::Count);
        assert_eq!((sql.as_str(), params.len()), (" WHERE workflow_id >= ?1 AND workflow_id < ?2", 2));
        let (sql, params) = filter.sql(sqlite, Shape::Held);
        assert_eq!(
            (sql.as_str(), params.len()),
            (" WHERE workflow_id >= ?1 AND workflow_id < ?2 AND held IS NOT NULL", 2)
        );
        assert_eq!(RunFilter::default().sql(sqlite, Shape::Held).0, " WHERE held IS NOT NULL");
    }
}
