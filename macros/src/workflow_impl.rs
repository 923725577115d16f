//! Expansion of `#[workflow]` on an impl block: a workflow whose state is
//! the block's type, with a `#[run]` body and `#[signal]`, `#[query]`,
//! `#[update]` and `#[validator(..)]` handlers over that state.
//!
//! Each handler is renamed out of the way (`__weft_<name>`) and its name
//! becomes a typed stub constant (`Order::approve`, a `Signal<Order, I>`);
//! `Order::run` is the workflow's stub. What a handler may do is checked
//! here, on its signature: a query and a validator read the state (`&self`)
//! and get no context, so they can neither change it nor issue commands.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ImplItem, ImplItemFn, ItemImpl, Meta, PatType, ReturnType, Type};

use crate::args::{Args, Site};
use crate::ast::{Function, Receiver, check_input, last_segment, result_type};
use crate::determinism;
use crate::errors::Errors;
use crate::expand::{Inputs, krate, too_deep};

/// What a method of the block is to the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Init,
    Run,
    Signal,
    Query,
    Update,
    Validator,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Init => "#[init]",
            Kind::Run => "#[run]",
            Kind::Signal => "#[signal]",
            Kind::Query => "#[query]",
            Kind::Update => "#[update]",
            Kind::Validator => "#[validator]",
        }
    }

    /// The attribute with its article: "an `#[update]`".
    fn a(self) -> String {
        let article = if matches!(self, Kind::Init | Kind::Update) { "an" } else { "a" };
        format!("{article} `{}`", self.attribute())
    }

    fn of(attr: &Attribute) -> Option<Kind> {
        let ident = attr.path().get_ident()?;
        Some(match ident.to_string().as_str() {
            "init" => Kind::Init,
            "run" => Kind::Run,
            "signal" => Kind::Signal,
            "query" => Kind::Query,
            "update" => Kind::Update,
            "validator" => Kind::Validator,
            _ => return None,
        })
    }
}

/// One checked method of the block.
struct Method {
    kind: Kind,
    ident: syn::Ident,
    hidden: syn::Ident,
    vis: syn::Visibility,
    docs: Vec<Attribute>,
    /// The registered name (handlers).
    name: String,
    name_span: Span,
    is_async: bool,
    input_types: Vec<Type>,
    /// Where each input's pattern is (an `#[init]`'s or a validator's type mismatch is reported there).
    input_spans: Vec<Span>,
    /// The answer (query) or the `T` of `WorkflowResult<T>` (run, update).
    output: Option<Type>,
    /// The update a validator validates.
    validates: Option<syn::Ident>,
}

