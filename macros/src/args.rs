//! Attribute arguments: `name`, `crate`, the default options, `retry(..)`.
//!
//! Syntax errors stop the parse; a value that parses but is wrong (a
//! malformed duration, an empty name) is recorded and the parse goes on, so
//! one build shows every bad argument.

use std::fmt;
use std::time::Duration;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Ident, LitStr, Token};

use crate::errors::Errors;
use crate::options::{DeclaredOptions, Retry, Spanned};

/// Where an attribute sits; it decides which arguments are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// `#[activity]` on a free `async fn`.
    Activity,
    /// `#[activity]` on a method of an `#[activities]` impl block.
    Method,
    /// `#[workflow]` on a free `async fn`.
    Workflow,
    /// `#[activities]` on an impl block.
    Activities,
}

impl Site {
    /// The arguments accepted here, as listed in messages.
    fn accepted(self) -> &'static str {
        match self {
            Site::Activity => {
                "`name`, `crate`, `start_to_close_timeout`, `schedule_to_close_timeout`, \
                 `schedule_to_start_timeout`, `heartbeat_timeout`, `retry(..)` or `task_queue`"
            }
            Site::Method => {
                "`name`, `start_to_close_timeout`, `schedule_to_close_timeout`, \
                 `schedule_to_start_timeout`, `heartbeat_timeout`, `retry(..)` or `task_queue`"
            }
            Site::Workflow => "`name` or `crate`",
            Site::Activities => "`crate`",
        }
    }

    fn takes_options(self) -> bool {
        matches!(self, Site::Activity | Site::Method)
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Site::Activity | Site::Method => "#[activity]",
            Site::Workflow => "#[workflow]",
            Site::Activities => "#[activities]",
        })
    }
}

/// The parsed arguments.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) options: DeclaredOptions,
}

impl Args {
    /// Parses the arguments of an attribute at `site`; every problem goes to `errors`.
    pub(crate) fn parse(site: Site, tokens: TokenStream, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let parser = |input: ParseStream<'_>| parse_args(site, input, &mut args, errors);
        if let Err(e) = parser.parse2(tokens) {
            errors.add(e);
        }
        args
    }
}

fn parse_args(site: Site, input: ParseStream<'_>, args: &mut Args, errors: &mut Errors) -> syn::Result<()> {
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        let key_name = key.to_string();
        let option_key = matches!(
            key_name.as_str(),
            "start_to_close_timeout"
                | "schedule_to_close_timeout"
                | "schedule_to_start_timeout"
                | "heartbeat_timeout"
                | "retry"
                | "task_queue"
        );
        let accepted = match key_name.as_str() {
            "name" => site != Site::Activities,
            "crate" => matches!(site, Site::Activity | Site::Workflow | Site::Activities),
            _ if option_key => site.takes_options(),
            _ => false,
        };
        if !accepted {
            return Err(not_accepted(site, &key, option_key));
        }
        let o = &mut args.options;
        match key_name.as_str() {
            "retry" => {
                if !input.peek(syn::token::Paren) {
                    return Err(syn::Error::new(
                        key.span(),
                        "write the retry policy as a list: `retry(maximum_attempts = 5, initial_interval = \"1s\")`",
                    ));
                }
                let content;
                syn::parenthesized!(content in input);
                let retry = parse_retry(&content, errors)?;
                set_once(site, &mut o.retry, retry, &key, errors);
            }
            "name" => {
                let lit = string_value(site, &key, "name = \"Charge\"", input)?;
                if lit.value().trim().is_empty() {
                    errors.push(lit.span(), format!("`{site}` `name` must not be empty"));
                }
                set_once(site, &mut args.name, Spanned::new(lit.value(), lit.span()), &key, errors);
            }
            "crate" => {
                let lit = string_value(site, &key, "crate = \"my_weft\"", input)?;
                match lit.parse_with(syn::Path::parse_mod_style) {
                    Ok(path) => set_once(site, &mut args.krate, path, &key, errors),
                    Err(_) => errors
                        .push(lit.span(), format!("`{site}` `crate` must name a path, e.g. `crate = \"my_weft\"`")),
                }
            }
            "task_queue" => {
                let lit = string_value(site, &key, "task_queue = \"payments\"", input)?;
                let queue = lit.value();
                if queue.is_empty() {
                    errors.push(lit.span(), "`task_queue` must not be empty".to_owned());
                } else if queue.len() > 1000 {
                    errors.push(lit.span(), "`task_queue` is over 1000 bytes".to_owned());
                }
                set_once(site, &mut o.task_queue, Spanned::new(queue, lit.span()), &key, errors);
            }
            timeout => {
                let value = duration_value(&key, input, errors)?;
                let slot = match timeout {
                    "start_to_close_timeout" => &mut o.start_to_close,
                    "schedule_to_close_timeout" => &mut o.schedule_to_close,
                    "schedule_to_start_timeout" => &mut o.schedule_to_start,
                    _ => &mut o.heartbeat,
                };
                if let Some(value) = value {
                    set_once(site, slot, value, &key, errors);
                }
            }
        }
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(())
}

fn not_accepted(site: Site, key: &Ident, option_key: bool) -> syn::Error {
    let message = match (site, key.to_string().as_str()) {
        (Site::Method, "crate") => {
            "`crate` goes on the `#[activities]` attribute of the impl block, not on its methods".to_owned()
        }
        (Site::Workflow, _) if option_key => format!(
            "`{key}` is an activity option; a workflow sets options per call, \
             `ctx.execute_activity(stub, input, ActivityOptions::start_to_close(..))`, or on the activity's `#[activity(...)]`"
        ),
        (Site::Activities, "name") => {
            "`name` goes on each `#[activity]` method; `#[activities]` takes only `crate`".to_owned()
        }
        (Site::Activities, _) if option_key => {
            format!("`{key}` goes on each `#[activity(...)]` method; `#[activities]` takes only `crate`")
        }
        _ => format!("unknown `{site}` argument `{key}`; expected {}", site.accepted()),
    };
    syn::Error::new(key.span(), message)
}

