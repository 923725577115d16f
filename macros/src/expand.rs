//! Expansion of `#[activity]` and `#[workflow]` on free functions, and the
//! pieces every stub shares.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Attribute, Ident, ItemFn, Type};

use crate::args::{Args, Site};
use crate::ast::Function;
use crate::errors::Errors;
use crate::{determinism, heartbeat};

/// How deeply an item may nest (groups, unclosed `<`, runs of prefix
/// punctuation such as `&&&x` or `|| || x`) before the macros refuse it:
/// syn parses nesting by recursion, and a few thousand levels overflow the
/// compiler's stack (found by fuzzing, issue 11). No hand-written item comes close.
pub(crate) const MAX_NESTING: usize = 256;

/// The error for `args` or `item` nesting deeper than [`MAX_NESTING`], if they do.
pub(crate) fn too_deep(site: impl std::fmt::Display, args: &TokenStream, item: &TokenStream) -> Option<TokenStream> {
    let span = deepest(args.clone(), 0).or_else(|| deepest(item.clone(), 0))?;
    let message = format!("`{site}` cannot expand an item nested more than {MAX_NESTING} levels deep");
    Some(syn::Error::new(span, message).to_compile_error())
}

/// The span where `tokens` (inside `outer` levels) first nest past [`MAX_NESTING`].
fn deepest(tokens: TokenStream, outer: usize) -> Option<Span> {
    use proc_macro2::TokenTree;
    let (mut angle, mut run) = (0usize, 0usize);
    for tree in tokens {
        match &tree {
            TokenTree::Group(group) => {
                let inner = outer + angle + run + 1;
                if inner > MAX_NESTING {
                    return Some(group.span_open());
                }
                if let Some(span) = deepest(group.stream(), inner) {
                    return Some(span);
                }
                run = 0;
            }
            TokenTree::Punct(p) => match p.as_char() {
                '<' => angle += 1,
                '>' => angle = angle.saturating_sub(1),
                '|' | '&' | '!' | '-' | '*' => run += 1,
                _ => run = 0,
            },
            TokenTree::Ident(i) if ["mut", "move", "return", "break", "dyn", "impl", "box"].iter().any(|k| i == k) => {
                run += 1
            }
            _ => run = 0,
        }
        if outer + angle + run > MAX_NESTING {
            return Some(tree.span());
        }
    }
    None
}