/// Parses, validates and expands `#[workflow]` on an impl block.
pub(crate) fn impl_block(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(error) = too_deep(Site::Workflow, &args, &item) {
        return quote!(#item #error);
    }
    let mut errors = Errors::default();
    let args = Args::parse(Site::Workflow, args, &mut errors);
    let mut block: ItemImpl = match syn::parse2(item.clone()) {
        Ok(block) => block,
        Err(e) => {
            errors.add(e);
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    if let Some((_, path, _)) = &block.trait_ {
        errors.spanned(
            path,
            "`#[workflow]` goes on an inherent impl block (`impl Order { .. }`), not on a trait impl".to_owned(),
        );
    }
    if !block.generics.params.is_empty() || block.generics.where_clause.is_some() {
        errors.spanned(
            &block.generics,
            "`#[workflow]` impl blocks cannot be generic: the engine builds the workflow from recorded, concrete types"
                .to_owned(),
        );
    }

    let mut methods = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        if let Some(checked) = method_of(method, &mut errors) {
            methods.push(checked);
        }
    }
    let runs: Vec<&Method> = methods.iter().filter(|m| m.kind == Kind::Run).collect();
    match runs.as_slice() {
        [] => errors.push(
            block.impl_token.span,
            "this `#[workflow]` block has no `#[run]` method: mark the workflow's body, \
             `#[run] async fn run(ctx: WorkflowContext<Self>, ..) -> WorkflowResult<T>`"
                .to_owned(),
        ),
        [_] => {}
        [_, second, ..] => errors.push(second.ident.span(), "a workflow has one `#[run]` method".to_owned()),
    }
    let inits: Vec<&Method> = methods.iter().filter(|m| m.kind == Kind::Init).collect();
    if let [_, second, ..] = inits.as_slice() {
        errors.push(second.ident.span(), "a workflow has at most one `#[init]` method".to_owned());
    }
    if let ([run], [init, ..]) = (runs.as_slice(), inits.as_slice())
        && init.input_types.len() != run.input_types.len()
    {
        errors.push(
            init.ident.span(),
            format!(
                "`#[init]` `{}` takes {} input(s), `#[run]` `{}` takes {}: it builds the state from the run's inputs, \
                 each by reference",
                init.ident,
                init.input_types.len(),
                run.ident,
                run.input_types.len()
            ),
        );
    }
    check_names(&methods, &mut errors);
    check_validators(&methods, &mut errors);

    let errors_tokens = errors.to_compile_errors();
    let Some(run) = runs.first().filter(|_| errors.is_empty()) else {
        return quote!(#block #errors_tokens);
    };
    let private = {
        let krate = krate(&args);
        quote!(#krate::__private)
    };
    let self_ty = block.self_ty.clone();
    let workflow_name = match &args.name {
        Some(name) => name.value.clone(),
        None => last_segment(&self_ty).map_or_else(|| "workflow".to_owned(), |s| s.ident.to_string()),
    };
    let expanded = expand(&private, &self_ty, &workflow_name, run, inits.first().copied(), &methods);
    quote! {
        #block

        #expanded
    }
}

/// Checks one method; renames a handler out of the way. `None` for a
/// method that is none of the workflow's (or too broken to expand).
fn method_of(method: &mut ImplItemFn, errors: &mut Errors) -> Option<Method> {
    let positions: Vec<usize> =
        method.attrs.iter().enumerate().filter(|(_, a)| Kind::of(a).is_some()).map(|(i, _)| i).collect();
    let &first = positions.first()?;
    for &other in &positions[1..] {
        errors.spanned(&method.attrs[other], "a method plays one part in a workflow: one of `#[init]`, `#[run]`, `#[signal]`, `#[query]`, `#[update]`, `#[validator(..)]`".to_owned());
    }
    let attr = method.attrs[first].clone();
    // All of them go: an attribute left behind would not resolve outside the macro.
    method.attrs.retain(|a| Kind::of(a).is_none());
    let kind = Kind::of(&attr)?;
    let sig = &method.sig;
    let ident = sig.ident.clone();
    let mut local = Errors::default();

    let (mut name, mut name_span, mut validates) = (ident.to_string(), ident.span(), None);
    match (&attr.meta, kind) {
        (Meta::Path(_), Kind::Validator) => {
            local.spanned(&attr, "name the update this validates: `#[validator(set_quantity)]`".to_owned())
        }
        (Meta::Path(_), _) => {}
        (Meta::List(list), Kind::Validator) => match syn::parse2::<syn::Ident>(list.tokens.clone()) {
            Ok(update) => validates = Some(update),
            Err(_) => {
                local.spanned(&list.tokens, "name the update this validates: `#[validator(set_quantity)]`".to_owned())
            }
        },
        (Meta::List(list), Kind::Signal | Kind::Query | Kind::Update) => {
            match syn::parse2::<syn::MetaNameValue>(list.tokens.clone()) {
                Ok(nv) if nv.path.is_ident("name") => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if !s.value().trim().is_empty() => {
                        name = s.value();
                        name_span = s.span();
                    }
                    other => local.spanned(other, format!("`{}` `name` is a non-empty string", kind.attribute())),
                },
                _ => local.spanned(&list.tokens, format!("`{}` takes only `name = \"...\"`", kind.attribute())),
            }
        }
        (other, _) => local.spanned(other, format!("`{}` takes no arguments", kind.attribute())),
    }

    if let Some(constness) = &sig.constness {
        local.push(constness.span, format!("`{}` methods cannot be `const`", kind.attribute()));
    }
    if let Some(unsafety) = &sig.unsafety {
        local.push(unsafety.span, format!("`{}` methods cannot be `unsafe`", kind.attribute()));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        local.spanned(
            &sig.generics,
            format!(
                "`{}` methods cannot be generic: messages are decoded from history into concrete types",
                kind.attribute()
            ),
        );
    }
    let is_async = sig.asyncness.is_some();
    let mut params = sig.inputs.iter().peekable();
    let receiver = match params.next_if(|p| matches!(p, FnArg::Receiver(_))) {
        Some(FnArg::Receiver(r)) => Some(r),
        _ => None,
    };
    let context = params.next_if(|p| matches!(p, FnArg::Typed(t) if is_context(&t.ty)));
    let inputs: Vec<&PatType> = params
        .filter_map(|p| match p {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let output_type = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(&**ty),
    };
    let workflow_result = output_type.and_then(|ty| result_type(Site::Workflow, ty)).cloned();
    let sig_span = sig.ident.span();

    let mut output = None;
    match kind {
        Kind::Run => {
            if !is_async {
                local.push(sig.fn_token.span, "the `#[run]` body is an `async fn`".to_owned());
            }
            if let Some(receiver) = receiver {
                local.spanned(
                    receiver,
                    "the `#[run]` body takes no `self`: it reaches the state through its context, \
                     `ctx.state(..)`, `ctx.state_mut(..)`, `ctx.wait_condition(..)`"
                        .to_owned(),
                );
            }
            if context.is_none() {
                local.push(
                    sig_span,
                    "the `#[run]` body takes a `WorkflowContext<Self>` as its first parameter".to_owned(),
                );
            }
            output = workflow_result.clone();
            if output.is_none() {
                local.push(sig_span, "the `#[run]` body returns `WorkflowResult<T>`".to_owned());
            }
        }
        Kind::Init => {
            if is_async || receiver.is_some() || context.is_some() {
                local.push(
                    sig_span,
                    "`#[init]` is a plain `fn` that builds the state from the run's input: \
                     `#[init] fn new(input: &Input) -> Self`"
                        .to_owned(),
                );
            }
            by_reference(kind, &inputs, "the run's input", &mut local);
        }
        Kind::Signal => {
            if is_async {
                local.push(
                    sig.asyncness.map_or(sig_span, |a| a.span),
                    "a signal handler is a plain `fn`: it changes the state and returns; the `#[run]` body \
                     reacts with `ctx.wait_condition(..)` (or use an `#[update]`, which may be async)"
                        .to_owned(),
                );
            }
            state_receiver(kind, receiver, true, sig_span, &mut local);
            no_context(kind, context, &mut local);
            if let Some(ty) = output_type {
                local.spanned(
                    ty,
                    "a signal handler returns nothing: a signal has no reply (an `#[update]` returns a result)"
                        .to_owned(),
                );
            }
        }
        Kind::Query => {
            if is_async {
                local.push(
                    sig.asyncness.map_or(sig_span, |a| a.span),
                    "a query is a plain `fn`: it answers from the state at once and cannot wait".to_owned(),
                );
            }
            state_receiver(kind, receiver, false, sig_span, &mut local);
            no_context(kind, context, &mut local);
            match output_type {
                Some(ty) => output = Some(ty.clone()),
                None => local.push(sig.paren_token.span.close(), "a query returns its answer".to_owned()),
            }
        }
        Kind::Update => {
            if is_async {
                if let Some(receiver) = receiver {
                    local.spanned(
                        receiver,
                        "an async update takes no `self`: it reaches the state through its context, \
                         `ctx.state_mut(..)`"
                            .to_owned(),
                    );
                }
                if context.is_none() {
                    local.push(
                        sig_span,
                        "an async update takes a `WorkflowContext<Self>` as its first parameter".to_owned(),
                    );
                }
            } else {
                state_receiver(kind, receiver, true, sig_span, &mut local);
                if let Some(FnArg::Typed(ctx)) = context {
                    local.spanned(
                        &ctx.ty,
                        "an update that runs activities or waits is an `async fn` taking `WorkflowContext<Self>` \
                         (and no `self`); a plain `fn` update works on `&mut self` alone"
                            .to_owned(),
                    );
                }
            }
            output = workflow_result.clone();
            if output.is_none() {
                local.push(sig_span, "an update returns `WorkflowResult<T>`".to_owned());
            }
        }
        Kind::Validator => {
            if is_async {
                local.push(
                    sig.asyncness.map_or(sig_span, |a| a.span),
                    "a validator is a plain `fn`: it decides at once, before anything is recorded".to_owned(),
                );
            }
            state_receiver(kind, receiver, false, sig_span, &mut local);
            no_context(kind, context, &mut local);
            let unit_ok =
                output_type.and_then(last_segment).is_some_and(|s| s.ident == "Result" || s.ident == "WorkflowResult");
            if !unit_ok {
                local.push(sig_span, "a validator returns `Result<(), WorkflowError>`".to_owned());
            }
            by_reference(kind, &inputs, "the update's input", &mut local);
        }
    }
    if !matches!(kind, Kind::Validator | Kind::Init) {
        for input in &inputs {
            check_input(Site::Workflow, input, &mut local);
        }
    }
    let context_ident = context.and_then(|c| match c {
        FnArg::Typed(t) => match &*t.pat {
            syn::Pat::Ident(p) => Some(p.ident.clone()),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    });
    determinism::check(&mut method.block, context_ident.as_ref(), &mut local);

    let input_types = inputs.iter().map(|p| (*p.ty).clone()).collect();
    let input_spans = inputs.iter().map(|p| p.pat.span()).collect();
    errors.append(local);
    let hidden = format_ident!("__weft_{}", ident);
    let (docs, others): (Vec<Attribute>, Vec<Attribute>) =
        method.attrs.iter().cloned().partition(|a| a.path().is_ident("doc"));
    let vis = method.vis.clone();
    method.sig.ident = hidden.clone();
    method.attrs = others;
    method.attrs.push(syn::parse_quote!(#[doc(hidden)]));
    method.vis = syn::Visibility::Inherited;
    // Kept when broken too, so that the block-wide checks (one `#[run]`, a
    // validator's update) do not report it missing; nothing is expanded
    // unless every check passed.
    Some(Method {
        kind,
        ident,
        hidden,
        vis,
        docs,
        name,
        name_span,
        is_async,
        input_types,
        input_spans,
        output,
        validates,
    })
}

/// An `#[init]` or a validator reads its inputs by shared reference.
fn by_reference(kind: Kind, inputs: &[&PatType], what: &str, errors: &mut Errors) {
    for input in inputs {
        if !matches!(&*input.ty, Type::Reference(r) if r.mutability.is_none()) {
            let reader = if kind == Kind::Init { "`#[init]`" } else { "a validator" };
            errors.spanned(&input.ty, format!("{reader} reads {what} by reference (`&T`)"));
        }
    }
}

fn is_context(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "WorkflowContext")
}

/// Signals and sync updates change the state (`&mut self`); queries and validators read it (`&self`).
fn state_receiver(kind: Kind, receiver: Option<&syn::Receiver>, mutable: bool, at: Span, errors: &mut Errors) {
    // `Some(is_mut)` for `&self` and `&mut self`, `None` for `self`, `self: Box<Self>`, ...
    let by_reference =
        |r: &syn::Receiver| (r.reference.is_some() && r.colon_token.is_none()).then_some(r.mutability.is_some());
    match (receiver.map(|r| (by_reference(r), r)), mutable) {
        (None, true) => errors.push(at, format!("{} handler takes the state as `&mut self`", kind.a())),
        (None, false) => errors.push(at, format!("{} method takes the state as `&self`", kind.a())),
        (Some((None, receiver)), true) => {
            errors.spanned(receiver, format!("{} handler takes the state by reference, as `&mut self`", kind.a()))
        }
        (Some((None, receiver)), false) => {
            errors.spanned(receiver, format!("{} method takes the state by reference, as `&self`", kind.a()))
        }
        (Some((Some(false), receiver)), true) => errors.spanned(
            receiver,
            format!(
                "{} handler changes the workflow's state: take `&mut self`, not `&self` \
                 (a method that only reads the state is a `#[query]`)",
                kind.a()
            ),
        ),
        (Some((Some(true), receiver)), false) => errors.spanned(
            receiver,
            format!("{} method cannot change the workflow's state: take `&self`, not `&mut self`", kind.a()),
        ),
        _ => {}
    }
}

fn no_context(kind: Kind, context: Option<&FnArg>, errors: &mut Errors) {
    if let Some(ctx) = context {
        errors.spanned(
            ctx,
            format!("{} method takes no `WorkflowContext`: it cannot issue commands (activities, timers)", kind.a()),
        );
    }
}

/// Two handlers of one name (whatever their kinds) are an error.
fn check_names(methods: &[Method], errors: &mut Errors) {
    let mut seen: HashMap<&str, &Method> = HashMap::new();
    for method in methods.iter().filter(|m| matches!(m.kind, Kind::Signal | Kind::Query | Kind::Update)) {
        if let Some(first) = seen.insert(&method.name, method) {
            errors.push(
                method.name_span,
                format!(
                    "two handlers are named `{}` (`{}` and `{}`): a workflow's signal, query and update names are unique",
                    method.name, first.ident, method.ident
                ),
            );
        }
    }
}

/// A validator names an update of the block, takes its inputs (by
/// reference), and is its only one.
fn check_validators(methods: &[Method], errors: &mut Errors) {
    let mut validated: HashMap<String, &Method> = HashMap::new();
    for validator in methods.iter().filter(|m| m.kind == Kind::Validator) {
        let Some(target) = &validator.validates else { continue };
        let Some(update) = methods.iter().find(|m| m.kind == Kind::Update && m.ident == *target) else {
            errors.push(target.span(), format!("no `#[update]` method `{target}` in this block to validate"));
            continue;
        };
        if validator.input_types.len() != update.input_types.len() {
            errors.push(
                validator.ident.span(),
                format!(
                    "validator `{}` takes {} input(s), update `{}` takes {}: a validator reads the update's inputs, by reference",
                    validator.ident,
                    validator.input_types.len(),
                    update.ident,
                    update.input_types.len()
                ),
            );
        }
        if validated.insert(target.to_string(), validator).is_some() {
            errors.push(validator.ident.span(), format!("update `{target}` has another validator already"));
        }
    }
}

fn input_type(types: &[Type]) -> TokenStream {
    match types {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    }
}

fn expand(
    private: &TokenStream,
    self_ty: &Type,
    workflow_name: &str,
    run: &Method,
    init: Option<&Method>,
    methods: &[Method],
) -> TokenStream {
    let run_input = input_type(&run.input_types);
    let run_output = run.output.as_ref().expect("checked: the run returns WorkflowResult<T>");
    let run_inputs = inputs_of(run);
    let run_destructure = &run_inputs.destructure;
    let run_bindings = &run_inputs.bindings;
    let run_hidden = &run.hidden;
    let run_vis = &run.vis;
    let run_docs = &run.docs;

    let init_body = match init {
        Some(init) => {
            let hidden = &init.hidden;
            let bindings: Vec<syn::Ident> =
                (0..init.input_types.len()).map(|i| format_ident!("__weft_input_{}", i)).collect();
            let destructure = match bindings.as_slice() {
                [] => quote!(let () = *input;),
                [one] => quote!(let #one = input;),
                many => quote!(let (#(#many,)*) = input;),
            };
            let args = typed_args(&bindings, init);
            quote_spanned!(init.ident.span()=> #destructure <#self_ty>::#hidden(#(#args),*))
        }
        None => quote_spanned!(self_ty.span()=> { let _ = input; <Self as ::core::default::Default>::default() }),
    };

    let mut consts = Vec::new();
    let mut handlers = Vec::new();
    let mut validators = Vec::new();
    for method in methods {
        let (ident, hidden, vis, docs, name) = (&method.ident, &method.hidden, &method.vis, &method.docs, &method.name);
        let input = input_type(&method.input_types);
        let inputs = inputs_of(method);
        let (destructure, bindings) = (&inputs.destructure, &inputs.bindings);
        match method.kind {
            Kind::Signal => {
                let doc = format!(" Typed signal stub for `{name}` (generated by `#[workflow]`).");
                consts.push(quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    #[allow(non_upper_case_globals)]
                    #vis const #ident: #private::Signal<#self_ty, #input> = #private::Signal::new(#name);
                });
                handlers.push(quote_spanned! {ident.span()=>
                    .signal::<#input>(#name, |state: &mut #self_ty, input: #input| {
                        #destructure
                        <#self_ty>::#hidden(state, #(#bindings),*)
                    })
                });
            }
            Kind::Query => {
                let output = method.output.as_ref().expect("checked: a query returns its answer");
                let doc = format!(" Typed query stub for `{name}` (generated by `#[workflow]`).");
                consts.push(quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    #[allow(non_upper_case_globals)]
                    #vis const #ident: #private::Query<#self_ty, #input, #output> = #private::Query::__new(#name);
                });
                handlers.push(quote_spanned! {ident.span()=>
                    .query::<#input, #output>(#name, |state: &#self_ty, input: #input| -> #output {
                        #destructure
                        <#self_ty>::#hidden(state, #(#bindings),*)
                    })
                });
            }
            Kind::Update => {
                let output = method.output.as_ref().expect("checked: an update returns WorkflowResult<T>");
                let doc = format!(" Typed update stub for `{name}` (generated by `#[workflow]`).");
                consts.push(quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    #[allow(non_upper_case_globals)]
                    #vis const #ident: #private::Update<#self_ty, #input, #output> = #private::Update::__new(#name);
                });
                handlers.push(if method.is_async {
                    quote_spanned! {ident.span()=>
                        .async_update::<#input, #output, _>(#name, |ctx: #private::WorkflowContext<#self_ty>, input: #input| {
                            #destructure
                            #private::assert_send(<#self_ty>::#hidden(ctx, #(#bindings),*))
                        })
                    }
                } else {
                    quote_spanned! {ident.span()=>
                        .update::<#input, #output>(#name, |state: &mut #self_ty, input: #input| -> #private::WorkflowResult<#output> {
                            #destructure
                            <#self_ty>::#hidden(state, #(#bindings),*)
                        })
                    }
                });
            }
            Kind::Validator => {
                let Some(update) = methods.iter().find(|m| Some(&m.ident) == method.validates.as_ref()) else {
                    continue;
                };
                let update_input = input_type(&update.input_types);
                let bindings: Vec<syn::Ident> =
                    (0..update.input_types.len()).map(|i| format_ident!("__weft_input_{}", i)).collect();
                let destructure = match bindings.as_slice() {
                    [] => quote!(let () = *input;),
                    [one] => quote!(let #one = input;),
                    many => quote!(let (#(#many,)*) = input;),
                };
                let args = typed_args(&bindings, method);
                let update_name = &update.name;
                validators.push(quote_spanned! {ident.span()=>
                    .validator::<#update_input>(#update_name, |state: &#self_ty, input: &#update_input| {
                        #destructure
                        // A validator may return any error that converts; for a
                        // `WorkflowError` itself the conversion is the identity.
                        #[allow(clippy::useless_conversion)]
                        let __weft_result: #private::WorkflowResult<()> =
                            <#self_ty>::#hidden(state, #(#args),*).map_err(::core::convert::Into::into);
                        __weft_result
                    })
                });
            }
            Kind::Run | Kind::Init => {}
        }
    }
    let run_doc = format!(" Typed workflow stub for `{workflow_name}` (generated by `#[workflow]`).");
    quote! {
        impl #self_ty {
            #(#run_docs)*
            #[doc = ""]
            #[doc = #run_doc]
            #[allow(non_upper_case_globals)]
            #run_vis const run: #private::WorkflowStub<#self_ty> = #private::WorkflowStub::__new();

            #(#consts)*
        }

        const _: () = {
            #[automatically_derived]
            impl #private::Workflow for #self_ty {
                type Input = #run_input;
                type Output = #run_output;
                const NAME: &'static str = #workflow_name;
                type Definition = Self;
            }

            #[automatically_derived]
            impl #private::WorkflowDefinition for #self_ty {
                type State = Self;

                fn init(input: &Self::Input) -> Self {
                    #init_body
                }

                fn run(
                    ctx: #private::WorkflowContext<Self>,
                    input: Self::Input,
                ) -> impl ::core::future::Future<Output = #private::WorkflowResult<Self::Output>>
                       + ::core::marker::Send + 'static {
                    #run_destructure
                    #private::assert_send(<#self_ty>::#run_hidden(ctx, #(#run_bindings),*))
                }

                fn handlers() -> #private::Handlers<Self> {
                    #private::Handlers::new()
                        #(#handlers)*
                        #(#validators)*
                }
            }
        };
    }
}

