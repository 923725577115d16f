//! Collects independent errors so that one build reports all of them.

use std::fmt::Display;

use quote::ToTokens;

/// A bag of `syn::Error`s merged with [`syn::Error::combine`].
///
/// Unlike serde's `Ctxt` it does not panic when dropped unchecked: every
/// caller ends with [`Errors::finish`], and forgetting to would only lose
/// errors, which the tests would notice.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Adds an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Keeps the value of `result`, or collects its error.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `Ok` if nothing was collected, else every error at once.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}

/// Both values, or the errors of both results combined.
pub(crate) fn join<A, B>(a: syn::Result<A>, b: syn::Result<B>) -> syn::Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
        (Err(mut first), Err(second)) => {
            first.combine(second);
            Err(first)
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    #[test]
    fn finish_combines_every_error() {
        let mut errors = Errors::default();
        assert!(errors.ok(Ok::<_, syn::Error>(1)).is_some());
        errors.push(syn::Error::new(Span::call_site(), "first"));
        assert!(errors.ok::<()>(Err(syn::Error::new(Span::call_site(), "second"))).is_none());
        let messages: Vec<String> = errors.finish().unwrap_err().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn join_keeps_both_errors() {
        let a: syn::Result<()> = Err(syn::Error::new(Span::call_site(), "a"));
        let b: syn::Result<()> = Err(syn::Error::new(Span::call_site(), "b"));
        assert_eq!(join(a, b).unwrap_err().into_iter().count(), 2);
        assert_eq!(join(Ok::<_, syn::Error>(1), Ok::<_, syn::Error>(2)).unwrap(), (1, 2));
    }
}
