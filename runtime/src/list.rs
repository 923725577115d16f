//! Listing runs: the filter, pages and their tokens, and counts by status.

use std::fmt;
use std::str::FromStr;

use crate::description::WorkflowDescription;
use crate::store::{ListPosition, RunStatus};
use crate::{Error, Result};

/// Which runs [`Client::list_workflows`](crate::Client::list_workflows) returns.
///
/// ```
/// # use weft::{ListFilter, RunStatus};
/// let failed_orders = ListFilter::all().status(RunStatus::Failed).workflow_id_prefix("order-").limit(50);
/// # let _ = failed_orders;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs of this workflow type.
    pub workflow_type: Option<String>,
    /// Only runs whose workflow id starts with this.
    pub workflow_id_prefix: Option<String>,
    /// Only runs after the page this token ends.
    pub page_token: Option<PageToken>,
    /// At most this many runs.
    pub limit: Option<usize>,
}

impl ListFilter {
    /// Every run.
    pub fn all() -> Self {
        ListFilter::default()
    }

    /// Only runs with this status.
    #[must_use]
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs of this workflow type.
    #[must_use]
    pub fn workflow_type(mut self, workflow_type: impl Into<String>) -> Self {
        self.workflow_type = Some(workflow_type.into());
        self
    }

    /// Only runs whose workflow id starts with `prefix` (case-sensitive).
    #[must_use]
    pub fn workflow_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.workflow_id_prefix = Some(prefix.into());
        self
    }

    /// The page after the one that returned `token`
    /// ([`WorkflowPage::next_page_token`]). Runs created since are newer, so
    /// they are not on it: paging goes on where it stopped.
    #[must_use]
    pub fn page_token(mut self, token: PageToken) -> Self {
        self.page_token = Some(token);
        self
    }

    /// At most this many runs.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Where a page of runs ended. It is text (`Display` and `FromStr`), so
/// it can travel in a URL.
///
/// ```
/// # fn main() -> weft::Result<()> {
/// let token: weft::PageToken = "1733100000000000.42".parse()?;
/// assert_eq!(token.to_string(), "1733100000000000.42");
/// assert!(matches!("next".parse::<weft::PageToken>(), Err(weft::Error::InvalidPageToken { .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken(pub(crate) ListPosition);

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0.created_at, self.0.seq)
    }
}

impl FromStr for PageToken {
    type Err = Error;

    fn from_str(token: &str) -> Result<Self> {
        let invalid = || Error::InvalidPageToken { token: token.chars().take(64).collect() };
        let (created_at, seq) = token.split_once('.').ok_or_else(invalid)?;
        let number = |s: &str| s.parse::<i64>().ok().filter(|_| !s.starts_with('+'));
        match (number(created_at), number(seq)) {
            (Some(created_at), Some(seq)) => Ok(PageToken(ListPosition { created_at, seq })),
            _ => Err(invalid()),
        }
    }
}

/// One page of runs, newest first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkflowPage {
    /// The runs of the page.
    pub workflows: Vec<WorkflowDescription>,
    /// The token of the next page; `None` on the last page.
    pub next_page_token: Option<PageToken>,
}

/// How many runs have each status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowCounts {
    /// Runs by status, each status once, in [`RunStatus`] order; statuses no run has are left out.
    pub by_status: Vec<(RunStatus, u64)>,
    /// Open runs that are held (counted as running too).
    pub held: u64,
}

impl WorkflowCounts {
    /// Runs of every status.
    pub fn total(&self) -> u64 {
        self.by_status.iter().map(|(_, n)| n).sum()
    }

    /// Runs of `status`.
    pub fn of(&self, status: RunStatus) -> u64 {
        self.by_status.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n)
    }
}
