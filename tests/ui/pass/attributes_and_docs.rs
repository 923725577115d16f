// Docs go on the stub, other attributes on the function; the stub is `Copy`,
// `Debug` and has the function's visibility. Lints hold under deny.
#![deny(missing_docs, missing_debug_implementations, unused_qualifications, warnings)]
//! A documented crate.

mod payments {
    use weft::{ActivityContext, ActivityError, activity};

    /// Charges a card.
    #[activity]
    #[allow(clippy::unused_async)]
    #[cfg_attr(any(), must_use)]
    pub async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        #[allow(unused_variables)]
        let unused = 1;
        Ok(cents)
    }

    /// Expanded, then compiled out by the `cfg` the macro passes on.
    #[activity]
    #[cfg(any())]
    pub async fn compiled_out(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        this_does_not_exist(cents)
    }

    /// Superseded by `charge`.
    #[activity]
    #[deprecated = "use `charge`"]
    pub async fn old_charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }

    #[activity]
    pub(crate) async fn internal(_ctx: ActivityContext) -> Result<(), ActivityError> {
        Ok(())
    }
}

macro_rules! declare_activity {
    ($name:ident, $input:ty, $output:ty) => {
        /// Declared by a macro.
        #[weft::activity]
        pub async fn $name(_ctx: weft::ActivityContext, input: $input) -> Result<$output, weft::ActivityError> {
            Ok(input.into())
        }
    };
}

declare_activity!(widen, u32, u64);

fn main() {
    let stub = payments::charge;
    let copy = stub;
    assert_eq!(format!("{:?} {:?}", copy, stub), "charge charge");
    #[allow(deprecated)]
    let _ = (payments::internal, payments::old_charge, widen);
}
