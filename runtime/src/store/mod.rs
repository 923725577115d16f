//! Stores (temporary skeleton).

/// A run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunStatus {
    /// Open.
    Running,
}