fn parse_retry(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Retry> {
    let mut retry = Retry::default();
    while !input.is_empty() {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        match key.to_string().as_str() {
            "initial_interval" | "maximum_interval" => {
                if let Some(value) = duration_after_eq(&key, input, errors)? {
                    let slot = if key == "initial_interval" {
                        &mut retry.initial_interval
                    } else {
                        &mut retry.maximum_interval
                    };
                    set_once("retry(..)", slot, value, &key, errors);
                }
            }
            "backoff" => {
                let value: syn::Expr = input.parse()?;
                let number = match literal(&value) {
                    Some(syn::Lit::Float(f)) => f.base10_parse::<f64>().ok(),
                    Some(syn::Lit::Int(i)) => i.base10_parse::<u32>().ok().map(f64::from),
                    _ => None,
                };
                match number {
                    Some(v) if v.is_finite() && v >= 1.0 => {
                        set_once("retry(..)", &mut retry.backoff, Spanned::new(v, value.span()), &key, errors)
                    }
                    Some(v) => errors.spanned(
                        &value,
                        format!("`backoff` of {v} would shrink the delays; give a number >= 1.0, e.g. `backoff = 2.0`"),
                    ),
                    None => errors.spanned(&value, "`backoff` takes a number >= 1.0, e.g. `backoff = 2.0`".to_owned()),
                }
            }
            "maximum_attempts" => {
                let value: syn::Expr = input.parse()?;
                match literal(&value) {
                    Some(syn::Lit::Int(i)) if i.base10_parse::<u32>().is_ok() => {
                        let n = i.base10_parse::<u32>().unwrap_or_default();
                        set_once("retry(..)", &mut retry.maximum_attempts, Spanned::new(n, i.span()), &key, errors)
                    }
                    _ => errors.spanned(
                        &value,
                        "`maximum_attempts` takes a whole number from 0 to 4294967295, e.g. `maximum_attempts = 5` \
                         (0 means unlimited)"
                            .to_owned(),
                    ),
                }
            }
            "non_retryable" => {
                if let Some(list) = non_retryable(input, errors)? {
                    set_once("retry(..)", &mut retry.non_retryable, list, &key, errors);
                }
            }
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown `retry(..)` argument `{key}`; expected `initial_interval`, `backoff`, \
                         `maximum_interval`, `maximum_attempts` or `non_retryable`"
                    ),
                ));
            }
        }
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(retry)
}

/// The literal of `expr`, if it is one.
fn literal(expr: &syn::Expr) -> Option<&syn::Lit> {
    match expr {
        syn::Expr::Lit(lit) => Some(&lit.lit),
        _ => None,
    }
}

/// `["BadInput", "Declined"]`: the error types never retried.
fn non_retryable(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<Spanned<Vec<String>>>> {
    let span = input.span();
    if !input.peek(syn::token::Bracket) {
        let value: syn::Expr = input.parse()?;
        errors.spanned(
            &value,
            "`non_retryable` takes a list of error types, e.g. `non_retryable = [\"BadInput\"]`".to_owned(),
        );
        return Ok(None);
    }
    let content;
    syn::bracketed!(content in input);
    let items = Punctuated::<syn::Lit, Token![,]>::parse_terminated(&content)?;
    let mut types = Vec::new();
    for item in items {
        match item {
            syn::Lit::Str(s) if !s.value().trim().is_empty() => types.push(s.value()),
            syn::Lit::Str(s) => errors.push(s.span(), "an error type in `non_retryable` must not be empty".to_owned()),
            other => errors
                .push(other.span(), "`non_retryable` lists error types as strings, e.g. `[\"BadInput\"]`".to_owned()),
        }
    }
    Ok(Some(Spanned::new(types, span)))
}

fn string_value(site: Site, key: &Ident, example: &str, input: ParseStream<'_>) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        return input.parse();
    }
    let value: syn::Expr = input.parse()?;
    Err(syn::Error::new_spanned(value, format!("`{site}` `{key}` takes a string literal, e.g. `{example}`")))
}

fn duration_value(key: &Ident, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<Spanned<Duration>>> {
    input.parse::<Token![=]>()?;
    duration_after_eq(key, input, errors)
}

/// A duration string (`"10s"`, `"1m 30s"`, `"500ms"`), checked now rather than when the workflow runs.
fn duration_after_eq(
    key: &Ident,
    input: ParseStream<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<Spanned<Duration>>> {
    if !input.peek(LitStr) {
        let value: syn::Expr = input.parse()?;
        errors.spanned(&value, format!("`{key}` takes a duration string, e.g. `{key} = \"10s\"`"));
        return Ok(None);
    }
    let lit: LitStr = input.parse()?;
    match crate::options::parse_duration(&lit.value()) {
        Ok(d) => Ok(Some(Spanned::new(d, lit.span()))),
        Err(reason) => {
            errors.push(lit.span(), format!("`{key}` {reason}"));
            Ok(None)
        }
    }
}

/// Every argument goes through here, so each may appear once in its list
/// (`owner` names the list: `#[activity]`, `retry(..)`).
fn set_once<T>(owner: impl fmt::Display, slot: &mut Option<T>, value: T, key: &Ident, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(key.span(), format!("`{owner}` argument `{key}` is given twice; keep one"));
    } else {
        *slot = Some(value);
    }
}