/// Parses, validates and expands `#[activity]` or `#[workflow]` on a free `async fn`.
pub(crate) fn function(site: Site, args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(error) = too_deep(site, &args, &item) {
        return quote!(#item #error);
    }
    let mut errors = Errors::default();
    let args = Args::parse(site, args, &mut errors);
    let mut item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.push(Span::call_site(), format!("`{site}` goes on an `async fn`"));
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };
    if site == Site::Workflow {
        let context = match item_fn.sig.inputs.first() {
            Some(syn::FnArg::Typed(arg)) => match &*arg.pat {
                syn::Pat::Ident(p) => Some(p.ident.clone()),
                _ => None,
            },
            _ => None,
        };
        determinism::check(&mut item_fn.block, context.as_ref(), &mut errors);
    }
    args.options.validate(&mut errors);
    let expanded = match Function::parse(site, &item_fn.sig, &mut errors) {
        Some(function) => {
            if let Some(context) = function.context
                && site == Site::Activity
            {
                heartbeat::check(context, &item_fn.block, &args.options, &mut errors);
            }
            free_stub(site, &args, &item_fn, &function)
        }
        // Too broken to expand: the user's function as it is, beside the errors.
        None => item_fn.to_token_stream(),
    };
    let errors = errors.to_compile_errors();
    quote!(#expanded #errors)
}

/// The `weft` crate's path: `::weft`, or the `crate = "..."` argument.
pub(crate) fn krate(args: &Args) -> TokenStream {
    args.krate.as_ref().map_or_else(|| quote!(::weft), |p| quote!(#p))
}

fn free_stub(site: Site, args: &Args, original: &ItemFn, function: &Function<'_>) -> TokenStream {
    let krate = krate(args);
    let private = quote!(#krate::__private);
    let vis = &original.vis;
    let ident = &original.sig.ident;
    let body_fn = format_ident!("__weft_{}", ident);
    let (docs, others) = split_docs(&original.attrs);

    let mut inner = original.clone();
    inner.attrs = others;
    inner.vis = syn::Visibility::Inherited;
    inner.sig.ident = body_fn.clone();

    let inputs = Inputs::new(function);
    let destructure = &inputs.destructure;
    let bindings = &inputs.bindings;
    let call = quote_spanned!(ident.span()=> #private::assert_send(#body_fn(ctx, #(#bindings),*)));
    let stub_doc = format!(" Typed {} stub for `{}` (generated by `{site}`).", kind(site), name(args, ident));

    let impls = match site {
        Site::Workflow => {
            let (name, input, output) = (name(args, ident), &inputs.ty, function.output);
            quote! {
                #[automatically_derived]
                impl #private::Workflow for #ident {
                    type Input = #input;
                    type Output = #output;
                    const NAME: &'static str = #name;
                    type Definition = Self;
                }

                #[automatically_derived]
                impl #private::WorkflowDefinition for #ident {
                    type State = ();

                    fn init(_: &Self::Input) {}

                    fn run(
                        ctx: #private::WorkflowContext,
                        input: Self::Input,
                    ) -> impl ::core::future::Future<Output = #private::WorkflowResult<Self::Output>>
                           + ::core::marker::Send + 'static {
                        #destructure
                        #call
                    }

                    fn handlers() -> #private::Handlers<()> {
                        #private::Handlers::new()
                    }
                }
            }
        }
        _ => {
            let activity = activity_impls(&private, ident, &name(args, ident), &inputs, function.output, args);
            let attempt = attempt_future(&private);
            quote! {
                #activity

                #[automatically_derived]
                impl #private::ActivityFn for #ident {
                    fn run(
                        ctx: #private::ActivityContext,
                        input: <Self as #private::Activity>::Input,
                    ) -> #attempt {
                        #destructure
                        #call
                    }
                }

                #[automatically_derived]
                impl #private::ActivityFnDefinition for #ident {}
            }
        }
    };
    let stub_fn = stub_fn(site, &private, &docs, vis, ident, &stub_doc);
    let type_doc = format!(
        " The definition type of {} `{}`: what its stub function is (generated by `{site}`).",
        kind(site),
        name(args, ident)
    );
    quote! {
        #stub_fn

        #[doc = #type_doc]
        #[allow(non_camel_case_types, dead_code)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #ident {}

        const _: () = {
            #inner

            #impls
        };
    }
}

/// The value-namespace half of a stub: a function named like the user's, so
/// that bindings and patterns of that name shadow it as they would the plain
/// function. It returns the definition type `ident` (a braced struct, in the
/// type namespace only); the runtime's blanket impls over
/// `Fn(StubToken) -> D` make the function implement what `D` implements.
/// Its one parameter can only be the uninhabited `StubToken`, so calling it
/// like the user's function fails on the bound, whose message names the fix.
pub(crate) fn stub_fn(
    site: Site,
    private: &TokenStream,
    docs: &[Attribute],
    vis: &syn::Visibility,
    ident: &Ident,
    stub_doc: &str,
) -> TokenStream {
    let bound = if site == Site::Workflow {
        quote!(#private::WorkflowStubArgument<#ident>)
    } else {
        quote!(#private::ActivityStubArgument<#ident>)
    };
    quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #stub_doc]
        #vis fn #ident<__WeftStubToken: #bound>(_: __WeftStubToken) -> #ident {
            #ident {}
        }
    }
}

fn kind(site: Site) -> &'static str {
    if site == Site::Workflow { "workflow" } else { "activity" }
}

/// The registered name: `name = "..."`, or the function's.
pub(crate) fn name(args: &Args, ident: &Ident) -> String {
    args.name.as_ref().map_or_else(|| ident.to_string(), |n| n.value.clone())
}

/// Doc comments apart from the other attributes.
pub(crate) fn split_docs(attrs: &[Attribute]) -> (Vec<Attribute>, Vec<Attribute>) {
    attrs.iter().cloned().partition(|a| a.path().is_ident("doc"))
}

