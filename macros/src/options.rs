//! The default options an `#[activity(...)]` attribute declares: checked when
//! the macro runs, expanded into the stub's `Activity::defaults()`.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::errors::Errors;

/// The longest duration accepted (ten years), as the runtime's `MAX_DURATION`.
const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A value with the span of the token it came from.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

impl<T> Spanned<T> {
    pub(crate) fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// `retry(initial_interval = "1s", backoff = 2.0, maximum_interval = "1m", maximum_attempts = 5, non_retryable = [..])`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Retry {
    pub(crate) initial_interval: Option<Spanned<Duration>>,
    pub(crate) backoff: Option<Spanned<f64>>,
    pub(crate) maximum_interval: Option<Spanned<Duration>>,
    pub(crate) maximum_attempts: Option<Spanned<u32>>,
    pub(crate) non_retryable: Option<Spanned<Vec<String>>>,
}

/// The options of an `#[activity(...)]` attribute.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredOptions {
    pub(crate) start_to_close: Option<Spanned<Duration>>,
    pub(crate) schedule_to_close: Option<Spanned<Duration>>,
    pub(crate) schedule_to_start: Option<Spanned<Duration>>,
    pub(crate) heartbeat: Option<Spanned<Duration>>,
    pub(crate) retry: Option<Retry>,
    pub(crate) task_queue: Option<Spanned<String>>,
}

/// Parses a duration string; the error completes a sentence that starts with the option's name.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("is not a duration ({e}); write e.g. \"10s\", \"1m 30s\" or \"500ms\""))?;
    if duration.is_zero() {
        return Err("is zero; give a positive duration, e.g. \"10s\"".to_owned());
    }
    if duration > MAX_DURATION {
        return Err(format!("of {} is longer than the ten-year maximum", show(duration)));
    }
    Ok(duration)
}

fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl DeclaredOptions {
    /// Whether a call may rely on these defaults: they set a required timeout.
    pub(crate) fn has_required_timeout(&self) -> bool {
        self.start_to_close.is_some() || self.schedule_to_close.is_some()
    }

    /// Checks the options against each other, as the engine would when a call runs.
    pub(crate) fn validate(&self, errors: &mut Errors) {
        if let (Some(stc), Some(s2c)) = (&self.start_to_close, &self.schedule_to_close)
            && s2c.value < stc.value
        {
            errors.push(
                s2c.span,
                format!(
                    "`schedule_to_close_timeout` ({}) is shorter than `start_to_close_timeout` ({}): \
                     the activity would time out before its first attempt could; lengthen it or drop one",
                    show(s2c.value),
                    show(stc.value)
                ),
            );
        }
        if let Some(heartbeat) = &self.heartbeat {
            let attempt = [&self.start_to_close, &self.schedule_to_close].into_iter().flatten().min_by_key(|d| d.value);
            if let Some(attempt) = attempt
                && heartbeat.value > attempt.value
            {
                errors.push(
                    heartbeat.span,
                    format!(
                        "`heartbeat_timeout` ({}) is longer than an attempt may run ({}), so it could never fire; \
                         make it shorter than the attempt's timeout",
                        show(heartbeat.value),
                        show(attempt.value)
                    ),
                );
            }
        }
        if let Some(retry) = &self.retry
            && let (Some(initial), Some(maximum)) = (&retry.initial_interval, &retry.maximum_interval)
            && maximum.value < initial.value
        {
            errors.push(
                maximum.span,
                format!(
                    "`maximum_interval` ({}) is shorter than `initial_interval` ({}); the delays would never grow",
                    show(maximum.value),
                    show(initial.value)
                ),
            );
        }
    }

    /// The body of `Activity::defaults()`.
    pub(crate) fn expand(&self, private: &TokenStream) -> TokenStream {
        let timeout = |d: &Option<Spanned<Duration>>| match d {
            Some(d) => {
                let d = duration(d.value);
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        let (s2c, s2s, stc, heartbeat) = (
            timeout(&self.schedule_to_close),
            timeout(&self.schedule_to_start),
            timeout(&self.start_to_close),
            timeout(&self.heartbeat),
        );
        let retry = match &self.retry {
            Some(retry) => {
                let calls = [
                    retry.initial_interval.as_ref().map(|d| {
                        let d = duration(d.value);
                        quote!(initial_interval(#d))
                    }),
                    retry.backoff.as_ref().map(|b| {
                        let b = b.value;
                        quote!(backoff_coefficient(#b))
                    }),
                    retry.maximum_interval.as_ref().map(|d| {
                        let d = duration(d.value);
                        quote!(maximum_interval(#d))
                    }),
                    retry.maximum_attempts.as_ref().map(|n| {
                        let n = n.value;
                        quote!(maximum_attempts(#n))
                    }),
                    retry.non_retryable.as_ref().map(|types| {
                        let types = &types.value;
                        quote!(non_retryable_error_types([#(#types),*]))
                    }),
                ];
                let calls = calls.into_iter().flatten();
                quote!(::core::option::Option::Some(
                    <#private::RetryPolicy as ::core::default::Default>::default() #(.#calls)*
                ))
            }
            None => quote!(::core::option::Option::None),
        };
        let task_queue = match &self.task_queue {
            Some(q) => {
                let q = &q.value;
                quote!(::core::option::Option::Some(#q))
            }
            None => quote!(::core::option::Option::None),
        };
        quote!(#private::declared_options(#s2c, #s2s, #stc, #heartbeat, #retry, #task_queue))
    }
}

/// A `Duration` constant.
fn duration(d: Duration) -> TokenStream {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    quote!(::core::time::Duration::new(#secs, #nanos))
}
