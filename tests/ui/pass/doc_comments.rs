#![deny(missing_docs)]
//! Docs on the function survive on the stub.

use weft::{activity, ActivityContext, ActivityError};

/// Echoes its input.
#[activity]
pub async fn echo(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(text)
}

fn main() {}