/// The input as the engine sees it: `()`, the one type, or a tuple of several.
pub(crate) struct Inputs {
    pub(crate) ty: TokenStream,
    pub(crate) bindings: Vec<Ident>,
    /// `let (a, b) = input;`
    pub(crate) destructure: TokenStream,
}

impl Inputs {
    pub(crate) fn new(function: &Function<'_>) -> Self {
        let types: Vec<&Type> = function.inputs.iter().map(|p| &*p.ty).collect();
        let ty = match types.as_slice() {
            [] => quote!(()),
            [one] => quote!(#one),
            many => quote!((#(#many,)*)),
        };
        let bindings: Vec<Ident> = (0..types.len()).map(|i| format_ident!("__weft_input_{}", i)).collect();
        let destructure = match bindings.as_slice() {
            [] => quote!(let () = input;),
            [one] => quote!(let #one = input;),
            many => quote!(let (#(#many,)*) = input;),
        };
        Inputs { ty, bindings, destructure }
    }
}

/// `Activity` (with the attribute's defaults) and, when they set a required
/// timeout, `HasDefaultTimeout`, for the stub type `stub`.
pub(crate) fn activity_impls(
    private: &TokenStream,
    stub: &Ident,
    name: &str,
    inputs: &Inputs,
    output: &Type,
    args: &Args,
) -> TokenStream {
    let input = &inputs.ty;
    let defaults = args.options.expand(private);
    let has_timeout = args.options.has_required_timeout().then(|| {
        quote! {
            #[automatically_derived]
            impl #private::HasDefaultTimeout for #stub {}

            #[automatically_derived]
            impl #private::DefaultTimeoutDefinition for #stub {}
        }
    });
    quote! {
        #[automatically_derived]
        impl #private::Activity for #stub {
            type Input = #input;
            type Output = #output;
            const NAME: &'static str = #name;

            fn defaults() -> #private::ActivityOptions<#private::Defaulted> {
                #defaults
            }
        }

        #[automatically_derived]
        impl #private::ActivityDefinition for #stub {}

        #has_timeout
    }
}

/// The type of one attempt's future, as `ActivityFn::run` and `ActivityMethod::run` return it.
pub(crate) fn attempt_future(private: &TokenStream) -> TokenStream {
    quote! {
        impl ::core::future::Future<
            Output = ::core::result::Result<<Self as #private::Activity>::Output, #private::ActivityError>,
        > + ::core::marker::Send + 'static
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzzing found inputs that overflowed the stack in syn's parser (issue 11):
    /// they get an error now, whatever the shape of the nesting.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 3_000;
        let shapes = [
            format!(
                "async fn f(ctx: WorkflowContext) -> WorkflowResult<{}u8{}> {{ Ok(()) }}",
                "A<".repeat(n),
                ">".repeat(n)
            ),
            format!(
                "async fn f(ctx: WorkflowContext) -> WorkflowResult<()> {{ let _ = {}1; Ok(()) }}",
                "|| ".repeat(n)
            ),
            format!(
                "async fn f(ctx: WorkflowContext) -> WorkflowResult<()> {{ let _ = {}1{}; Ok(()) }}",
                "(".repeat(n),
                ")".repeat(n)
            ),
            format!("async fn f(ctx: WorkflowContext) -> WorkflowResult<()> {{ let _ = {}x; Ok(()) }}", "&".repeat(n)),
        ];
        for shape in shapes {
            let item: TokenStream = shape.parse().unwrap();
            for site in [Site::Activity, Site::Workflow] {
                let output = function(site, TokenStream::new(), item.clone()).to_string();
                assert!(output.contains("nested more than 256 levels deep"), "{site}");
            }
            let output = crate::activities::impl_block(TokenStream::new(), item.clone()).to_string();
            assert!(output.contains("nested more than 256 levels deep"));
        }
        let ok: TokenStream = format!(
            "async fn f(ctx: WorkflowContext) -> WorkflowResult<()> {{ let _ = {}1{}; Ok(()) }}",
            "(".repeat(100),
            ")".repeat(100)
        )
        .parse()
        .unwrap();
        assert!(!function(Site::Workflow, TokenStream::new(), ok).to_string().contains("levels deep"));
    }
}