/// The arguments of an `#[init]` or a validator, which read another
/// method's inputs by reference: each binding is given the type the method
/// declares, spanned at the method's parameter, so that a mismatch is
/// reported there ("expected `&String`, found `&u32`"), not on the macro.
fn typed_args(bindings: &[syn::Ident], method: &Method) -> Vec<TokenStream> {
    bindings
        .iter()
        .zip(&method.input_types)
        .zip(&method.input_spans)
        .map(|((binding, ty), span)| {
            let binding = syn::Ident::new(&binding.to_string(), *span);
            quote_spanned!(*span=> { let __weft_arg: #ty = #binding; __weft_arg })
        })
        .collect()
}

/// The bindings of a method's inputs, as `Inputs` makes them for functions.
fn inputs_of(method: &Method) -> Inputs {
    let patterns: Vec<PatType> = method
        .input_types
        .iter()
        .map(|ty| PatType {
            attrs: Vec::new(),
            pat: Box::new(syn::parse_quote!(_input)),
            colon_token: Default::default(),
            ty: Box::new(ty.clone()),
        })
        .collect();
    let output: Type = syn::parse_quote!(());
    let function =
        Function { receiver: Receiver::None, context: None, inputs: patterns.iter().collect(), output: &output };
    Inputs::new(&function)
}
